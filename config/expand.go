package config

import (
	"errors"
	"fmt"
	"strings"
)

// errUnterminated is reported for "${" without a closing brace. The hint
// matters because a literal "$" is common in passwords and hashes.
var errUnterminated = errors.New(`unterminated "${" (write "$$" for a literal "$")`)

// expand substitutes ${VAR}, ${VAR:-default} and $$ in s. Values taken from
// the environment are inserted verbatim and never expanded again, so an
// environment variable cannot smuggle in further references. The names of
// variables that were unset and had no default are appended to unset.
//
// Error messages quote at most a variable name, never s itself, because s
// may be a secret written inline.
func expand(s string, env func(string) (string, bool), unset *[]string) (string, error) {
	return expandDepth(s, env, unset, 0)
}

// maxDefaultDepth bounds ${A:-${B:-...}} nesting; each level rescans the
// rest of the value, so unbounded nesting would be quadratic.
const maxDefaultDepth = 8

func expandDepth(s string, env func(string) (string, bool), unset *[]string, depth int) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := closingBrace(s, i+2)
			if end < 0 {
				return "", errUnterminated
			}
			v, err := expandRef(s[i+2:end], env, unset, depth)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i = end + 1
		default:
			// A lone "$" is literal, which keeps bcrypt hashes and most
			// passwords working without escaping.
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), nil
}

// closingBrace returns the index of the "}" that closes a reference whose
// body starts at start, allowing references nested in a default value, or -1.
func closingBrace(s string, start int) int {
	depth := 1
	for j := start; j < len(s); j++ {
		switch {
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '$':
			j++
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			depth++
			j++
		case s[j] == '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// expandRef resolves the body of one ${...} reference.
func expandRef(body string, env func(string) (string, bool), unset *[]string, depth int) (string, error) {
	n := 0
	for n < len(body) && isNameByte(body[n]) {
		n++
	}
	name, rest := body[:n], body[n:]
	switch {
	case name == "" && rest == "":
		return "", errors.New(`empty variable name in "${}"`)
	case name == "":
		return "", errors.New(`invalid variable reference: a name must follow "${" (letters, digits and _)`)
	case name[0] >= '0' && name[0] <= '9':
		return "", errors.New("invalid variable name: names must not start with a digit")
	}
	val, ok := env(name)
	switch {
	case rest == "":
		if !ok {
			*unset = append(*unset, name)
		}
		return val, nil
	case strings.HasPrefix(rest, ":-"):
		// Like the shell, an empty value also falls back to the default.
		if ok && val != "" {
			return val, nil
		}
		if depth >= maxDefaultDepth {
			return "", fmt.Errorf("defaults nested more than %d levels deep", maxDefaultDepth)
		}
		return expandDepth(rest[2:], env, unset, depth+1)
	default:
		return "", fmt.Errorf("unsupported variable syntax after ${%s (use ${%s} or ${%s:-default})", name, name, name)
	}
}

// isNameByte reports whether c may appear in an environment variable name
// as accepted here (the portable POSIX set).
func isNameByte(c byte) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// isEnvName reports whether s is a portable environment variable name.
func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}
