// Command buildprobe is the static binary the build tests put in images
// built FROM scratch.
//
//	buildprobe          print "probe" and the GREETING variable
//	buildprobe fail     print a line to stderr and exit 3
//	buildprobe ls DIR   print the regular files under DIR, one a line
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 0:
		fmt.Printf("probe GREETING=%s\n", os.Getenv("GREETING"))
	case args[0] == "fail":
		fmt.Fprintln(os.Stderr, "probe: failing on purpose")
		os.Exit(3)
	case args[0] == "ls" && len(args) == 2:
		err := filepath.WalkDir(args[1], func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(args[1], path)
				fmt.Println(filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "probe: bad arguments %q\n", args)
		os.Exit(2)
	}
}
