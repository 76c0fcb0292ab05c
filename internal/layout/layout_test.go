// Package layout holds a test that keeps the import rules of DESIGN.md:
// imports point inward, and each third-party client stays in its package.
package layout

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/warroom-bot/warroom"

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	// only[dep] lists the package prefixes allowed to import dep.
	only := map[string][]string{
		"github.com/slack-go/slack":     {"bot/slack"},
		"github.com/bwmarrin/discordgo": {"bot/discord"},
		"github.com/mattn/go-sqlite3":   {"store"},
		"github.com/prometheus/":        {"cmd/", "bot"},
	}
	// never[pkg] lists what a package of ours may not import.
	never := map[string][]string{
		"store":      {module + "/"},
		"connectors": {module + "/bot/", module + "/commands", module + "/playbooks", module + "/store", module + "/cmd"},
		"bot":        {module + "/commands", module + "/playbooks", module + "/cmd", module + "/connectors/"},
		"commands":   {module + "/cmd", module + "/bot/"},
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		seen[rel] = true
		for _, imp := range strings.Fields(imports) {
			for dep, allowed := range only {
				if strings.HasPrefix(imp, dep) && !hasPrefix(rel, allowed) {
					t.Errorf("%s imports %s; only %v may", rel, imp, allowed)
				}
			}
			for scope, banned := range never {
				if rel != scope && !strings.HasPrefix(rel, scope+"/") {
					continue
				}
				for _, b := range banned {
					if strings.HasPrefix(imp, b) && !strings.HasPrefix(imp, pkg) && !isFake(imp) {
						t.Errorf("%s imports %s: imports must point inward", rel, imp)
					}
				}
			}
		}
	}
	for _, p := range []string{"store", "bot", "bot/slack", "commands", "cmd/warroom"} {
		if !seen[p] {
			t.Errorf("go list did not report %s: the rules were not checked", p)
		}
	}
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isFake allows test fakes that live beside an adapter.
func isFake(imp string) bool {
	return strings.HasSuffix(imp, "/fakeslack") || strings.HasSuffix(imp, "/fakediscord")
}
