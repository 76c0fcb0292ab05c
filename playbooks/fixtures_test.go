package playbooks

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warroom-bot/warroom/connectors"
)

// update rewrites golden files instead of comparing with them.
var update = flag.Bool("update", false, "rewrite golden files")

// fixtureSpecs are connector actions that the example playbooks use. They
// stand in for connectors that do not exist yet; they are test data, not
// registrations.
func fixtureSpecs() map[string]connectors.Spec {
	specs := []connectors.Spec{
		{
			Name: "edr.contain", Destructive: true,
			Inputs:  []connectors.Field{{Name: "host", Type: connectors.String, Required: true}},
			Outputs: []connectors.Field{{Name: "device_id", Type: connectors.String}},
		},
		{
			Name: "firewall.block_ip", Destructive: true, Idempotent: true,
			Inputs: []connectors.Field{
				{Name: "ip", Type: connectors.String, Required: true},
				{Name: "duration", Type: connectors.Duration},
				{Name: "comment", Type: connectors.String},
			},
			Outputs: []connectors.Field{{Name: "rule_id", Type: connectors.String}},
		},
		{
			Name: "idp.suspend_user", Destructive: true, Idempotent: true,
			Inputs: []connectors.Field{
				{Name: "user", Type: connectors.String, Required: true},
				{Name: "reason", Type: connectors.String},
				{Name: "revoke_sessions", Type: connectors.Bool, Default: true},
			},
			Outputs: []connectors.Field{{Name: "sessions_revoked", Type: connectors.Int}},
		},
		{
			Name: "virustotal.lookup", Idempotent: true,
			Inputs: []connectors.Field{{Name: "indicator", Type: connectors.String, Required: true}},
			Outputs: []connectors.Field{
				{Name: "malicious", Type: connectors.Int},
				{Name: "suspicious", Type: connectors.Int},
				{Name: "link", Type: connectors.String},
			},
		},
	}
	m := map[string]connectors.Spec{}
	for _, s := range specs {
		m[s.Name] = s
	}
	return m
}

// testOptions loads playbooks against the fixture specs, with the
// variables the examples read listed as playbook_env.
func testOptions() Options {
	specs := fixtureSpecs()
	return Options{
		Spec: func(name string) (connectors.Spec, bool) {
			s, ok := specs[name]
			return s, ok
		},
		Names: func() []string {
			var names []string
			for n := range specs {
				names = append(names, n)
			}
			slices.Sort(names)
			return names
		},
		Env: []string{"EDR_URL", "EDR_TOKEN", "FIREWALL_URL", "FIREWALL_TOKEN", "IDP_URL", "IDP_TOKEN", "VT_API_URL", "VT_API_KEY"},
	}
}

const examplesDir = "../examples/playbooks"

// loadExamples loads the example playbooks, failing the test on any
// diagnostic.
func loadExamples(t testing.TB) *Set {
	t.Helper()
	set, diags := Load(examplesDir, testOptions())
	if len(diags) > 0 {
		t.Fatalf("examples do not validate:\n%v", diags)
	}
	return set
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
