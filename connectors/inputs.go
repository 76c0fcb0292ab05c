package connectors

import (
	"fmt"
	"strings"
)

// Text reads the optional text input name of with, trimmed of white space:
// "" when it is missing. The engine has checked types already, but an
// action may be called from elsewhere, so a wrong type is an error naming
// the input rather than a panic.
func Text(with map[string]any, name string) (string, error) {
	switch v := with[name].(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(v), nil
	default:
		return "", fmt.Errorf("with.%s: expected text, got %T", name, v)
	}
}
