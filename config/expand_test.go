package config

import (
	"slices"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := envMap(map[string]string{"A": "alpha", "EMPTY": "", "DOLLAR": "$${A}", "BRACE": "}"})
	for _, tt := range []struct {
		in, want string
		unset    []string
		err      string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha"},
		{in: "x${A}y${A}", want: "xalphayalpha"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$${A}", want: "$${A}"},
		{in: "$$${A}", want: "$alpha"},
		{in: "cost $5 and $", want: "cost $5 and $"},
		{in: "$2b$12$abc", want: "$2b$12$abc"},
		{in: "${DOLLAR}", want: "$${A}"},
		{in: "${BRACE}", want: "}"},
		{in: "${NOPE}", want: "", unset: []string{"NOPE"}},
		{in: "${NOPE}${NOPE}", want: "", unset: []string{"NOPE", "NOPE"}},
		{in: "${NOPE:-fallback}", want: "fallback"},
		{in: "${EMPTY:-fallback}", want: "fallback"},
		{in: "${EMPTY}", want: ""},
		{in: "${A:-fallback}", want: "alpha"},
		{in: "${NOPE:-}", want: ""},
		{in: "${NOPE:-${A}}", want: "alpha"},
		{in: "${NOPE:-${NOPE2}}", want: "", unset: []string{"NOPE2"}},
		{in: "${NOPE:-a:b-c d}", want: "a:b-c d"},
		{in: "${NOPE:-$$}", want: "$"},
		{in: "${NOPE:-x}}", want: "x}"},
		{in: "${A", err: "unterminated"},
		{in: "${NOPE:-${A}", err: "unterminated"},
		{in: "${}", err: "empty variable name"},
		{in: "${-x}", err: "a name must follow"},
		{in: "${9A}", err: "must not start with a digit"},
		{in: "${A-x}", err: "unsupported variable syntax after ${A"},
		{in: "${A:?x}", err: "unsupported variable syntax"},
		{in: "${A B}", err: "unsupported variable syntax"},
		{in: strings.Repeat("${N:-", 20) + "x" + strings.Repeat("}", 20), err: "nested more than"},
	} {
		var unset []string
		got, err := expand(tt.in, env, &unset)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.err)
			}
		case err != nil:
			t.Errorf("expand(%q): %v", tt.in, err)
		case got != tt.want || !slices.Equal(unset, tt.unset):
			t.Errorf("expand(%q) = %q, unset %q; want %q, unset %q", tt.in, got, unset, tt.want, tt.unset)
		}
	}
}
