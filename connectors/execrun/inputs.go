package execrun

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
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
		d, err := connectors.ToDuration(v)
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
