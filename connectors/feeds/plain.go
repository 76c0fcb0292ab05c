package feeds

import (
	"bytes"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/warroom-bot/warroom/connectors/enrich"
)

// The formats a feed file can have, as reported in errors.
const (
	formatPlain = "list"
	formatSTIX  = "stix"
	formatCSV   = "csv"
)

// parseFile detects the format of one feed file and parses it. The content
// decides where it can: abuse.ch serves CSV exports under .txt names, and
// people save lists with any extension.
func parseFile(path string, data []byte) (*part, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	ext := strings.ToLower(filepath.Ext(path))
	trimmed := bytes.TrimSpace(data)
	if ext == ".json" || len(trimmed) > 0 && trimmed[0] == '{' {
		return parseSTIX(path, data)
	}
	if h, ok := findCSVHeader(data); ok {
		return parseCSV(path, data, h)
	}
	if ext == ".csv" {
		return nil, fmt.Errorf("%s:1: unrecognised CSV export: want a Feodo Tracker, URLhaus or ThreatFox header", path)
	}
	return parsePlain(path, data)
}

// parsePlain reads a list with one indicator a line. Blank lines and lines
// starting with # are skipped, as is a trailing " # comment". Hosts-file
// lines ("0.0.0.0 evil.example"), which DNS blocklists use, count for the
// name. Lines that are not an indicator are skipped and counted; a file
// with no indicator at all but with such lines is an error, because it is
// almost certainly not a list.
func parsePlain(path string, data []byte) (*part, error) {
	p := newPart(path, formatPlain)
	h := &hit{feed: p.name, verdict: enrich.Malicious}
	firstBad, firstBadText := 0, ""
	for n, line := range lines(data) {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		} else if i := strings.Index(line, "\t#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if !p.add("", plainValue(line), h) && firstBad == 0 {
			firstBad, firstBadText = n, line
		}
	}
	if len(p.hits) == 0 && firstBad > 0 {
		return nil, fmt.Errorf("%s:%d: not an indicator list: %q is not an indicator", path, firstBad, shorten(firstBadText))
	}
	return p, nil
}

// plainValue picks the indicator out of a list line.
func plainValue(line string) string {
	f := strings.Fields(line)
	if len(f) == 2 && (f[0] == "0.0.0.0" || f[0] == "127.0.0.1" || f[0] == "::") {
		return f[1] // hosts-file blocklist
	}
	if len(f) > 1 {
		return f[0]
	}
	if ap, err := netip.ParseAddrPort(line); err == nil {
		return ap.Addr().String()
	}
	return line
}

// lines yields the lines of data with 1-based numbers and without line
// endings.
func lines(data []byte) func(yield func(int, string) bool) {
	return func(yield func(int, string) bool) {
		s := string(data)
		for n := 1; len(s) > 0; n++ {
			line := s
			if i := strings.IndexByte(s, '\n'); i >= 0 {
				line, s = s[:i], s[i+1:]
			} else {
				s = ""
			}
			if !yield(n, strings.TrimSuffix(line, "\r")) {
				return
			}
		}
	}
}

// shorten keeps error messages about a binary or huge line readable.
func shorten(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
