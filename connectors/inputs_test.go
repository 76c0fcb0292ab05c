package connectors

import "testing"

func TestText(t *testing.T) {
	with := map[string]any{"s": " \tlogin\u00a0\n", "empty": "", "n": 3}
	for _, tc := range []struct {
		name, want, err string
	}{
		{name: "s", want: "login"},
		{name: "empty", want: ""},
		{name: "missing", want: ""},
		{name: "n", err: "with.n: expected text, got int"},
	} {
		got, err := Text(with, tc.name)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("Text(%s) error = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Text(%s) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
