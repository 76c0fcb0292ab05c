package connectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ToDuration converts a rendered duration: a time.Duration or the text the
// playbook engine passes on, which is Go syntax with an optional leading
// number of days ("1d12h"), as in the config file.
func ToDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, errors.New("required input missing")
	case time.Duration:
		return x, nil
	case string:
		return ParseDuration(x)
	}
	return 0, fmt.Errorf("expected a duration such as 30s, got %T", v)
}

// ParseDuration parses Go duration syntax extended with a leading whole
// number of days ("2d", "1d12h"), as the config file accepts. It repeats
// config.ParseDuration because connectors import nothing else of warroom's.
func ParseDuration(s string) (time.Duration, error) {
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

// Sleep pauses for d, or until ctx is done, whichever comes first, and
// returns ctx's error in the second case. Actions and their clients wait
// with it so that a cancelled run never sits out a delay.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
