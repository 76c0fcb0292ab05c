package playbooks

import (
	"strings"
	"testing"
	"time"
)

func TestExamplesValidate(t *testing.T) {
	set := loadExamples(t)
	var names []string
	for _, pb := range set.All() {
		names = append(names, pb.Name)
	}
	want := "block-ip contain disable-user phishing-triage"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("playbooks = %q, want %q", got, want)
	}
}

// TestContainModel checks that the contain example's file maps onto the
// model as documented.
func TestContainModel(t *testing.T) {
	set := loadExamples(t)
	pb, ok := set.ByCommand("contain")
	if !ok {
		t.Fatal("no /contain")
	}
	if pb.Name != "contain" || pb.Description == "" || len(pb.Digest) != 64 || pb.File != "../examples/playbooks/contain.yaml" {
		t.Errorf("playbook = %+v", pb)
	}
	if a := pb.On.Alert; a == nil || strings.Join(a.Sources, ",") != "crowdstrike,wazuh" || strings.Join(a.Severities, ",") != "critical" {
		t.Errorf("alert trigger = %+v", pb.On.Alert)
	}
	if len(pb.Inputs) != 2 || pb.Inputs[0].Name != "target" || !pb.Inputs[0].Required || pb.Inputs[0].DefaultExpr == nil ||
		pb.Inputs[1].Default != "analyst request" {
		t.Errorf("inputs = %+v", pb.Inputs)
	}
	approve, isolate, tell := pb.Steps[0], pb.Steps[1], pb.Steps[2]
	if !approve.IsApproval() || approve.Approval.Timeout != 30*time.Minute || approve.Approval.Required != 1 ||
		approve.Approval.OnTimeout != Deny || strings.Join(approve.Approval.Roles, ",") != "lead" {
		t.Errorf("approve = %+v", approve.Approval)
	}
	if isolate.Uses != "http.request" || isolate.Retry != (Retry{Attempts: 3, Backoff: 2 * time.Second}) ||
		isolate.Timeout != 30*time.Second || isolate.Action.Name != "http.request" || isolate.Pos.Line != 24 {
		t.Errorf("isolate = %+v", isolate)
	}
	if tell.If == nil || tell.If.String() != "${{ steps.isolate.outputs.status == 200 }}" || tell.Retry.Attempts != 1 {
		t.Errorf("tell = %+v", tell)
	}
	if len(pb.OnFailure) != 1 || pb.OnFailure[0].ID != "on_failure[0]" || !pb.OnFailure[0].OnFailure {
		t.Errorf("on_failure = %+v", pb.OnFailure)
	}
	if s, ok := pb.Step("isolate"); !ok || s != isolate {
		t.Error("Step(isolate) not found")
	}
}
