package alerts

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// Status values of a parsed alert.
const (
	statusFiring   = "firing"
	statusResolved = "resolved"
)

// draft is an alert as a parser assembled it, before limits are applied and
// observables derived. Every parser ends in finish, so the rules that keep
// alerts safe and bounded live in one place.
type draft struct {
	bot.Alert
	// indicators come from fields whose kind a mapping states; they go
	// first.
	indicators []ioc.Indicator
	// fields feed ioc.FromFields: one map per value layer (see
	// flat.layers).
	fields []map[string]string
	// titleFrom says what was missing when there is no title, as in
	// "no alert.signature", for the rejection message.
	titleFrom string
}

// finish applies the limits and leaves the observables to be derived
// (see bot.Alert.Observe). It returns a reason when the alert cannot be
// used.
func (d *draft) finish() (bot.Alert, string) {
	a := d.Alert
	a.Title = cleanLine(a.Title, MaxTitleRunes)
	if a.Title == "" {
		return bot.Alert{}, "missing title: " + d.titleFrom
	}
	if a.Status != statusFiring && a.Status != statusResolved {
		return bot.Alert{}, fmt.Sprintf("status %q is neither firing nor resolved", cleanLine(a.Status, 40))
	}
	a.Description = cleanText(a.Description, MaxDescriptionRunes)
	a.RawSeverity = cleanLine(a.RawSeverity, 64)
	a.Labels = cleanLabels(a.Labels)
	a.URL = cleanURL(a.URL)
	text := a.Title
	if a.Description != "" {
		// One pass over both is cheaper than two: Extract has a fixed
		// cost per call.
		text += "\n" + a.Description
	}
	pre, fields := d.indicators, d.fields
	a.Observables = nil
	a.DeriveObservables = func() []bot.Observable { return observables(pre, fields, text) }
	a.Raw = capRaw(a.Raw)
	return a, ""
}

// collect runs finish and files the result in the batch.
func (b *Batch) collect(index int, d *draft) {
	a, reason := d.finish()
	if reason != "" {
		b.reject(index, reason)
		return
	}
	b.Alerts = append(b.Alerts, a)
}

func (b *Batch) reject(index int, reason string) {
	b.Rejected = append(b.Rejected, Rejection{Index: index, Reason: reason})
}

// observables gathers indicators from the structured fields first, because
// their names say what they hold, and then from the text (the title and
// description).
// The result is deduplicated on type and value (a domain equal to a host
// name already listed counts as a duplicate) and capped.
func observables(pre []ioc.Indicator, fields []map[string]string, text string) []bot.Observable {
	var out []bot.Observable
	seen := map[bot.Observable]struct{}{}
	add := func(ins []ioc.Indicator) {
		for _, in := range ins {
			if len(out) == MaxObservables {
				return
			}
			o := bot.Observable{Type: string(in.Type), Value: in.Value}
			if in.Type == ioc.TypeDomain {
				// A name a field gave as a host and the text
				// mentions again is the same asset, not a second
				// indicator.
				if _, host := seen[bot.Observable{Type: string(ioc.TypeHostname), Value: in.Value}]; host {
					continue
				}
			}
			if _, dup := seen[o]; !dup {
				seen[o] = struct{}{}
				out = append(out, o)
			}
		}
	}
	add(pre)
	for _, m := range fields {
		if len(out) == MaxObservables {
			return out
		}
		add(ioc.FromFields(m))
	}
	if text != "" && len(out) < MaxObservables {
		add(ioc.Extract(text, ioc.Options{}))
	}
	return out
}

// tlsFingerprint reports fields holding JA3, JA4 or HASSH client
// fingerprints. They are MD5-shaped and sit under names ending in "hash",
// but they describe a TLS or SSH client, not a file: a malware lookup of
// one is meaningless.
func tlsFingerprint(k string) bool {
	return strings.Contains(k, "ja3") || strings.Contains(k, "ja4") || strings.Contains(k, "hassh")
}

// ownFingerprint uses the source's own identifier, prefixed with the
// source so that two sources never collide. An identifier that is long or
// holds unusual characters is hashed, so that fingerprints stay short and
// safe to show, log and index.
func ownFingerprint(source, id string) string {
	if id != "" && len(id) <= MaxFingerprintBytes && plainID(id) {
		return source + ":" + id
	}
	return hashFingerprint(source, id)
}

func plainID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':' || c == '/') {
			return false
		}
	}
	return true
}

// hashFingerprint composes a fingerprint from parts: the source, a colon and
// 32 hex digits of a SHA-256 over the length-prefixed parts. Length
// prefixes keep ("ab", "c") and ("a", "bc") apart.
func hashFingerprint(source string, parts ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	return source + ":" + hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// cleanLine makes text fit a one-line field: valid UTF-8, no control or
// bidirectional-override characters (which can make a title read
// differently from what it says), runs of white space collapsed, at most
// max runes.
func cleanLine(s string, max int) string {
	if plainLine(s) {
		return truncate(s, max)
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || bidiControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return truncate(b.String(), max)
}

// plainLine reports whether s is already clean: printable ASCII, no
// leading, trailing or doubled spaces. Most titles are, and skip the copy.
func plainLine(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			if c != ' ' || i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return false
			}
		}
	}
	return true
}

