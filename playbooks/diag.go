package playbooks

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Diagnostic is one problem found in a playbook file. It keeps the position
// and the setting's path apart from the message, rather than only a
// formatted string, so that editors and CI annotations can point at the
// offending spot and tests can compare fields.
type Diagnostic struct {
	// File is the name the playbook was read from.
	File string
	// Line and Col are 1-based. Line is 0 only for problems that concern a
	// whole file or directory (it cannot be read); everything found inside
	// a file has a position.
	Line, Col int
	// Path names the setting in the file, such as "steps[1].with.url", or
	// is empty when the problem is not tied to one (a YAML syntax error).
	Path string
	// Msg says what is wrong and, where it can, how to fix it.
	Msg string
}

// String formats the diagnostic as compilers do, "FILE:LINE:COL: path:
// message", so that editors and terminals can jump straight to it.
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(d.Line))
		if d.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(d.Col))
		}
	}
	b.WriteString(": ")
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg)
	return b.String()
}

// Diagnostics is every problem found in one load, sorted by file and
// position. All of them are reported at once, not just the first, so that
// a broken playbook directory can be fixed in one edit cycle.
type Diagnostics []Diagnostic

// Error prints one diagnostic per line. Diagnostics is an error so that
// callers that only want to refuse to start can return it as one; use
// [Diagnostics.Err] to avoid a non-nil error holding an empty list.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Err returns ds as an error, or nil when there are no diagnostics.
func (ds Diagnostics) Err() error {
	if len(ds) == 0 {
		return nil
	}
	return ds
}

// sorted returns ds ordered by file, line, column and message, without
// duplicates (a shared YAML alias can produce the same finding twice).
func (ds Diagnostics) sorted() Diagnostics {
	if len(ds) == 0 {
		return nil
	}
	out := slices.Clone(ds)
	slices.SortStableFunc(out, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	return slices.Compact(out)
}

// Pos is where something was declared in a playbook file. The engine can
// use it to point a failed run back at the step's source.
type Pos struct {
	// File is the playbook's file name, as given to Load or Parse.
	File string
	// Line and Col are 1-based.
	Line, Col int
}

// String formats the position as FILE:LINE:COL.
func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// suggest returns the candidate closest to word, if it is close enough to be
// a likely typo, for "did you mean" hints.
func suggest(word string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if d < bestD && d*2 < len(word) {
			best, bestD = c, d
		}
	}
	return best
}

// didYouMean formats suggest's answer as a message suffix.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes. Names
// here are short, so the quadratic cost does not matter; very long words are
// not worth comparing at all.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
