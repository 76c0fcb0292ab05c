package playbooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that the loader never panics and that every diagnostic
// points at a place in the file, whatever the bytes.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../examples/playbooks/*.yaml", "testdata/invalid/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("name: x\nsteps: [{uses: chat.post, with: {text: \"${{ inputs.a }}\"}}]\n"))
	opts := testOptions()
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		pb, diags := Parse("fuzz.yaml", data, opts)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("parsing took %v", d)
		}
		for _, d := range diags {
			if d.Line < 1 || d.Col < 1 {
				t.Fatalf("diagnostic without a position: %v", d)
			}
			if d.File != "fuzz.yaml" || d.Msg == "" {
				t.Fatalf("malformed diagnostic: %#v", d)
			}
		}
		if (pb == nil) == (len(diags) == 0) {
			t.Fatalf("Parse returned playbook %v with %d diagnostics", pb != nil, len(diags))
		}
		if pb != nil {
			// A valid playbook must also be usable.
			_ = pb.Usage()
			inputs, err := pb.BindInputs(nil, []string{"a", "b c"}, Env{})
			if err != nil {
				inputs = map[string]any{}
			}
			for _, c := range pb.DryRun(Env{Inputs: inputs}) {
				_ = c.String()
			}
		}
	})
}

// FuzzInterpolate checks that compiling and rendering any template never
// panics and stays bounded in size and time, whatever the template and the
// data it reads.
func FuzzInterpolate(f *testing.F) {
	seeds := []string{
		"${{ inputs.a }}",
		"x ${{ inputs.a + inputs.b }} y",
		"${{ {a: inputs.a, b: [1, 2.5, true, nil]} }}",
		"${{ join(map(split(inputs.a, ','), upper(#)), '-') }}",
		"${{ toJSON(alert) }} ${{ steps.s.outputs.x ?? 'none' }}",
		"${{ inputs.a matches '^a+$' ? len(inputs.b) : -1 }}",
		"$${{ literal }} ${{ '}}' }}",
		"${{ filter(alert.list, # > 1) }}",
		"${{ replace(inputs.a, 'a', 'bb') }} ${{ string(alert) }}",
		"${{ fromJSON(inputs.b) }}",
	}
	for _, s := range seeds {
		f.Add(s, "aaa,bbb", `{"k":[1,2,3]}`)
	}
	f.Fuzz(func(t *testing.T, src, a, b string) {
		tmpl, err := Compile(src)
		if err != nil {
			return
		}
		env := Env{
			Inputs:   map[string]any{"a": a, "b": b, "n": len(a)},
			Alert:    map[string]any{"list": []any{1.0, 2.0, a}, "labels": map[string]any{"b": b}},
			Incident: map[string]any{"ref": "INC-1"},
			Steps:    map[string]StepState{"s": {Status: StatusSucceeded, Outputs: map[string]any{"x": a}}},
			Error:    b,
			Vars:     map[string]string{"A": a},
		}
		start := time.Now()
		v, err := tmpl.Render(env)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("rendering %q took %v", src, d)
		}
		if err != nil {
			return
		}
		if s, ok := v.(string); ok && len(s) > MaxRenderedLen {
			t.Fatalf("rendered %d bytes", len(s))
		}
		if !tmpl.IsExpr() {
			if _, ok := v.(string); !ok {
				t.Fatalf("text template rendered %T", v)
			}
		}
		_ = strings.TrimSpace(tmpl.String())
	})
}
