package ioc

import "testing"

func TestSpecialRange(t *testing.T) {
	for _, tc := range []struct {
		value, prefix, name string
		ok                  bool
	}{
		{"10.20.30.40", "10.0.0.0/8", "Private-Use (RFC 1918)", true},
		{"203.0.113.7", "203.0.113.0/24", "Documentation, TEST-NET-3 (RFC 5737)", true},
		{"::ffff:192.168.1.1", "192.168.0.0/16", "Private-Use (RFC 1918)", true},
		{"fe80::1%eth0", "fe80::/10", "Link-Local Unicast (RFC 4291)", true},
		{"2001:db8::1", "2001:db8::/32", "Documentation (RFC 3849)", true},
		{"::1", "::1/128", "Loopback (RFC 4291)", true},
		{"0.0.0.0", "0.0.0.0/32", "Unspecified address", true},
		{"45.155.205.233", "", "", false},
		{"2606:4700::1111", "", "", false},
		{"example.com", "", "", false},
	} {
		p, name, ok := SpecialRange(tc.value)
		if ok != tc.ok || (ok && (p.String() != tc.prefix || name != tc.name)) {
			t.Errorf("SpecialRange(%q) = %v, %q, %v; want %s, %q, %v", tc.value, p, name, ok, tc.prefix, tc.name, tc.ok)
		}
	}
}
