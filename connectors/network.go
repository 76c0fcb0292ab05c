package connectors

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// BlockTarget reads the ip input of a firewall action (opnsense.block_ip,
// nftables.block_ip and their unblock twins) and returns it in canonical
// form: an address ("203.0.113.7") or a network ("203.0.113.0/24"). For a
// block it also applies Blockable, with the allow_private input.
//
// The address is parsed, never passed on as written: it ends up in an API
// body or a firewall's own command language, where a stray "}" or ";"
// would be a second command.
func BlockTarget(with map[string]any, block bool) (netip.Prefix, error) {
	raw, err := Text(with, "ip")
	if err != nil {
		return netip.Prefix{}, err
	}
	if raw == "" {
		return netip.Prefix{}, errors.New("with.ip: required input missing")
	}
	p, err := ParseNetwork(raw)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("with.ip: %w", err)
	}
	if !block {
		return p, nil
	}
	allow := false
	switch v := with["allow_private"].(type) {
	case nil:
	case bool:
		allow = v
	default:
		return netip.Prefix{}, fmt.Errorf("with.allow_private: expected true or false, got %T", v)
	}
	if err := Blockable(p, allow); err != nil {
		return netip.Prefix{}, fmt.Errorf("with.ip: %w", err)
	}
	return p, nil
}

// AllowPrivateInput is the allow_private input of a block action.
var AllowPrivateInput = Field{Name: "allow_private", Type: Bool, Default: false,
	Doc: "Allow blocking loopback, private, link-local and shared (CGNAT) ranges."}

// FormatNetwork spells p as firewalls take it: a single address without
// its /32 or /128, a network in CIDR notation.
func FormatNetwork(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// ParseNetwork parses an address ("203.0.113.7") or a network
// ("203.0.113.0/24"); IPv4-mapped IPv6 forms become IPv4. A network with
// host bits set is refused rather than widened or narrowed silently:
// 203.0.113.7/24 could mean either.
func ParseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a network in CIDR notation", s)
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a network in CIDR notation", s)
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		if p.Bits() < 0 {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a network in CIDR notation", s)
		}
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; the network is %s", s, m)
	}
	return p, nil
}

// Smallest prefix lengths blocked: anything wider is almost surely a typo
// (0.0.0.0/0 would cut the firewall off from everyone).
const (
	minBlockBits4 = 8
	minBlockBits6 = 16
)

// protected are the ranges a block refuses without allow_private: the
// firewall's own networks, where a block locks out colleagues or the
// management interface itself.
var protected = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("10.0.0.0/8"),     // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),  // shared address space (CGNAT)
	netip.MustParsePrefix("127.0.0.0/8"),    // loopback
	netip.MustParsePrefix("169.254.0.0/16"), // link-local
	netip.MustParsePrefix("172.16.0.0/12"),  // RFC 1918
	netip.MustParsePrefix("192.168.0.0/16"), // RFC 1918
	netip.MustParsePrefix("::/128"),         // unspecified
	netip.MustParsePrefix("::1/128"),        // loopback
	netip.MustParsePrefix("fc00::/7"),       // unique local
	netip.MustParsePrefix("fe80::/10"),      // link-local
}

// Blockable says why p must not be blocked, or returns nil: a network
// wider than /8 (IPv4) or /16 (IPv6) never, the private and local ranges
// only with allowPrivate.
func Blockable(p netip.Prefix, allowPrivate bool) error {
	if (p.Addr().Is4() && p.Bits() < minBlockBits4) || (p.Addr().Is6() && p.Bits() < minBlockBits6) {
		return fmt.Errorf("%s is too wide to block (the prefix must be /%d or longer for IPv4, /%d or longer for IPv6)", p, minBlockBits4, minBlockBits6)
	}
	if allowPrivate {
		return nil
	}
	for _, r := range protected {
		if r.Overlaps(p) {
			return fmt.Errorf("%s is in the private or local range %s; set allow_private: true to block it anyway", p, r)
		}
	}
	return nil
}
