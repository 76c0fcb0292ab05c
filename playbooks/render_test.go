package playbooks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testEnv is a typical environment in the middle of a run.
func testEnv() Env {
	return Env{
		Inputs:   map[string]any{"target": "host-42", "port": 8443, "reason": "beaconing", "tags": []any{"a", "b"}},
		Incident: map[string]any{"ref": "INC-7", "severity": "high"},
		Alert:    map[string]any{"labels": map[string]any{"host": "ws-17"}},
		Steps: map[string]StepState{
			"isolate": {Status: StatusSucceeded, Outputs: map[string]any{"status": 200.0, "json": map[string]any{"id": "d-1", "ok": true}}},
			"vt":      {Status: StatusFailed, Error: "timeout"},
		},
		Vars: map[string]string{"EDR_URL": "https://edr.example.test", "EDR_TOKEN": "s3cr3t-token"},
	}
}

func TestTemplateRender(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		// A lone expression keeps its type.
		{"${{ inputs.port }}", 8443},
		{"  ${{ inputs.port }}\n", 8443},
		{"${{ steps.isolate.outputs.status }}", 200.0},
		{"${{ steps.isolate.outputs.json.ok }}", true},
		{"${{ inputs.tags }}", []any{"a", "b"}},
		{"${{ {host: inputs.target, n: 1} }}", map[string]any{"host": "host-42", "n": 1}},
		{"${{ inputs.missing }}", nil},
		// Anything else is text.
		{"port ${{ inputs.port }}", "port 8443"},
		{"${{ inputs.port }}${{ inputs.port }}", "84438443"},
		{"status=${{ steps.isolate.outputs.status }}", "status=200"},
		{"${{ 0.5 }}!", "0.5!"},
		{"json: ${{ steps.isolate.outputs.json }}", `json: {"id":"d-1","ok":true}`},
		{"tags: ${{ inputs.tags }}", `tags: ["a","b"]`},
		{"[${{ inputs.missing }}]", "[]"},
		{"${{ env.EDR_URL }}/contain", "https://edr.example.test/contain"},
		{"plain text", "plain text"},
		{"literal $${{ inputs.port }}", "literal ${{ inputs.port }}"},
		{"${{ '}}' + inputs.target }}", "}}host-42"},
		{"${{ upper(inputs.target) }} ${{ steps.vt.status }} ${{ steps.vt.error }}", "HOST-42 failed timeout"},
		{"${{ toJSON({b: 1, a: [inputs.target]}) }}", `{"a":["host-42"],"b":1}`},
		{"${{ join(map(inputs.tags, upper(#)), '+') }}", "A+B"},
		{"${{ alert.labels?.nope?.deeper ?? 'none' }}", "none"},
		{"${{ inputs.port + 1 }}", 8444},
		{"${{ 'to ' + inputs.target + '!' }}", "to host-42!"},
		{"${{ join([1, 'a', true]) }}", "1atrue"},
		{"${{ replace(inputs.target, '-', '[-]') }}", "host[-]42"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tmpl, err := Compile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Render(testEnv())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestTemplateRenderErrors(t *testing.T) {
	tests := []struct{ src, err string }{
		{"${{ alert.nope.deeper }}", "${{ alert.nope.deeper }}: cannot fetch deeper from <nil>"},
		{"x ${{ fromJSON('{') }}", "${{ fromJSON('{') }}: unexpected end of JSON input"},
		{"${{ 1 / inputs.zero }}", "${{ 1 / inputs.zero }}: invalid operation: int / <nil>"},
	}
	for _, tt := range tests {
		tmpl, err := Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tmpl.Render(testEnv())
		var re *RenderError
		if !errors.As(err, &re) || err.Error() != tt.err {
			t.Errorf("%s: err = %v, want %q", tt.src, err, tt.err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, src := range []string{"${{", "${{ }}", "${{ 1 + }}", "${{ repeat('a', 9) }}", "${{ 1..5 }}", "${{ nope }}"} {
		if _, err := Compile(src); err == nil {
			t.Errorf("Compile(%q) succeeded", src)
		}
	}
}

// TestRenderBounded checks that data cannot make rendering produce
// unbounded output.
func TestRenderBounded(t *testing.T) {
	big := strings.Repeat("x", MaxRenderedLen/2+1)
	env := Env{Inputs: map[string]any{"big": big, "list": []any{big, big, big}}}
	for _, src := range []string{
		"${{ inputs.big }}${{ inputs.big }}",
		"${{ inputs.big + inputs.big }}",
		"${{ toJSON(inputs.list) }}",
		"list: ${{ inputs.list }}",
		"${{ join(inputs.list, '') }}",
		"${{ replace(inputs.big, 'x', 'yy') }}",
		"${{ 'a' + inputs.big + inputs.big }}",
	} {
		tmpl, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tmpl.Render(env); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("%s: err = %v, want too large", src, err)
		}
	}
}

func TestShouldRun(t *testing.T) {
	pb := parseOK(t, `
name: conditions
inputs: {n: {type: int}}
steps:
  - id: isolate
    uses: http.request
    with: {url: "https://x.test"}
  - id: always
    uses: chat.post
    with: {text: a}
  - id: ok
    if: ${{ steps.isolate.outputs.status == 200 }}
    uses: chat.post
    with: {text: a}
  - id: bare
    if: steps.isolate.status == 'succeeded' && inputs.n > 1
    uses: chat.post
    with: {text: a}
  - id: missing
    if: ${{ steps.isolate.outputs.json?.ok }}
    uses: chat.post
    with: {text: a}
  - id: constant
    if: false
    uses: chat.post
    with: {text: a}
  - id: not_bool
    if: ${{ steps.isolate.outputs.status }}
    uses: chat.post
    with: {text: a}
  - id: broken
    if: ${{ steps.isolate.outputs.json.ok }}
    uses: chat.post
    with: {text: a}
`)
	env := Env{Inputs: map[string]any{"n": 2}, Steps: map[string]StepState{
		"isolate": {Status: StatusSucceeded, Outputs: map[string]any{"status": 200.0}},
	}}
	want := map[string]string{
		"isolate": "true", "always": "true", "ok": "true", "bare": "true", "missing": "false", "constant": "false",
		"not_bool": "error: if: ${{ steps.isolate.outputs.status }} gave a number, not true or false",
		"broken":   "error: if: ${{ steps.isolate.outputs.json.ok }}: cannot fetch ok from <nil>",
	}
	for _, s := range pb.Steps {
		ok, err := s.ShouldRun(env)
		got := "true"
		switch {
		case err != nil:
			got = "error: " + err.Error()
		case !ok:
			got = "false"
		}
		if got != want[s.ID] {
			t.Errorf("%s: got %s, want %s", s.ID, got, want[s.ID])
		}
	}
	// Before the step has run, it reads as pending.
	env.Steps = nil
	if ok, err := pb.Steps[2].ShouldRun(env); ok || err != nil {
		t.Errorf("ok with isolate pending = %v, %v", ok, err)
	}
}

func TestRenderWith(t *testing.T) {
	pb := parseOK(t, `
name: with
inputs: {port: {type: int}, code: {type: string}, target: {}, tags: {}, url: {}}
steps:
  - id: call
    uses: http.request
    with:
      method: POST
      url: "${{ env.EDR_URL }}/hosts/${{ inputs.target }}"
      json: {host: "${{ inputs.target }}", port: "${{ inputs.port }}", tags: ["${{ inputs.tags }}", fixed]}
      expect_status: ${{ inputs.code }}
      timeout: "${{ inputs.port > 1000 ? '10s' : '5s' }}"
  - id: get
    uses: http.request
    with: {url: "${{ inputs.url }}"}
`)
	got, err := pb.Steps[0].RenderWith(Env{
		Inputs: map[string]any{"target": "h1", "port": 8443, "code": "201", "tags": []any{"x"}},
		Vars:   map[string]string{"EDR_URL": "https://edr.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"method":        "POST",
		"url":           "https://edr.test/hosts/h1",
		"json":          map[string]any{"host": "h1", "port": 8443, "tags": []any{[]any{"x"}, "fixed"}},
		"expect_status": 201, // "201" converted to the declared int
		"timeout":       "10s",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	got, err = pb.Steps[1].RenderWith(Env{Inputs: map[string]any{"url": "https://x.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if got["method"] != "GET" || got["expect_status"] != 0 {
		t.Errorf("defaults not applied: %v", got)
	}
	if !IsIdempotent(pb.Steps[1].Action, got) {
		t.Error("GET should be idempotent")
	}
	if IsIdempotent(pb.Steps[0].Action, map[string]any{"method": "POST"}) {
		t.Error("POST should not be idempotent")
	}
	for _, tt := range []struct {
		inputs map[string]any
		err    string
	}{
		{map[string]any{"url": ""}, "with.url: required input is empty"},
		{map[string]any{}, "with.url: required input is empty"},
		{map[string]any{"url": []any{1}}, `with.url: expected text, got a list`},
	} {
		_, err := pb.Steps[1].RenderWith(Env{Inputs: tt.inputs})
		if err == nil || err.Error() != tt.err {
			t.Errorf("inputs %v: err = %v, want %q", tt.inputs, err, tt.err)
		}
	}
	_, err = pb.Steps[0].RenderWith(Env{Inputs: map[string]any{"code": "two", "port": 1}})
	if err == nil || err.Error() != `with.expect_status: expected a whole number, got the text "two"` {
		t.Errorf("err = %v", err)
	}
}

func TestRenderOutputs(t *testing.T) {
	set := loadExamples(t)
	pb, _ := set.ByName("phishing-triage")
	vt, _ := pb.Step("vt")
	// What http.request returns for a VirusTotal search with one hit.
	result := map[string]any{"status": 200, "json": map[string]any{"data": []any{map[string]any{
		"attributes": map[string]any{"last_analysis_stats": map[string]any{"malicious": 5.0}}}}}}
	out, err := vt.RenderOutputs(Env{}, result)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"status": 200, "json": result["json"], "malicious": 5.0, "verdict": "malicious"}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got %v, want %v", out, want)
	}
	raise, _ := pb.Step("raise")
	ok, err := raise.ShouldRun(Env{Steps: map[string]StepState{"vt": {Status: StatusSucceeded, Outputs: out}}})
	if !ok || err != nil {
		t.Errorf("raise.ShouldRun = %v, %v", ok, err)
	}
}

func TestApprovalMessageAndTitle(t *testing.T) {
	set := loadExamples(t)
	pb, _ := set.ByName("contain")
	env := Env{Inputs: map[string]any{"target": "host-42", "reason": "beaconing"}}
	msg, err := pb.Steps[0].ApprovalMessage(env)
	if err != nil || msg != "Isolate host-42? Reason: beaconing" {
		t.Errorf("message = %q, %v", msg, err)
	}
	if got := pb.Steps[1].Title(env); got != "Isolate host-42" {
		t.Errorf("title = %q", got)
	}
	if got := pb.Steps[2].Title(env); got != "tell" {
		t.Errorf("title = %q", got)
	}
	if got := pb.OnFailure[0].Title(env); got != "incident.note" {
		t.Errorf("title = %q", got)
	}
	if _, err := pb.Steps[1].ApprovalMessage(env); err == nil {
		t.Error("ApprovalMessage on an action step succeeded")
	}
}

func TestRedact(t *testing.T) {
	env := Env{Vars: map[string]string{"TOKEN": "s3cr3t", "TOKEN_LONG": "s3cr3t-and-more", "SHORT": "on"}}
	got := env.Redact(map[string]any{
		"h":    "Bearer s3cr3t-and-more / s3cr3t",
		"list": []any{"s3cr3t", 1, "on and on"},
	})
	want := map[string]any{
		"h":    "Bearer [env.TOKEN_LONG] / [env.TOKEN]",
		"list": []any{"[env.TOKEN]", 1, "on and on"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMatchAlert(t *testing.T) {
	set := loadExamples(t)
	names := func(pbs []*Playbook) string {
		var s []string
		for _, pb := range pbs {
			s = append(s, pb.Name)
		}
		return strings.Join(s, " ")
	}
	tests := []struct {
		source, severity string
		labels           map[string]string
		want             string
	}{
		{"wazuh", "critical", nil, "contain"},
		{"wazuh", "high", nil, ""},
		{"crowdstrike", "critical", map[string]string{"category": "account-compromise"}, "contain"},
		{"okta", "high", map[string]string{"category": "account-compromise"}, "disable-user"},
		{"generic/guardduty", "critical", map[string]string{"category": "account-compromise"}, "disable-user"},
		{"okta", "high", map[string]string{"category": "other"}, ""},
		{"generic/phishing-mailbox", "low", nil, "phishing-triage"},
		{"generic/other", "low", nil, ""},
	}
	for _, tt := range tests {
		if got := names(set.MatchAlert(tt.source, tt.severity, tt.labels)); got != tt.want {
			t.Errorf("MatchAlert(%s, %s, %v) = %q, want %q", tt.source, tt.severity, tt.labels, got, tt.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	r := Retry{Attempts: 10, Backoff: 2 * time.Second}
	var got []time.Duration
	for a := 1; a <= 10; a++ {
		got = append(got, r.Delay(a))
	}
	want := []time.Duration{0, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second,
		64 * time.Second, 128 * time.Second, 256 * time.Second, MaxBackoff}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestConcurrentUse loads and renders from several goroutines: a Set is
// shared by every run, and playbooks may be reloaded while runs go on.
func TestConcurrentUse(t *testing.T) {
	set := loadExamples(t)
	pb, _ := set.ByName("contain")
	step, _ := pb.Step("isolate")
	done := make(chan error)
	for i := 0; i < 4; i++ {
		go func() {
			if _, diags := Load(examplesDir, testOptions()); len(diags) > 0 {
				done <- diags
				return
			}
			_, err := step.RenderWith(Env{Inputs: map[string]any{"target": "h", "reason": "r"}})
			done <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
