package devicetest

import (
	"os"
	"testing"
)

func FuzzParseSimulation(f *testing.F) {
	for _, name := range []string{"oxidized_nxos_C93180YC_10.4.5_simulation.yaml", "oxidized_eos_DCS-7050SX3_4.29.2F_simulation.yaml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("commands: [1, 2]"))
	f.Add([]byte("init_prompt: \"\\\\x2\"\ncommands: {a: b}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := ParseSimulation("cisco_nxos", data)
		if err != nil {
			return
		}
		for cmd := range spec.Commands {
			if cmd == "" {
				t.Fatalf("empty command accepted")
			}
		}
	})
}

func TestUnescape(t *testing.T) {
	cases := map[string]string{
		`a\x20b`:    "a b",
		`\rTEST#`:   "\rTEST#",
		`\"q\"`:     `"q"`,
		`tail\`:     `tail\`,
		`\x2`:       `\x2`,
		`\q`:        `\q`,
		`tab\there`: "tab\there",
	}
	for in, want := range cases {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
