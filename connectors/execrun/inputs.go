package execrun

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// inputs are a call's with: values, checked and converted.
type inputs struct {
	argv    []string
	timeout time.Duration
	stdin   *string // nil: no stdin, the program reads end of file
}

// parseInputs checks with and converts it. The engine has already checked
// types against the Spec, but an action may be called from elsewhere, so
// it checks again rather than panic on a bad type.
func parseInputs(with map[string]any) (*inputs, error) {
	in := &inputs{timeout: DefaultTimeout}
	var list []any
	switch x := with["argv"].(type) {
	case []any:
		list = x
	case []string:
		for _, s := range x {
			list = append(list, s)
		}
	case nil:
		return nil, errors.New("with.argv: required input missing")
	default:
		return nil, fmt.Errorf("with.argv: expected a list, got %T", x)
	}
	if len(list) == 0 {
		return nil, errors.New("with.argv: needs at least the program")
	}
	for i, v := range list {
		s, err := argText(v)
		if err != nil {
			return nil, fmt.Errorf("with.argv[%d]: %v", i, err)
		}
		if strings.ContainsRune(s, 0) {
			return nil, fmt.Errorf("with.argv[%d]: contains a NUL byte", i)
		}
		in.argv = append(in.argv, s)
	}
	if in.argv[0] == "" {
		return nil, errors.New("with.argv[0]: the program is empty")
	}

	if v, ok := with["timeout"]; ok && v != nil {
		d, err := toDuration(v)
		if err != nil {
			return nil, fmt.Errorf("with.timeout: %v", err)
		}
		if d <= 0 || d > MaxTimeout {
			return nil, fmt.Errorf("with.timeout: must be between 0 and %s, got %s", MaxTimeout, d)
		}
		in.timeout = d
	}

	if v, ok := with["stdin"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("with.stdin: expected text, got %T", v)
		}
		in.stdin = &s
	}
	return in, nil
}

// argText converts one argv element. Numbers and bools are accepted as
// their text, because YAML makes the 443 of [nmap, -p, 443] a number.
func argText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("expected text, got %T", v)
}

// toDuration converts a rendered duration: a time.Duration or the text the
// playbook engine passes on, which is Go syntax with an optional leading
// number of days ("1d12h"), as in the config file.
func toDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case string:
		return parseDuration(x)
	}
	return 0, fmt.Errorf("expected a duration such as 30s, got %T", v)
}

// parseDuration parses Go duration syntax extended with a leading whole
// number of days. It repeats config.ParseDuration because connectors
// import nothing else of warroom's.
func parseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("invalid duration %q: want a number with a unit, such as 90s, 15m, 2h30m or 2d", orig)
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, bad
		}
		return d, nil
	}
	neg := false
	switch {
	case strings.HasPrefix(days, "-"):
		neg, days = true, days[1:]
	case strings.HasPrefix(days, "+"):
		days = days[1:]
	}
	n, err := strconv.ParseUint(days, 10, 63) // digits only: no sign, no "_"
	if err != nil {
		return 0, bad
	}
	const day = 24 * time.Hour
	if n > uint64(math.MaxInt64/int64(day)) {
		return 0, fmt.Errorf("invalid duration %q: too large", orig)
	}
	total := time.Duration(n) * day
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, bad
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, bad
		}
		if r > math.MaxInt64-total {
			return 0, fmt.Errorf("invalid duration %q: too large", orig)
		}
		total += r
	}
	if neg {
		total = -total
	}
	return total, nil
}
