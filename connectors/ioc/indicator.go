package ioc

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
)

// Type names the kind of an indicator. The values are stable strings because
// they appear in JSON output and in chat commands.
type Type string

// The indicator types. Extract and Classify produce every type except
// TypeHostname and TypeUser, which only come from structured alert fields
// (FromFields): free text gives no reliable way to tell a host or user name
// from an ordinary word.
const (
	// TypeIPv4 is an IPv4 address, including IPv4-mapped IPv6 forms.
	TypeIPv4 Type = "ipv4"
	// TypeIPv6 is an IPv6 address without its zone.
	TypeIPv6 Type = "ipv6"
	// TypeDomain is a registrable DNS name under a public suffix.
	TypeDomain Type = "domain"
	// TypeURL is an http, https or ftp URL with a public or IP host.
	TypeURL Type = "url"
	// TypeEmail is a mailbox address whose domain is a TypeDomain.
	TypeEmail Type = "email"
	// TypeMD5 is a 32-digit hex digest.
	TypeMD5 Type = "md5"
	// TypeSHA1 is a 40-digit hex digest.
	TypeSHA1 Type = "sha1"
	// TypeSHA256 is a 64-digit hex digest.
	TypeSHA256 Type = "sha256"
	// TypeCVE is a CVE id such as CVE-2024-3094.
	TypeCVE Type = "cve"
	// TypeHostname is a host name from an alert field, often internal.
	TypeHostname Type = "hostname"
	// TypeUser is an account name from an alert field.
	TypeUser Type = "user"
)

// Scope says which kind of address range an IP address (or the IP host of a
// URL) belongs to. It exists so that callers can keep internal and
// non-routable addresses away from external lookups while still showing them
// to responders.
type Scope string

// The scopes. ScopePublic is the empty string so that it is omitted from JSON
// output and is the zero value.
const (
	// ScopePublic is a globally routable address.
	ScopePublic Scope = ""
	// ScopePrivate is RFC 1918 IPv4 space or an IPv6 unique local address.
	ScopePrivate Scope = "private"
	// ScopeLoopback is 127.0.0.0/8, ::1 or the name localhost in a URL.
	ScopeLoopback Scope = "loopback"
	// ScopeLinkLocal is 169.254.0.0/16 or fe80::/10.
	ScopeLinkLocal Scope = "link-local"
	// ScopeDocumentation is a range reserved for examples (RFC 5737,
	// RFC 3849, RFC 9637); it usually means the text is a sample or a test.
	ScopeDocumentation Scope = "documentation"
	// ScopeCGNAT is the shared address space 100.64.0.0/10 (RFC 6598).
	ScopeCGNAT Scope = "cgnat"
	// ScopeMulticast is 224.0.0.0/4 or ff00::/8.
	ScopeMulticast Scope = "multicast"
	// ScopeUnspecified is 0.0.0.0 or ::.
	ScopeUnspecified Scope = "unspecified"
	// ScopeReserved is any other special-purpose range, such as 240.0.0.0/4,
	// 198.18.0.0/15 or IPv6 outside global unicast space.
	ScopeReserved Scope = "reserved"
)

// Indicator is one typed, normalised indicator. Value is always refanged;
// domains, e-mail addresses and hashes are lower case, CVE ids upper case
// and IP addresses in canonical netip form.
type Indicator struct {
	Type  Type   `json:"type"`
	Value string `json:"value"`
	Scope Scope  `json:"scope,omitempty"`
}

// External reports whether the indicator may be sent to an external lookup
// service. Only public values qualify: a non-public address cannot have a
// reputation and would leak the shape of the internal network, and host and
// user names describe our own assets and people.
func (in Indicator) External() bool {
	if in.Type == TypeHostname || in.Type == TypeUser {
		return false
	}
	return in.Scope == ScopePublic
}

// WriteJSONLines writes one JSON object per indicator, one per line, which is
// the output of `warroom ioc extract`: line-oriented output can be piped into
// jq or other tools without reading the whole list first. HTML escaping is
// off so that URLs stay readable.
func WriteJSONLines(w io.Writer, ins []Indicator) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, in := range ins {
		if err := enc.Encode(in); err != nil {
			return fmt.Errorf("ioc: write indicator %d (%s %q): %w", i, in.Type, in.Value, err)
		}
	}
	return nil
}

type prefixScope struct {
	p    netip.Prefix
	s    Scope
	name string // the IANA special-purpose registry's name and source
}

