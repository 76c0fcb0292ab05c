package feeds

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// The abuse.ch exports this package reads, recognised by their headers.
const (
	kindFeodo     = "Feodo Tracker"
	kindURLhaus   = "URLhaus"
	kindThreatFox = "ThreatFox"
)

// csvHeader is a recognised CSV header: which export it is, where each
// column is, and the line it is on. URLhaus and ThreatFox write it as a
// comment, Feodo Tracker as a plain first record.
type csvHeader struct {
	kind      string
	cols      map[string]int
	line      int
	commented bool
}

// required are the columns each export must have for its rows to mean
// anything; the others are optional details.
var required = map[string][]string{
	kindFeodo:     {"dst_ip"},
	kindURLhaus:   {"url"},
	kindThreatFox: {"ioc_value", "ioc_type"},
}

// findCSVHeader looks for a known header among the leading comment lines
// and the first other line.
func findCSVHeader(data []byte) (csvHeader, bool) {
	for n, line := range lines(data) {
		text := strings.TrimSpace(line)
		commented := strings.HasPrefix(text, "#")
		if commented {
			text = strings.TrimSpace(strings.TrimLeft(text, "#"))
		}
		if text == "" {
			continue
		}
		if h, ok := matchHeader(text); ok {
			h.line, h.commented = n, commented
			return h, true
		}
		if !commented {
			return csvHeader{}, false
		}
	}
	return csvHeader{}, false
}

func matchHeader(text string) (csvHeader, bool) {
	if !strings.Contains(text, ",") {
		return csvHeader{}, false
	}
	cols := make(map[string]int)
	for i, f := range strings.Split(text, ",") {
		cols[strings.ToLower(strings.Trim(strings.TrimSpace(f), `"`))] = i
	}
	var kind string
	switch {
	case has(cols, "ioc_value", "ioc_type"):
		kind = kindThreatFox
	case has(cols, "dst_ip"):
		kind = kindFeodo
	case has(cols, "url", "urlhaus_link") || has(cols, "url", "url_status"):
		kind = kindURLhaus
	default:
		return csvHeader{}, false
	}
	return csvHeader{kind: kind, cols: cols}, true
}

func has(cols map[string]int, names ...string) bool {
	for _, n := range names {
		if _, ok := cols[n]; !ok {
			return false
		}
	}
	return true
}

// parseCSV reads an abuse.ch export. Rows whose indicator does not
// validate (a URL to an internal name, an unknown ThreatFox ioc_type) are
// skipped and counted; a CSV syntax error fails the file at its line,
// because a truncated download must not pass for a shorter feed.
func parseCSV(path string, data []byte, h csvHeader) (*part, error) {
	p := newPart(path, formatCSV)
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true // ThreatFox separates fields with ", "
	r.ReuseRecord = true
	need := 0
	for _, c := range required[h.kind] {
		need = max(need, h.cols[c]+1)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %w", path, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if !h.commented && line == h.line {
			continue
		}
		if len(rec) < need {
			p.skipped++
			continue
		}
		col := func(name string) string {
			i, ok := h.cols[name]
			if !ok || i >= len(rec) {
				return ""
			}
			v := strings.TrimSpace(rec[i])
			if v == "None" || v == "none" { // ThreatFox's empty value
				return ""
			}
			return v
		}
		switch h.kind {
		case kindFeodo:
			addFeodo(p, col)
		case kindURLhaus:
			addURLhaus(p, col)
		case kindThreatFox:
			addThreatFox(p, col)
		}
	}
	return p, nil
}

func addFeodo(p *part, col func(string) string) {
	h := &hit{feed: p.name, kind: kindFeodo, verdict: enrich.Malicious}
	malware := col("malware")
	var what []string
	if malware != "" {
		what = append(what, malware+" C2")
	} else {
		what = append(what, "botnet C2")
	}
	if port := col("dst_port"); port != "" {
		h.facts = append(h.facts, enrich.Fact{Label: "port", Value: port})
	}
	if st := col("c2_status"); st != "" {
		h.facts = append(h.facts, enrich.Fact{Label: "status", Value: st})
		if st != "online" {
			what = append(what, st)
		}
	}
	if last := col("last_online"); last != "" {
		what = append(what, "last online "+last)
	}
	h.what = strings.Join(what, ", ")
	h.facts = appendFacts(h.facts, "malware", malware, "first seen", col("first_seen_utc"), "last online", col("last_online"))
	p.add(ioc.TypeIPv4, col("dst_ip"), h)
}

func addURLhaus(p *part, col func(string) string) {
	h := &hit{feed: p.name, kind: kindURLhaus, verdict: enrich.Malicious, link: col("urlhaus_link")}
	threat := strings.ReplaceAll(col("threat"), "_", " ")
	if threat == "" {
		threat = "malicious URL"
	}
	what := []string{threat}
	if tags := col("tags"); tags != "" {
		what = append(what, "tags "+tags)
	}
	if st := col("url_status"); st != "" {
		what = append(what, st)
	}
	h.what = strings.Join(what, ", ")
	h.facts = appendFacts(h.facts, "threat", col("threat"), "tags", col("tags"), "status", col("url_status"),
		"first seen", col("dateadded"), "last online", col("last_online"))
	p.add(ioc.TypeURL, col("url"), h)
}

// threatFoxTypes maps ThreatFox's ioc_type to the indicator type its value
// must classify as. Types not listed (sha3_384_hash, ...) are skipped.
var threatFoxTypes = map[string]ioc.Type{
	"ip:port":     ioc.TypeIPv4,
	"domain":      ioc.TypeDomain,
	"url":         ioc.TypeURL,
	"md5_hash":    ioc.TypeMD5,
	"sha1_hash":   ioc.TypeSHA1,
	"sha256_hash": ioc.TypeSHA256,
}

// lowConfidence is the ThreatFox confidence_level below which a listing is
// only suspicious: ThreatFox itself calls lower levels unverified.
const lowConfidence = 50

func addThreatFox(p *part, col func(string) string) {
	t, ok := threatFoxTypes[col("ioc_type")]
	if !ok {
		p.skipped++
		return
	}
	value := col("ioc_value")
	var port string
	if t == ioc.TypeIPv4 {
		if i := strings.LastIndexByte(value, ':'); i >= 0 {
			value, port = strings.Trim(value[:i], "[]"), value[i+1:]
		}
	}
	h := &hit{feed: p.name, kind: kindThreatFox, verdict: enrich.Malicious}
	if id := col("ioc_id"); id != "" {
		h.link = "https://threatfox.abuse.ch/ioc/" + id + "/"
	}
	malware := col("malware_printable")
	if malware == "" || malware == "Unknown malware" {
		malware = col("fk_malware")
	}
	threat := strings.ReplaceAll(col("threat_type"), "_", " ")
	what := strings.TrimSpace(malware + " " + threat)
	conf := col("confidence_level")
	if c, err := strconv.Atoi(conf); err == nil {
		what += fmt.Sprintf(", confidence %d", c)
		if c < lowConfidence {
			h.verdict = enrich.Suspicious
		}
	}
	h.what = what
	h.facts = appendFacts(h.facts, "malware", malware, "threat", col("threat_type"), "port", port,
		"confidence", conf, "tags", col("tags"), "first seen", col("first_seen_utc"), "last seen", col("last_seen_utc"))
	p.add(t, value, h)
}

// appendFacts appends label/value pairs, leaving out empty values.
func appendFacts(facts []enrich.Fact, pairs ...string) []enrich.Fact {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			facts = append(facts, enrich.Fact{Label: pairs[i], Value: pairs[i+1]})
		}
	}
	return facts
}
