package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// redacted is what a set Secret prints instead of its value.
const redacted = "[redacted]"

// Secret holds a token, password, key or hash. Configs get printed, logged
// and serialised for debugging far more often than anyone intends, so every
// way of rendering a Secret (fmt verbs, JSON, text, slog) prints
// "[redacted]" instead of the value. An empty Secret still prints as empty so
// that "is it set?" stays visible in dumps. Code that genuinely needs the
// value must ask for it with [Secret.Reveal], which keeps such places easy to
// find in review.
type Secret string

// Reveal returns the secret value. It is deliberately the only accessor, so
// that every use of a credential is greppable.
func (s Secret) Reveal() string { return string(s) }

// String redacts the value so that %v and %s, and anything built on
// fmt.Stringer, cannot leak it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format redacts the value for every fmt verb, including %#v, %q and %x,
// which would otherwise bypass String and print (or hex-dump) the raw value.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// MarshalJSON redacts the value so that a config serialised for a debug
// endpoint or a JSON log does not carry credentials.
func (s Secret) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.String())
}

// MarshalText redacts the value for text-based encoders (YAML, XML, map
// keys), which consult encoding.TextMarshaler rather than fmt.
func (s Secret) MarshalText() ([]byte, error) {
	return []byte(s.String()), nil
}

// LogValue redacts the value when a Secret is passed to log/slog, which
// resolves LogValuer before choosing how to print an attribute.
func (s Secret) LogValue() slog.Value {
	return slog.StringValue(s.String())
}

// Duration is a time.Duration that also accepts whole days ("2d", "1d12h"),
// because reminder and approval timeouts are naturally written in days and
// "48h" is easy to get wrong.
type Duration time.Duration

// Std returns the value as a time.Duration for use with the standard
// library.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String prints whole days with the "d" unit so that a value written as
// "2d" reads back the same way; anything else uses Go's notation.
func (d Duration) String() string {
	const day = 24 * time.Hour
	td := time.Duration(d)
	if td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	return td.String()
}

// MarshalText writes the value in the syntax ParseDuration accepts, so that
// dumped configs can be read back in.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText accepts the same syntax as the YAML file, so that
// durations read from JSON or flags behave the same way.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML rejects non-scalar nodes with a message that names what was
// expected; yaml.v3's generic message would only mention Go types.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as 90s, 15m, 2h or 1d, got %s", describeNode(n))
	}
	return d.UnmarshalText([]byte(n.Value))
}

// ParseDuration parses Go duration syntax extended with a leading whole
// number of days ("2d", "1d12h30m"). It is exported so that commands and
// playbooks can accept durations with exactly the same syntax as the file.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := func() (time.Duration, error) {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, such as 90s, 15m, 2h30m or 2d", orig)
	}
	if s == "" {
		return bad()
	}
	i := strings.IndexByte(s, 'd')
	if i < 0 {
		// No day unit: Go's parser already does the right thing (none of
		// its units contain the letter d).
		v, err := time.ParseDuration(s)
		if err != nil {
			return bad()
		}
		return v, nil
	}
	daysStr, rest := s[:i], s[i+1:]
	neg := false
	switch {
	case strings.HasPrefix(daysStr, "-"):
		neg, daysStr = true, daysStr[1:]
	case strings.HasPrefix(daysStr, "+"):
		daysStr = daysStr[1:]
	}
	if daysStr == "" || strings.ContainsFunc(daysStr, func(r rune) bool { return r < '0' || r > '9' }) {
		return bad()
	}
	days, err := strconv.ParseInt(daysStr, 10, 64)
	const day = int64(24 * time.Hour)
	if err != nil || days > math.MaxInt64/day {
		return 0, fmt.Errorf("invalid duration %q: too large", orig)
	}
	total := days * day
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return bad()
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return bad()
		}
		if int64(r) > math.MaxInt64-total {
			return 0, fmt.Errorf("invalid duration %q: too large", orig)
		}
		total += int64(r)
	}
	if neg {
		total = -total
	}
	return time.Duration(total), nil
}

// Size is a number of bytes. Limits such as the maximum alert body are far
// easier to read and review as "1MiB" than as 1048576, so sizes accept the
// usual decimal (KB, MB, GB, TB) and binary (KiB, MiB, GiB, TiB) units as
// well as plain byte counts.
type Size int64

