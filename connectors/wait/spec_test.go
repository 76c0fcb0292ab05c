package wait_test

import (
	"reflect"
	"testing"

	"github.com/warroom-bot/warroom/connectors/wait"
	"github.com/warroom-bot/warroom/playbooks"
)

// TestSpecMatchesPlaybooks holds the action's Spec to the declaration the
// playbook loader validates with, field by field.
func TestSpecMatchesPlaybooks(t *testing.T) {
	got := wait.New(nil).Spec()
	for _, want := range playbooks.BuiltinSpecs() {
		if want.Name != got.Name {
			continue
		}
		if got.Doc != want.Doc || got.Destructive != want.Destructive || got.Idempotent != want.Idempotent {
			t.Errorf("Spec = %q destructive %v idempotent %v; playbooks has %q %v %v",
				got.Doc, got.Destructive, got.Idempotent, want.Doc, want.Destructive, want.Idempotent)
		}
		if !reflect.DeepEqual(got.Inputs, want.Inputs) {
			t.Errorf("Inputs = %+v\nplaybooks has %+v", got.Inputs, want.Inputs)
		}
		if !reflect.DeepEqual(got.Outputs, want.Outputs) {
			t.Errorf("Outputs = %+v\nplaybooks has %+v", got.Outputs, want.Outputs)
		}
		return
	}
	t.Fatalf("playbooks.BuiltinSpecs has no %q", got.Name)
}
