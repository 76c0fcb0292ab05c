package ioc

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden runs Extract over every text fixture and FromFields over every
// fields_*.json fixture and compares the JSON-lines output with the .golden
// file next to it. Run `go test ./connectors/ioc/ -run TestGolden -update`
// after a deliberate change, then review the diff.
func TestGolden(t *testing.T) {
	fixtures, err := filepath.Glob("testdata/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range fixtures {
		if strings.HasSuffix(path, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var ins []Indicator
			if strings.HasPrefix(filepath.Base(path), "fields_") {
				var fields map[string]string
				if err := json.Unmarshal(raw, &fields); err != nil {
					t.Fatal(err)
				}
				ins = FromFields(fields)
			} else {
				ins = Extract(string(raw), Options{})
			}
			var got bytes.Buffer
			if err := WriteJSONLines(&got, ins); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(path, filepath.Ext(path)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update after checking):\n--- got\n%s--- want\n%s", golden, got.Bytes(), want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no fixtures in testdata")
	}
}
