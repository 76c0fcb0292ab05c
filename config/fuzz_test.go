package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes the loader panic or hang, and that
// its result is always either a valid Config or a well-formed *Error.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"testdata/*.yaml", "testdata/invalid/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, files...)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed files in testdata")
	}
	for _, file := range seeds {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"digests: [{name: a, schedule: CRON_TZ=UTC, channel: c}]",
		"digests: [{name: a, schedule: 'TZ=', channel: c}]",
		"a: &a [*a]\nplaybook_env: *a\n",
		"slack: &s {<<: *s}\n",
		"alerts: {max_body: ${N:-${M:-${O}}}}\n",
		"listen: $${X}${X:-$$}${",
		"\t",
		"--- |\n  x\n",
		"x-a: &a {timeout: 1s}\nconnectors: {c: {<<: [*a, *a]}}\n",
	} {
		f.Add([]byte(s))
	}
	env := envMap(map[string]string{
		"X":      "5",
		"TRUE":   "true",
		"TRICKY": "a: b # c\n- d\n{e: f}",
		"EMPTY":  "",
		"REF":    "${X}",
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, env)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("got config %v and error %v; want exactly one", cfg != nil, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if len(e.Problems) == 0 {
				t.Fatal("*Error without problems")
			}
			lines := strings.Count(string(data), "\n") + 2
			for i, p := range e.Problems {
				if p.File != "fuzz.yaml" || p.Line < 0 || p.Line > lines || p.Msg == "" {
					t.Fatalf("malformed problem %#v", p)
				}
				if i > 0 && p.Line < e.Problems[i-1].Line {
					t.Fatalf("problems not sorted by line: %v", e)
				}
			}
			return
		}
		// A loaded config must pass validation again: Parse must not
		// accept what Validate rejects.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded config fails Validate: %v", err)
		}
	})
}
