// Package backup stores device configurations in Git: Backup.Run fetches
// every host's running configuration (package device's sessions and
// fan-out), removes secrets and noise with the platform's sanitizer
// (device.DefaultSanitizer), and stores one file per device in a bare Git
// repository (or one per group): one commit per device whose configuration
// changed, none when nothing changed, trailers naming device, platform and
// run. A failing device is reported and keeps its previous backup.
// History, Config and DiffVersions read a device's versions without
// walking the repository; see Backup for the layout and how the repository
// stays compact (Compact). Push sends the result to a remote with
// credentials from secrets.
//
// It is its own package because it links go-git: programs that drive
// devices without backing them up do not.
//
// Benchmark (500 fake devices in a separate process, each answer delayed
// 50 ms, concurrency 100, 500 commits per run):
//
//	go test ./device/backup -run '^$' -bench BenchmarkBackup500Devices -benchtime 1x -count 5
package backup