// The tables are ordered from the most to the least specific where ranges
// nest, so the first match wins. Names follow the IANA IPv4 and IPv6
// Special-Purpose Address Registries.
var (
	v4Scopes = []prefixScope{
		{netip.MustParsePrefix("0.0.0.0/8"), ScopeReserved, "\"This network\" (RFC 791)"},
		{netip.MustParsePrefix("10.0.0.0/8"), ScopePrivate, "Private-Use (RFC 1918)"},
		{netip.MustParsePrefix("100.64.0.0/10"), ScopeCGNAT, "Shared Address Space (RFC 6598)"},
		{netip.MustParsePrefix("127.0.0.0/8"), ScopeLoopback, "Loopback (RFC 1122)"},
		{netip.MustParsePrefix("169.254.0.0/16"), ScopeLinkLocal, "Link Local (RFC 3927)"},
		{netip.MustParsePrefix("172.16.0.0/12"), ScopePrivate, "Private-Use (RFC 1918)"},
		{netip.MustParsePrefix("192.0.0.0/24"), ScopeReserved, "IETF Protocol Assignments (RFC 6890)"},
		{netip.MustParsePrefix("192.0.2.0/24"), ScopeDocumentation, "Documentation, TEST-NET-1 (RFC 5737)"},
		{netip.MustParsePrefix("192.168.0.0/16"), ScopePrivate, "Private-Use (RFC 1918)"},
		{netip.MustParsePrefix("198.18.0.0/15"), ScopeReserved, "Benchmarking (RFC 2544)"},
		{netip.MustParsePrefix("198.51.100.0/24"), ScopeDocumentation, "Documentation, TEST-NET-2 (RFC 5737)"},
		{netip.MustParsePrefix("203.0.113.0/24"), ScopeDocumentation, "Documentation, TEST-NET-3 (RFC 5737)"},
		{netip.MustParsePrefix("224.0.0.0/4"), ScopeMulticast, "Multicast (RFC 5771)"},
		{netip.MustParsePrefix("240.0.0.0/4"), ScopeReserved, "Reserved (RFC 1112)"},
	}
	v6Scopes = []prefixScope{
		{netip.MustParsePrefix("fe80::/10"), ScopeLinkLocal, "Link-Local Unicast (RFC 4291)"},
		{netip.MustParsePrefix("fec0::/10"), ScopeReserved, "Site-Local, deprecated (RFC 3879)"},
		{netip.MustParsePrefix("fc00::/7"), ScopePrivate, "Unique-Local (RFC 4193)"},
		{netip.MustParsePrefix("ff00::/8"), ScopeMulticast, "Multicast (RFC 4291)"},
		{netip.MustParsePrefix("2001:db8::/32"), ScopeDocumentation, "Documentation (RFC 3849)"},
		{netip.MustParsePrefix("3fff::/20"), ScopeDocumentation, "Documentation (RFC 9637)"},
		{netip.MustParsePrefix("100::/64"), ScopeReserved, "Discard-Only (RFC 6666)"},
	}
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	global6   = netip.MustParsePrefix("2000::/3")
	loopback6 = netip.IPv6Loopback()
)

// addrScope classifies an address. IPv4-mapped addresses are expected to
// have been unmapped already; NAT64 addresses take the scope of the IPv4
// address they embed because that is where the traffic really goes.
func addrScope(a netip.Addr) Scope {
	a = a.WithZone("")
	if a.IsUnspecified() {
		return ScopeUnspecified
	}
	if a.Is4() {
		for _, ps := range v4Scopes {
			if ps.p.Contains(a) {
				return ps.s
			}
		}
		return ScopePublic
	}
	if a == loopback6 {
		return ScopeLoopback
	}
	if nat64.Contains(a) {
		b := a.As16()
		return addrScope(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	for _, ps := range v6Scopes {
		if ps.p.Contains(a) {
			return ps.s
		}
	}
	if !global6.Contains(a) {
		return ScopeReserved
	}
	return ScopePublic
}

// SpecialRange names the special-purpose range an address belongs to, from
// the tables above: "203.0.113.0/24", "Documentation, TEST-NET-3 (RFC
// 5737)". It reports false for a public address, and for a value that is
// not an address.
func SpecialRange(value string) (prefix netip.Prefix, name string, ok bool) {
	a, err := netip.ParseAddr(value)
	if err != nil {
		return netip.Prefix{}, "", false
	}
	a = a.Unmap().WithZone("")
	switch {
	case a.IsUnspecified():
		return netip.PrefixFrom(a, a.BitLen()), "Unspecified address", true
	case a == loopback6:
		return netip.PrefixFrom(a, 128), "Loopback (RFC 4291)", true
	}
	table := v6Scopes
	if a.Is4() {
		table = v4Scopes
	}
	for _, ps := range table {
		if ps.p.Contains(a) {
			return ps.p, ps.name, true
		}
	}
	if a.Is6() && !global6.Contains(a) && !nat64.Contains(a) {
		return netip.PrefixFrom(a, 128), "outside global unicast space (RFC 4291)", true
	}
	return netip.Prefix{}, "", false
}

// ipIndicator builds the indicator for an address, unmapping IPv4-mapped IPv6
// addresses so that ::ffff:192.0.2.1 and 192.0.2.1 deduplicate, and dropping
// any zone because a zone only means something on the host that logged it.
func ipIndicator(a netip.Addr) Indicator {
	a = a.Unmap().WithZone("")
	t := TypeIPv6
	if a.Is4() {
		t = TypeIPv4
	}
	return Indicator{Type: t, Value: a.String(), Scope: addrScope(a)}
}
