package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration file. It carries the file
// and line separately, rather than only a formatted string, so that editors
// and CI annotations can point at the offending line.
type Problem struct {
	// File is the name the configuration was loaded from.
	File string
	// Line is the 1-based line of the offending key or value, or 0 when the
	// problem concerns something that is absent from the file.
	Line int
	// Path names the setting in the same syntax as [Config.Line], or is
	// empty when the problem is not tied to one setting (a YAML syntax
	// error, for instance).
	Path string
	// Msg says what is wrong. It never contains the value of a secret.
	Msg string
}

// String formats the problem the way compilers do ("FILE:LINE: path: msg")
// so that editors and terminals can jump straight to the line.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is returned by [Load], [Parse] and [Config.Validate] when the
// configuration has problems. It holds all of them rather than the first, so
// that an operator can fix a broken file in one pass; use errors.As to get at
// the individual problems.
type Error struct {
	// Problems is sorted by line; problems on the same line keep the order
	// in which they were found.
	Problems []Problem
}

// Error prints one problem per line, in file order.
func (e *Error) Error() string {
	if e == nil || len(e.Problems) == 0 {
		return "config: no problems"
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// newError sorts and de-duplicates problems so that the output is stable and
// reads top to bottom like the file. It returns nil when there is nothing to
// report, so callers can return its result directly.
func newError(probs []Problem) error {
	if len(probs) == 0 {
		return nil
	}
	seen := make(map[Problem]bool, len(probs))
	out := make([]Problem, 0, len(probs))
	for _, p := range probs {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	return &Error{Problems: out}
}

// problemf is a small convenience for building problems inside the package.
func problemf(file string, line int, path, format string, args ...any) Problem {
	return Problem{File: file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
}
