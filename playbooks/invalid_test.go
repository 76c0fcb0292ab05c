package playbooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInvalid parses each broken playbook in testdata/invalid and compares
// its diagnostics with the matching .golden file. Each file breaks one
// family of rules; its comments say which.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			pb, diags := Parse(f, data, testOptions())
			if len(diags) == 0 {
				t.Fatal("no diagnostics for a broken playbook")
			}
			if pb != nil {
				t.Error("Parse returned a playbook along with diagnostics")
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", diags.Error()+"\n")
		})
	}
}

// TestInvalidDirs loads each directory in testdata/invalid-dirs, for the
// checks across files, and compares with the matching .golden file.
func TestInvalidDirs(t *testing.T) {
	dirs, err := filepath.Glob("testdata/invalid-dirs/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if strings.HasSuffix(dir, ".golden") {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			set, diags := Load(dir, testOptions())
			if set != nil || len(diags) == 0 {
				t.Fatalf("Load = %v, %v; want only diagnostics", set, diags)
			}
			golden(t, dir+".golden", diags.Error()+"\n")
		})
	}
}

func TestLoadMissingDir(t *testing.T) {
	_, diags := Load("testdata/nope", testOptions())
	if len(diags) != 1 || diags[0].String() != "testdata/nope: cannot read playbooks: no such file or directory" {
		t.Errorf("diags = %q", diags)
	}
}

func TestNewSetChecksAcrossFiles(t *testing.T) {
	parse := func(file, src string) *Playbook {
		t.Helper()
		pb, diags := Parse(file, []byte(src), testOptions())
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		return pb
	}
	a := parse("a.yaml", "name: one\non: {command: go}\nsteps: [{uses: chat.post, with: {text: a}}]\n")
	b := parse("b.yaml", "name: one\non: {command: go}\nsteps: [{uses: chat.post, with: {text: b}}]\n")
	c := parse("c.yaml", "name: two\nsteps: [{uses: chat.post, with: {text: c}}]\n")
	if _, diags := NewSet(a, b, c); diags.Error() != "b.yaml:1:7: name: playbook \"one\" is also defined in a.yaml:1:7\n"+
		"b.yaml:2:15: on.command: /go is also the command of playbook \"one\" (a.yaml:2:15)" {
		t.Errorf("diags = %v", diags)
	}
	set, diags := NewSet(a, c)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	if pb, ok := set.ByCommand("/go"); !ok || pb != a {
		t.Errorf("ByCommand(/go) = %v, %v", pb, ok)
	}
	if pb, ok := set.ByName("two"); !ok || pb != c {
		t.Errorf("ByName(two) = %v, %v", pb, ok)
	}
	if got := set.Commands(); len(got) != 1 || got[0] != "go" {
		t.Errorf("Commands = %v", got)
	}
}
