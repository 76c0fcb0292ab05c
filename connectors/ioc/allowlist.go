package ioc

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Allowlist holds values the organisation considers benign. The zero value
// allows nothing, so Options{} extracts everything.
//
// An entry is one of:
//   - a CIDR (10.0.0.0/8, 2001:db8::/32) or a single IP address, which
//     allows addresses in the range and URLs whose host is one;
//   - a domain (example.com, or *.example.com), which allows the domain, all
//     its subdomains, host names under it, and URLs and e-mail addresses
//     whose host is under it; internal zones such as corp.local count;
//   - any other value (a URL, hash, CVE id, e-mail address or user name),
//     which allows exactly that value, compared case-insensitively after the
//     same refang and normalisation that Extract applies.
type Allowlist struct {
	exact    map[string]struct{}
	domains  map[string]struct{}
	prefixes []netip.Prefix
}

// ParseAllowlist builds an Allowlist from configuration entries. It rejects
// entries that are clearly mistakes rather than guessing, because a silently
// wrong allowlist hides real indicators: empty entries, malformed CIDRs,
// CIDRs with host bits set, strings that look like IP addresses but are not,
// and malformed URLs. All bad entries are reported together, each by index
// and text.
func ParseAllowlist(entries []string) (Allowlist, error) {
	var al Allowlist
	var errs []error
	for i, raw := range entries {
		if err := al.add(raw); err != nil {
			errs = append(errs, fmt.Errorf("ioc: allowlist entry %d %q: %w", i, raw, err))
		}
	}
	if len(errs) > 0 {
		return Allowlist{}, errors.Join(errs...)
	}
	return al, nil
}

func (al *Allowlist) add(raw string) error {
	e := strings.TrimSpace(raw)
	if e == "" {
		return errors.New("empty entry")
	}
	for i := 0; i < len(e); i++ {
		if e[i] < 0x20 || e[i] == 0x7f {
			return errors.New("contains a control character")
		}
	}
	switch {
	case strings.Contains(e, "://"):
		in, ok := Classify(e)
		if !ok || in.Type != TypeURL {
			return errors.New("not a valid http, https or ftp URL")
		}
		al.addExact(in.Value)
		return nil
	case strings.Contains(e, "/"):
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return fmt.Errorf("not a valid CIDR: %w", err)
		}
		if m := p.Masked(); m != p {
			return fmt.Errorf("CIDR has host bits set; did you mean %s?", m)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// ::ffff:10.0.0.0/104 must behave like 10.0.0.0/8, because
			// indicators hold unmapped addresses.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		al.prefixes = append(al.prefixes, p)
		return nil
	}
	if a, err := netip.ParseAddr(unwrap(e)); err == nil {
		a = a.Unmap().WithZone("")
		al.prefixes = append(al.prefixes, netip.PrefixFrom(a, a.BitLen()))
		return nil
	} else if looksNumericAddr(e) {
		return fmt.Errorf("not a valid IP address: %w", err)
	}
	d := strings.TrimSuffix(toLowerASCII(strings.TrimPrefix(e, "*.")), ".")
	if refanged, _ := refang(d); validHostname(refanged) && strings.Contains(refanged, ".") {
		// Also exact, so that a dotted user name such as john.smith, which
		// has the shape of a domain, is allowed as a user too.
		al.addDomain(refanged)
		al.addExact(refanged)
		return nil
	} else if strings.HasPrefix(e, "*.") {
		return errors.New("wildcard must be followed by a domain name")
	}
	if in, ok := Classify(e); ok {
		al.addExact(in.Value)
		return nil
	}
	al.addExact(e)
	return nil
}

// looksNumericAddr catches typos such as 999.1.1.1 or 10.0.0 that would
// otherwise become exact-value entries that never match anything.
func looksNumericAddr(e string) bool {
	digits, dots, colons := 0, 0, 0
	for i := 0; i < len(e); i++ {
		switch c := e[i]; {
		case isDigit(c):
			digits++
		case c == '.':
			dots++
		case c == ':':
			colons++
		case isHex(c) && colons > 0:
		default:
			return false
		}
	}
	return digits > 0 && (dots > 0 || colons > 1)
}

func (al *Allowlist) addExact(v string) {
	if al.exact == nil {
		al.exact = make(map[string]struct{})
	}
	al.exact[strings.ToLower(v)] = struct{}{}
}

func (al *Allowlist) addDomain(d string) {
	if al.domains == nil {
		al.domains = make(map[string]struct{})
	}
	al.domains[d] = struct{}{}
}

// Allows reports whether the allowlist covers the indicator. It is exported
// so that callers can filter indicators that did not come from Extract, such
// as those from FromFields or Classify.
func (al Allowlist) Allows(in Indicator) bool {
	if len(al.exact) == 0 && len(al.domains) == 0 && len(al.prefixes) == 0 {
		return false
	}
	if _, ok := al.exact[strings.ToLower(in.Value)]; ok {
		return true
	}
	switch in.Type {
	case TypeIPv4, TypeIPv6:
		if a, err := netip.ParseAddr(in.Value); err == nil {
			return al.allowsAddr(a)
		}
	case TypeDomain, TypeHostname:
		return al.allowsDomain(strings.ToLower(in.Value))
	case TypeEmail:
		return al.allowsDomain(in.Value[strings.LastIndexByte(in.Value, '@')+1:])
	case TypeURL:
		if u, ok := parseURL(in.Value); ok {
			switch u.host.Type {
			case TypeIPv4, TypeIPv6:
				return al.allowsAddr(netip.MustParseAddr(u.host.Value))
			case TypeDomain:
				return al.allowsDomain(u.host.Value)
			}
		}
	}
	return false
}

// Filter returns the indicators the allowlist does not cover, in the same
// order, leaving ins untouched.
func (al Allowlist) Filter(ins []Indicator) []Indicator {
	out := make([]Indicator, 0, len(ins))
	for _, in := range ins {
		if !al.Allows(in) {
			out = append(out, in)
		}
	}
	return out
}

func (al Allowlist) allowsAddr(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range al.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowsDomain walks the name's parent domains, so the cost depends on the
// number of labels, not on the size of the allowlist.
func (al Allowlist) allowsDomain(d string) bool {
	if len(al.domains) == 0 {
		return false
	}
	d = strings.TrimSuffix(d, ".")
	for {
		if _, ok := al.domains[d]; ok {
			return true
		}
		dot := strings.IndexByte(d, '.')
		if dot < 0 {
			return false
		}
		d = d[dot+1:]
	}
}
