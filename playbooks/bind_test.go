package playbooks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestBindInputs(t *testing.T) {
	set := loadExamples(t)
	contain, _ := set.ByName("contain")
	block, _ := set.ByName("block-ip")
	disable, _ := set.ByName("disable-user")
	alert := Env{Alert: map[string]any{"labels": map[string]any{"host": "ws-17", "user": "bob"}}}
	tests := []struct {
		name  string
		pb    *Playbook
		words string
		env   Env
		want  map[string]any
		err   string // substring of the usage error
	}{
		{
			name: "target and reason", pb: contain, words: "host-42 beaconing to 203.0.113.7",
			want: map[string]any{"target": "host-42", "reason": "beaconing to 203.0.113.7"},
		},
		{
			name: "target only takes the default reason", pb: contain, words: "host-42",
			want: map[string]any{"target": "host-42", "reason": "analyst request"},
		},
		{
			name: "key=value", pb: contain, words: "reason=lateral target=host-9",
			want: map[string]any{"target": "host-9", "reason": "lateral"},
		},
		{
			name: "key=value frees the positional slot", pb: contain, words: "target=host-9 spread to the file server",
			want: map[string]any{"target": "host-9", "reason": "spread to the file server"},
		},
		{
			name: "undeclared key=value stays text", pb: contain, words: "host-42 see a=b",
			want: map[string]any{"target": "host-42", "reason": "see a=b"},
		},
		{
			name: "default from the alert", pb: contain, words: "", env: alert,
			want: map[string]any{"target": "ws-17", "reason": "analyst request"},
		},
		{
			name: "typed word wins over the alert", pb: contain, words: "host-1", env: alert,
			want: map[string]any{"target": "host-1", "reason": "analyst request"},
		},
		{
			name: "missing required", pb: contain, words: "",
			err: "missing TARGET\nUsage: /contain TARGET [REASON...]\n  target: string, required, default ${{ alert.labels?.host }}. Host name",
		},
		{
			name: "input after the rest is key=value only", pb: block, words: "203.0.113.7 c2 server duration=2h",
			want: map[string]any{"ip": "203.0.113.7", "reason": "c2 server", "duration": "2h"},
		},
		{
			name: "bad duration", pb: block, words: "203.0.113.7 duration=forever",
			err: "DURATION: invalid duration",
		},
		{
			name: "bool", pb: disable, words: "alice revoke_sessions=no",
			want: map[string]any{"user": "alice", "reason": "suspected account compromise", "revoke_sessions": false},
		},
		{
			name: "bad bool", pb: disable, words: "alice revoke_sessions=maybe",
			err: "REVOKE_SESSIONS must be true or false",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, pos := tt.pb.SplitArgs(strings.Fields(tt.words))
			got, err := tt.pb.BindInputs(args, pos, tt.env)
			if tt.err != "" {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestBindInputsErrors(t *testing.T) {
	pb := parseOK(t, `
name: typed
inputs:
  host: {type: string, required: true}
  count: {type: int, default: 3}
  reason: {type: string}
steps: [{uses: chat.post, with: {text: x}}]
`)
	_, err := pb.BindInputs(map[string]string{"cuont": "1", "count": "x"}, nil, Env{})
	want := `COUNT must be a whole number, got "x"; unknown input "cuont" (did you mean "count"?); missing HOST
Usage: /playbook run typed HOST [COUNT] [REASON...]
  host: string, required
  count: int, default "3"
  reason: string`
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
	got, err := pb.BindInputs(map[string]string{"count": "7"}, []string{"h1", "r", "s"}, Env{})
	if err != nil || !reflect.DeepEqual(got, map[string]any{"host": "h1", "count": 7, "reason": "r s"}) {
		t.Errorf("got %v, %v", got, err)
	}
	got, err = pb.BindInputs(nil, []string{"h1", "5", "r", "s"}, Env{})
	if err != nil || !reflect.DeepEqual(got, map[string]any{"host": "h1", "count": 5, "reason": "r s"}) {
		t.Errorf("got %v, %v", got, err)
	}
	only := parseOK(t, "name: one\ninputs: {host: {type: string}}\nsteps: [{uses: chat.post, with: {text: x}}]\n")
	if _, err := only.BindInputs(nil, []string{"a", "b"}, Env{}); err == nil || !strings.Contains(err.Error(), `too many arguments: "b"`) {
		t.Errorf("err = %v", err)
	}
	if _, err := only.BindInputs(nil, []string{strings.Repeat("x", MaxInputLen+1)}, Env{}); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("err = %v", err)
	}
}

// parseOK parses a playbook that must be valid.
func parseOK(t testing.TB, src string) *Playbook {
	t.Helper()
	pb, diags := Parse("test.yaml", []byte(strings.TrimPrefix(src, "\n")), testOptions())
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%v", diags)
	}
	return pb
}