// sizeUnits maps lower-cased unit names to their multipliers.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000, "tb": 1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

// ParseSize parses a byte count with an optional unit ("512KiB", "10MB",
// "1.5GiB", "4096"). Fractions of a byte are rounded down. It is exported so
// that other inputs can share the file's syntax.
func ParseSize(s string) (Size, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("invalid size %q: want a number of bytes, optionally with a unit such as 512KiB, 1MiB or 10MB", s)
	}
	mult, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, m[2])
	}
	r, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !n.IsInt64() {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return Size(n.Int64()), nil
}

// String prints exact binary multiples with their unit ("1MiB"), so that a
// dumped config reads the way people write it; other values print as bytes.
func (s Size) String() string {
	units := []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	if s > 0 {
		for _, u := range units {
			if int64(s)%u.mult == 0 {
				return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalText writes the value in the syntax ParseSize accepts, so that
// dumped configs can be read back in.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the same syntax as the YAML file, so that sizes read
// from JSON or flags behave the same way.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalYAML rejects non-scalar nodes with a message that names what was
// expected; yaml.v3's generic message would only mention Go types.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a size such as 512KiB, 1MiB or 10MB, got %s", describeNode(n))
	}
	return s.UnmarshalText([]byte(n.Value))
}

// Rate is a parsed connector rate limit: at most N calls per Per.
type Rate struct {
	// N is the number of calls allowed in each period; always positive.
	N int
	// Per is the length of the period; always positive.
	Per time.Duration
}

// Interval is the average spacing between calls, which is what token-bucket
// limiters such as golang.org/x/time/rate.Every want.
func (r Rate) Interval() time.Duration {
	if r.N <= 0 {
		return 0
	}
	return r.Per / time.Duration(r.N)
}

// String prints the rate in the syntax ParseRate accepts, using the
// largest unit that divides the period ("4/min", "5/10s").
func (r Rate) String() string {
	units := []struct {
		name string
		d    time.Duration
	}{{"day", 24 * time.Hour}, {"h", time.Hour}, {"min", time.Minute}, {"s", time.Second}}
	for _, u := range units {
		if r.Per > 0 && r.Per%u.d == 0 {
			n := r.Per / u.d
			if n == 1 {
				return strconv.Itoa(r.N) + "/" + u.name
			}
			return strconv.Itoa(r.N) + "/" + strconv.FormatInt(int64(n), 10) + u.name
		}
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

var (
	rateRE    = regexp.MustCompile(`^([0-9]+)\s*/\s*([0-9]*)\s*([A-Za-z]+)$`)
	rateUnits = map[string]time.Duration{
		"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
		"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	}
	errRateSyntax = errors.New("want COUNT/UNIT such as 4/min, 10/s, 500/day, or COUNT/NUNIT such as 5/10s")
)

// ParseRate parses a connector rate limit such as "4/min", "10/s", "500/day"
// or "5/10s". Vendors publish their API quotas in exactly these terms, so the
// config mirrors them rather than asking for an interval.
func ParseRate(s string) (Rate, error) {
	m := rateRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Rate{}, fmt.Errorf("invalid rate %q: %w", s, errRateSyntax)
	}
	unit, ok := rateUnits[strings.ToLower(m[3])]
	if !ok {
		return Rate{}, fmt.Errorf("invalid rate %q: unknown unit %q (want s, min, h or day)", s, m[3])
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return Rate{}, fmt.Errorf("invalid rate %q: the count must be a positive whole number", s)
	}
	mult := int64(1)
	if m[2] != "" {
		mult, err = strconv.ParseInt(m[2], 10, 64)
		if err != nil || mult <= 0 || mult > math.MaxInt64/int64(unit) {
			return Rate{}, fmt.Errorf("invalid rate %q: the period must be a positive whole number of units", s)
		}
	}
	return Rate{N: n, Per: time.Duration(mult) * unit}, nil
}

// describeNode names the kind of a YAML node for error messages without
// quoting its content, which might be a secret.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		if n.Alias != nil && n.Alias.Kind != yaml.AliasNode {
			return describeNode(n.Alias)
		}
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	default:
		return "a single value"
	}
}
