package playbooks

import (
	"strings"

	"github.com/warroom-bot/warroom/connectors"
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
		{
			Name: "http.request",
			Doc: "Call an HTTP API. Redirects to other hosts are not followed; the " +
				"response's JSON body becomes outputs.json. Only GET and HEAD are " +
				"idempotent (see IsIdempotent).",
			Inputs: []connectors.Field{
				{Name: "method", Type: connectors.String, Default: "GET", Doc: "HTTP method."},
				{Name: "url", Type: connectors.String, Required: true, Doc: "Absolute http or https URL."},
				{Name: "headers", Type: connectors.Map, Doc: "Request headers."},
				{Name: "json", Type: connectors.Any, Doc: "Request body, sent as JSON."},
				{Name: "body", Type: connectors.String, Doc: "Raw request body (instead of json)."},
				{Name: "expect_status", Type: connectors.Int, Default: 0, Doc: "Expected status; 0 means any 2xx."},
				{Name: "timeout", Type: connectors.Duration, Doc: "Timeout of the request."},
			},
			Outputs: []connectors.Field{
				{Name: "status", Type: connectors.Int, Doc: "HTTP status code."},
				{Name: "headers", Type: connectors.Map, Doc: "Response headers."},
				{Name: "json", Type: connectors.Any, Doc: "Response body decoded as JSON, if it was JSON."},
				{Name: "body", Type: connectors.String, Doc: "Response body, truncated."},
			},
		},
		{
			Name: "exec.run",
			Doc: "Run a program listed in config exec.allow with an argument list; " +
				"never through a shell.",
			Inputs: []connectors.Field{
				{Name: "argv", Type: connectors.List, Required: true, Doc: "Program and arguments."},
				{Name: "timeout", Type: connectors.Duration, Doc: "Time limit."},
				{Name: "stdin", Type: connectors.String, Doc: "Text fed to the program."},
			},
			Outputs: []connectors.Field{
				{Name: "exit_code", Type: connectors.Int, Doc: "Exit status."},
				{Name: "stdout", Type: connectors.String, Doc: "Standard output, truncated."},
				{Name: "stderr", Type: connectors.String, Doc: "Standard error, truncated."},
				{Name: "stdout_truncated", Type: connectors.Bool, Doc: "Whether stdout was cut."},
				{Name: "stderr_truncated", Type: connectors.Bool, Doc: "Whether stderr was cut."},
				{Name: "duration_ms", Type: connectors.Int, Doc: "How long the program ran."},
			},
		},
		{
			Name: "wait",
			Doc:  "Pause the run.",
			Inputs: []connectors.Field{
				{Name: "duration", Type: connectors.Duration, Required: true, Doc: "How long."},
			},
			Idempotent: true,
		},
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
