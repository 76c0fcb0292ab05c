package playbooks

import (
	"strings"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/execrun"
	"github.com/warroom-bot/warroom/connectors/httpreq"
	"github.com/warroom-bot/warroom/connectors/wait"
)

// BuiltinSpecs declares the actions the playbook engine itself provides.
// They are not in the connectors registry, because they act on warroom's
// own incident and chat rather than on an outside system, but playbooks
// name them with uses: like any other action, so their inputs are declared
// the same way and checked by the same code. Their names are reserved: the
// loader looks here before it asks the registry.
func BuiltinSpecs() []connectors.Spec {
	return []connectors.Spec{
		{
			Name: "chat.post",
			Doc:  "Post a message to the incident channel.",
			Inputs: []connectors.Field{
				{Name: "text", Type: connectors.String, Required: true, Doc: "Message text."},
			},
			Outputs: []connectors.Field{
				{Name: "message", Type: connectors.String, Doc: "Reference of the posted message."},
			},
		},
		{
			Name: "incident.note",
			Doc:  "Add a note to the incident's case log.",
			Inputs: []connectors.Field{
				{Name: "text", Type: connectors.String, Required: true, Doc: "Note text."},
			},
		},
		{
			Name: "incident.status",
			Doc:  "Set the incident's status (open, investigating, contained, resolved).",
			Inputs: []connectors.Field{
				{Name: "status", Type: connectors.String, Required: true, Doc: "New status."},
			},
			Idempotent: true,
		},
		{
			Name: "incident.severity",
			Doc:  "Set the incident's severity (critical, high, medium, low, info).",
			Inputs: []connectors.Field{
				{Name: "severity", Type: connectors.String, Required: true, Doc: "New severity."},
			},
			Idempotent: true,
		},
		{
			Name: "incident.assign",
			Doc:  "Give command of the incident to a user.",
			Inputs: []connectors.Field{
				{Name: "user", Type: connectors.String, Required: true, Doc: "Platform user id."},
			},
			Idempotent: true,
		},
		// The actions that reach outside are the connectors' own: one spec,
		// used to validate playbooks and by the action itself.
		httpreq.New(httpreq.Options{}).Spec(),
		execrun.New(nil).Spec(),
		wait.New(nil).Spec(),
	}
}

// builtinSpecs indexes BuiltinSpecs by name.
var builtinSpecs = func() map[string]connectors.Spec {
	m := map[string]connectors.Spec{}
	for _, s := range BuiltinSpecs() {
		m[s.Name] = s
	}
	return m
}()

// IsIdempotent reports whether a call of spec with these rendered inputs may
// safely be repeated after a crash left its outcome unknown. It is the
// spec's own flag, except for http.request, whose safety depends on the
// method: GET and HEAD are idempotent, anything else is not.
func IsIdempotent(spec connectors.Spec, with map[string]any) bool {
	if spec.Name == "http.request" {
		m, _ := with["method"].(string)
		switch strings.ToUpper(m) {
		case "", "GET", "HEAD":
			return true
		}
		return false
	}
	return spec.Idempotent
}
