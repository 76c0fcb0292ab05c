package playbooks

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDryRunExamples renders each example playbook's plan for a typical
// command and compares it with testdata/dryrun/<name>.golden.
func TestDryRunExamples(t *testing.T) {
	set := loadExamples(t)
	commands := map[string]string{
		"contain":         "host-42 beaconing to 203.0.113.7",
		"block-ip":        "203.0.113.7 c2 server duration=2h",
		"disable-user":    "alice@example.test phished via fake login page",
		"phishing-triage": "https://login.example.test/evil the CFO",
	}
	for _, pb := range set.All() {
		t.Run(pb.Name, func(t *testing.T) {
			words, ok := commands[pb.Name]
			if !ok {
				t.Fatalf("no command line for example %s", pb.Name)
			}
			env := Env{
				Incident: map[string]any{"ref": "INC-7", "title": "Beaconing from host-42"},
				Vars:     map[string]string{"EDR_URL": "https://edr.example.test", "EDR_TOKEN": "s3cr3t-token"},
			}
			args, pos := pb.SplitArgs(strings.Fields(words))
			inputs, err := pb.BindInputs(args, pos, env)
			if err != nil {
				t.Fatal(err)
			}
			env.Inputs = inputs
			var b strings.Builder
			b.WriteString("/" + pb.On.Command + " " + words + "\n")
			for _, c := range pb.DryRun(env) {
				b.WriteString(c.String() + "\n")
				if c.Err != "" {
					t.Errorf("step %s: %s", c.StepID, c.Err)
				}
			}
			got := b.String()
			if strings.Contains(got, "s3cr3t-token") {
				t.Error("the dry run shows a secret from env")
			}
			golden(t, filepath.Join("testdata", "dryrun", pb.Name+".golden"), got)
		})
	}
}

func TestDryRunSkipsAndErrors(t *testing.T) {
	pb := parseOK(t, `
name: plan
inputs: {mode: {type: string, default: fast}, n: {type: int, default: 1}}
steps:
  - id: slow
    if: ${{ inputs.mode == 'slow' }}
    uses: wait
    with: {duration: 1m}
  - id: bad
    uses: http.request
    with: {url: "https://x.test", expect_status: "${{ inputs.n / 0 > 1 ? 1 : 2 }}"}
`)
	plan := pb.DryRun(Env{Inputs: map[string]any{"mode": "fast", "n": 1}})
	if len(plan) != 2 || !plan[0].Skip || plan[1].Err != "" {
		t.Fatalf("plan = %+v", plan)
	}
	want := `slow: wait {"duration":"1m"} [skipped: its if: is false]`
	if got := plan[0].String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
