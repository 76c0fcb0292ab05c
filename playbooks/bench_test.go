package playbooks

import "testing"

// BenchmarkRenderWith renders the with: of a typical step: the contain
// example's EDR call, with interpolated URL, header and JSON body.
func BenchmarkRenderWith(b *testing.B) {
	set := loadExamples(b)
	pb, _ := set.ByName("contain")
	step, _ := pb.Step("isolate")
	env := Env{
		Inputs:   map[string]any{"target": "host-42", "reason": "beaconing to 203.0.113.7"},
		Incident: map[string]any{"ref": "INC-7"},
		Steps:    map[string]StepState{"approve": {Status: StatusSucceeded, Outputs: map[string]any{"decision": "approve"}}},
		Vars:     map[string]string{"EDR_URL": "https://edr.example.test", "EDR_TOKEN": "t"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := step.RenderWith(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShouldRun evaluates a typical if: condition.
func BenchmarkShouldRun(b *testing.B) {
	set := loadExamples(b)
	pb, _ := set.ByName("contain")
	step, _ := pb.Step("tell")
	env := Env{Steps: map[string]StepState{"isolate": {Status: StatusSucceeded, Outputs: map[string]any{"status": 200.0}}}}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := step.ShouldRun(env); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkLoadExamples measures loading the example directory, which the
// server does at start and on reload.
func BenchmarkLoadExamples(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		loadExamples(b)
	}
}
