package vendortest

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// ActionNamed returns the action of acts called name, ending the test if
// there is none.
func ActionNamed(t testing.TB, acts []connectors.Action, name string) connectors.Action {
	t.Helper()
	for _, a := range acts {
		if a.Spec().Name == name {
			return a
		}
	}
	t.Fatalf("no action %s", name)
	return nil
}

// Spec is what CheckSpecs expects of one action's spec.
type Spec struct {
	Destructive bool
	Idempotent  bool
	// Required names inputs that must be declared Required.
	Required []string
	// Link is the output the spec must name as its link, or "".
	Link string
}

// CheckSpecs checks that acts are exactly the actions of want, each named
// under prefix, documented, with outputs, flagged as want says, and that
// each declares every field once, named, typed and documented: the spec
// drives playbook validation and the README's table, so a gap in it is a
// gap in both.
func CheckSpecs(t testing.TB, acts []connectors.Action, prefix string, want map[string]Spec) {
	t.Helper()
	seen := map[string]bool{}
	for _, a := range acts {
		s := a.Spec()
		w, ok := want[s.Name]
		switch {
		case !ok:
			t.Errorf("unexpected action %q", s.Name)
		case !strings.HasPrefix(s.Name, prefix):
			t.Errorf("%s: not named %s…", s.Name, prefix)
		case s.Destructive != w.Destructive || s.Idempotent != w.Idempotent:
			t.Errorf("%s: Destructive %v, Idempotent %v; want %v, %v", s.Name, s.Destructive, s.Idempotent, w.Destructive, w.Idempotent)
		case s.Doc == "" || len(s.Outputs) == 0:
			t.Errorf("%s: no Doc or no Outputs", s.Name)
		case s.Link != w.Link:
			t.Errorf("%s: Link %q, want %q", s.Name, s.Link, w.Link)
		}
		if s.Link != "" {
			if f, ok := output(s, s.Link); !ok || f.Type != connectors.String {
				t.Errorf("%s: Link %q is not a declared string output", s.Name, s.Link)
			}
		}
		seen[s.Name] = true
		for _, fields := range [][]connectors.Field{s.Inputs, s.Outputs} {
			names := map[string]bool{}
			for _, f := range fields {
				if f.Name == "" || f.Type == "" || f.Doc == "" || names[f.Name] {
					t.Errorf("%s: field %+v is unnamed, untyped, undocumented or repeated", s.Name, f)
				}
				names[f.Name] = true
			}
		}
		for _, name := range w.Required {
			if in, ok := s.Input(name); !ok || !in.Required {
				t.Errorf("%s: %s input not required", s.Name, name)
			}
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("action %s missing", name)
		}
	}
}

func output(s connectors.Spec, name string) (connectors.Field, bool) {
	for _, f := range s.Outputs {
		if f.Name == name {
			return f, true
		}
	}
	return connectors.Field{}, false
}

// Indicator classifies v, ending the test if it is not an indicator.
func Indicator(t testing.TB, v string) ioc.Indicator {
	t.Helper()
	ind, ok := ioc.Classify(v)
	if !ok {
		t.Fatalf("%q does not classify", v)
	}
	return ind
}

// Lookup asks s about the indicator v, ending the test if s does not
// support it or the lookup fails.
func Lookup(t testing.TB, s enrich.Source, v string) enrich.Result {
	t.Helper()
	ind := Indicator(t, v)
	if !s.Supports(ind) {
		t.Fatalf("Supports(%+v) = false", ind)
	}
	got, err := s.Lookup(context.Background(), ind)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return got
}

// CheckLookupErr asks s about the indicator v and ends the test unless
// the lookup fails as CheckErr's want says, with none of secrets in the
// error.
func CheckLookupErr(t testing.TB, s enrich.Source, v, want string, secrets ...string) {
	t.Helper()
	_, err := s.Lookup(context.Background(), Indicator(t, v))
	CheckErr(t, err, want, secrets...)
}

// CheckResult compares got with want in verdict, score, reason, link and
// TLP, and checks the value of each fact in facts ("" for a fact that must
// be absent).
func CheckResult(t testing.TB, got, want enrich.Result, facts map[string]string) {
	t.Helper()
	if got.Verdict != want.Verdict || got.Score != want.Score || got.Reason != want.Reason ||
		got.Link != want.Link || got.TLP != want.TLP {
		t.Errorf("Lookup = %s %d %q %q tlp=%q\nwant     %s %d %q %q tlp=%q",
			got.Verdict, got.Score, got.Reason, got.Link, got.TLP,
			want.Verdict, want.Score, want.Reason, want.Link, want.TLP)
	}
	for label, w := range facts {
		if v := got.Fact(label); v != w {
			t.Errorf("fact %q = %q, want %q", label, v, w)
		}
	}
}

// CheckSupports checks s.Supports against the answer each case maps to:
// values are classified first, others are indicators taken as they are
// (types Classify never gives, such as a bare host name). It also checks
// that s is called name.
func CheckSupports(t testing.TB, s enrich.Source, name string, values map[string]bool, others map[ioc.Indicator]bool) {
	t.Helper()
	cases := maps.Clone(others)
	if cases == nil {
		cases = map[ioc.Indicator]bool{}
	}
	for v, want := range values {
		cases[Indicator(t, v)] = want
	}
	for ind, want := range cases {
		if got := s.Supports(ind); got != want {
			t.Errorf("Supports(%+v) = %v, want %v", ind, got, want)
		}
	}
	if s.Name() != name {
		t.Errorf("Name = %q, want %q", s.Name(), name)
	}
}