// cleanText is cleanLine for multi-line text: newlines and tabs stay,
// carriage returns and other control characters go, and blank space at
// the ends is trimmed.
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexFunc(s, func(r rune) bool {
		return r == '\r' || (unicode.IsControl(r) && r != '\n' && r != '\t') || bidiControl(r)
	}) >= 0 {
		s = strings.Map(func(r rune) rune {
			if r == '\r' || (unicode.IsControl(r) && r != '\n' && r != '\t') || bidiControl(r) {
				return -1
			}
			return r
		}, s)
	}
	return truncate(strings.TrimSpace(s), max)
}

func bidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f
}

// truncate cuts s to at most max runes, ending in "…" when cut.
func truncate(s string, max int) string {
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + "…"
		}
		n++
	}
	return s
}

// wellKnownLabels are the label names every parser fills where it can;
// GroupKey and playbook triggers rely on them, so they survive the label
// cap first.
var wellKnownLabels = []string{"alertname", "host", "user", "src_ip", "dest_ip", "rule"}

// cleanLabels drops empty and unusable labels, cleans values and enforces
// MaxLabels, keeping the well-known names first and then the lowest names.
func cleanLabels(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	for k, v := range in {
		if k == "" || len(k) > MaxLabelNameBytes || !plainLabelName(k) {
			delete(in, k)
			continue
		}
		v = cleanLine(v, MaxLabelValueRunes)
		if v == "" {
			delete(in, k)
			continue
		}
		in[k] = v
	}
	if len(in) <= MaxLabels {
		if len(in) == 0 {
			return nil
		}
		return in
	}
	out := make(map[string]string, MaxLabels)
	for _, k := range wellKnownLabels {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	for _, k := range sortedKeys(in) {
		if len(out) == MaxLabels {
			break
		}
		out[k] = in[k]
	}
	return out
}

// plainLabelName refuses names with control characters or invalid UTF-8,
// which no tool means to send and which would corrupt group keys.
func plainLabelName(k string) bool {
	if !utf8.ValidString(k) {
		return false
	}
	for _, r := range k {
		if unicode.IsControl(r) || bidiControl(r) {
			return false
		}
	}
	return true
}

// cleanURL keeps only absolute http and https URLs: the link is shown in
// chat, where a javascript: or relative link would be a trap or dead.
func cleanURL(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxURLBytes || strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == utf8.RuneError || bidiControl(r)
	}) {
		return ""
	}
	// A prefix check rather than url.Parse: the link is only shown, and
	// parsing every generatorURL costs more than the rest of the checks.
	rest, ok := cutPrefixFold(s, "https://")
	if !ok {
		rest, ok = cutPrefixFold(s, "http://")
	}
	if !ok || rest == "" || rest[0] == '/' || rest[0] == '?' || rest[0] == '#' || rest[0] == '@' {
		return ""
	}
	return s
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// capRaw keeps an alert's own JSON for the case log, compacted if that
// makes it fit, and drops it when it is still over MaxRawBytes.
func capRaw(raw json.RawMessage) json.RawMessage {
	if len(raw) <= MaxRawBytes {
		return raw
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil && b.Len() <= MaxRawBytes {
		return b.Bytes()
	}
	return nil
}

// parseTime reads the timestamp forms the sources use: RFC 3339, the
// +0000 offset form of Wazuh and Suricata, and Unix seconds (Splunk's
// _time). Anything else, and the zero time Alertmanager sends for "not
// ended", gives the zero time: a bad timestamp is no reason to lose an
// alert.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() <= 1 {
				return time.Time{}
			}
			return t.UTC()
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Millisecond).UTC()
	}
	return time.Time{}
}

// hostOf extracts the host from an instance label such as
// "web-01.example.com:9100" or "https://www.example.com/health".
func hostOf(instance string) string {
	s := strings.TrimSpace(instance)
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(u.Hostname())
		}
		return ""
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	return strings.ToLower(strings.Trim(s, "[]"))
}

// setLabel sets a label unless the value is empty or the label is already
// there: labels the tool sent win over ones warroom derives.
func setLabel(labels map[string]string, name, value string) {
	if value == "" {
		return
	}
	if _, ok := labels[name]; !ok {
		labels[name] = value
	}
}

// firstOf returns the first non-empty value.
func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// sortedPairs renders a map as sorted name=value lines, for hashing.
func sortedPairs(m map[string]string) []string {
	keys := sortedKeys(m)
	out := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, k, m[k])
	}
	return out
}
