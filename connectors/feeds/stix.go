package feeds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/warroom-bot/warroom/connectors/enrich"
	"github.com/warroom-bot/warroom/connectors/ioc"
)

// stixObject holds the fields of the STIX 2.1 objects this package reads:
// indicators, the malware they indicate (through relationships) and TLP
// marking definitions.
type stixObject struct {
	Type              string   `json:"type"`
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Pattern           string   `json:"pattern"`
	PatternType       string   `json:"pattern_type"`
	Confidence        *int     `json:"confidence"`
	Created           string   `json:"created"`
	ValidFrom         string   `json:"valid_from"`
	Revoked           bool     `json:"revoked"`
	IndicatorTypes    []string `json:"indicator_types"`
	Labels            []string `json:"labels"`
	ObjectMarkingRefs []string `json:"object_marking_refs"`
	RelationshipType  string   `json:"relationship_type"`
	SourceRef         string   `json:"source_ref"`
	TargetRef         string   `json:"target_ref"`
	DefinitionType    string   `json:"definition_type"`
	Definition        struct {
		TLP string `json:"tlp"`
	} `json:"definition"`
}

// tlpMarkings are the fixed ids of the STIX TLP 1.0 and 2.0 marking
// definitions, which bundles reference without including them.
var tlpMarkings = map[string]string{
	"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
	"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
	"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
	"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}

// parseSTIX reads a STIX 2.1 bundle. Indicators whose pattern is not a
// plain STIX pattern over the observables warroom looks up are skipped and
// counted; revoked indicators are left out.
func parseSTIX(path string, data []byte) (*part, error) {
	var bundle struct {
		Type    string       `json:"type"`
		Objects []stixObject `json:"objects"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		return nil, jsonError(path, data, err)
	}
	if bundle.Type != "bundle" {
		return nil, fmt.Errorf("%s:1: not a STIX bundle: type is %q", path, bundle.Type)
	}
	p := newPart(path, formatSTIX)
	names := make(map[string]string) // malware id -> name
	marks := make(map[string]string) // marking id -> TLP level
	indicates := make(map[string][]string)
	for i := range bundle.Objects {
		o := &bundle.Objects[i]
		switch o.Type {
		case "malware":
			names[o.ID] = o.Name
		case "marking-definition":
			if lvl := markingTLP(o); lvl != "" {
				marks[o.ID] = lvl
			}
		case "relationship":
			if o.RelationshipType == "indicates" {
				indicates[o.SourceRef] = append(indicates[o.SourceRef], o.TargetRef)
			}
		}
	}
	for i := range bundle.Objects {
		o := &bundle.Objects[i]
		if o.Type != "indicator" || o.Revoked {
			continue
		}
		if o.PatternType != "" && o.PatternType != "stix" { // sigma, yara, snort
			p.skipped++
			continue
		}
		h := stixHit(p.name, o, names, marks, indicates[o.ID])
		vals, skipped := parsePattern(o.Pattern)
		p.skipped += skipped
		for _, v := range vals {
			p.add(v.t, v.v, h)
		}
	}
	return p, nil
}

func stixHit(feed string, o *stixObject, names, marks map[string]string, targets []string) *hit {
	h := &hit{feed: feed, kind: "STIX", verdict: enrich.Malicious}
	var malware []string
	for _, t := range targets {
		if n := names[t]; n != "" {
			malware = append(malware, n)
		}
	}
	types := o.IndicatorTypes
	if len(types) == 0 {
		types = o.Labels // STIX 2.0 put the indicator types in labels
	}
	what := o.Name
	if what == "" && len(malware) > 0 {
		what = strings.Join(malware, ", ")
	}
	if what == "" && len(types) > 0 {
		what = strings.ReplaceAll(strings.Join(types, ", "), "-", " ")
	}
	if o.Confidence != nil {
		what += fmt.Sprintf(", confidence %d", *o.Confidence)
		if *o.Confidence < lowConfidence {
			h.verdict = enrich.Suspicious
		}
	}
	h.what = strings.TrimPrefix(what, ", ")
	first := o.ValidFrom
	if first == "" {
		first = o.Created
	}
	conf := ""
	if o.Confidence != nil {
		conf = strconv.Itoa(*o.Confidence)
	}
	h.facts = appendFacts(nil, "malware", strings.Join(malware, ", "), "type", strings.Join(types, ", "),
		"confidence", conf, "first seen", first, "stix id", o.ID)
	for _, ref := range o.ObjectMarkingRefs {
		lvl := marks[ref]
		if lvl == "" {
			lvl = tlpMarkings[ref]
		}
		if tlpRank(lvl) > tlpRank(h.tlp) {
			h.tlp = lvl
		}
	}
	return h
}

// markingTLP reads the level of a TLP marking definition in either the
// STIX 2.0/2.1 form (definition.tlp) or the TLP 2.0 form (name "TLP:RED").
func markingTLP(o *stixObject) string {
	if o.DefinitionType == "tlp" && o.Definition.TLP != "" {
		return strings.ToLower(o.Definition.TLP)
	}
	if lvl, ok := strings.CutPrefix(strings.ToUpper(o.Name), "TLP:"); ok {
		return strings.ToLower(lvl)
	}
	return ""
}

// jsonError places a decoding error at its line, because a bundle is
// often one huge file edited or generated by hand.
func jsonError(path string, data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return fmt.Errorf("%s: decode STIX bundle: %w", path, err)
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return fmt.Errorf("%s:%d: decode STIX bundle: %w", path, line, err)
}

// patternValue is one observable taken from a pattern.
type patternValue struct {
	t ioc.Type
	v string
}

// parsePattern takes the observables out of a STIX pattern such as
// [ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'evil.example'].
// Only equality comparisons on observables warroom looks up are used.
// Observation expressions may be joined by OR; a pattern whose parts must
// hold together (AND or FOLLOWEDBY between observations) is skipped as a
// whole, because listing one of its parts alone would claim more than the
// feed does. Inside an observation, AND is accepted only between
// comparisons on the same object (file:hashes.MD5 = … AND
// file:hashes.'SHA-256' = …), each of which identifies that object. It
// returns the values and how many comparisons or patterns it could not use.
func parsePattern(pattern string) ([]patternValue, int) {
	toks, ok := tokenize(pattern)
	if !ok {
		return nil, 1
	}
	var out []patternValue
	skipped := 0
	var obs *observation
	var all []*observation
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokPunct && t.text == "[":
			if obs != nil {
				return nil, 1
			}
			obs = &observation{joins: make(map[string]bool)}
			all = append(all, obs)
		case t.kind == tokPunct && t.text == "]":
			if obs == nil {
				return nil, 1
			}
			obs = nil
		case t.kind == tokPunct && (t.text == "(" || t.text == ")"):
			if t.text == "(" {
				depth++
			} else {
				depth--
			}
			if obs != nil {
				obs.parens = true
			}
		case t.kind == tokWord && isKeyword(t.text, "AND", "OR", "FOLLOWEDBY"):
			kw := strings.ToUpper(t.text)
			if obs != nil {
				obs.joins[kw] = true
			} else if kw != "OR" {
				return nil, 1
			}
		case obs != nil && t.kind == tokWord && strings.Contains(t.text, ":"):
			c, n := comparisonAt(toks, i)
			if n == 0 {
				return nil, 1
			}
			obs.comps = append(obs.comps, c)
			i += n - 1
		}
	}
	if obs != nil || depth != 0 || len(all) == 0 {
		return nil, 1
	}
	for _, o := range all {
		vals, sk := o.values()
		out = append(out, vals...)
		skipped += sk
	}
	return out, skipped
}

type observation struct {
	comps  []comparison
	joins  map[string]bool
	parens bool
}

type comparison struct {
	path, op, value  string
	negated, literal bool // literal: value is a plain string
}

func (o *observation) values() ([]patternValue, int) {
	if o.joins["AND"] || o.joins["FOLLOWEDBY"] {
		if o.joins["OR"] || o.parens || o.joins["FOLLOWEDBY"] {
			return nil, len(o.comps)
		}
		obj := ""
		for _, c := range o.comps {
			ot, _, _ := strings.Cut(c.path, ":")
			if obj != "" && ot != obj || c.op != "=" || c.negated {
				return nil, len(o.comps)
			}
			obj = ot
		}
	}
	var out []patternValue
	skipped := 0
	for _, c := range o.comps {
		v, ok := c.observable()
		if !ok {
			skipped++
			continue
		}
		out = append(out, v)
	}
	return out, skipped
}

// observable maps an equality comparison on a known object path to the
// indicator type its value must have.
func (c comparison) observable() (patternValue, bool) {
	if c.op != "=" || c.negated || !c.literal {
		return patternValue{}, false
	}
	obj, prop, _ := strings.Cut(c.path, ":")
	var t ioc.Type
	v := c.value
	switch strings.ToLower(obj) + ":" + prop {
	case "ipv4-addr:value", "ipv6-addr:value":
		// A single-address CIDR is an address; a wider range is not
		// something a lookup of one address can match by key.
		if pfx, err := netip.ParsePrefix(v); err == nil {
			if !pfx.IsSingleIP() {
				return patternValue{}, false
			}
			v = pfx.Addr().String()
		}
		t = ioc.TypeIPv4
	case "domain-name:value":
		t = ioc.TypeDomain
	case "url:value":
		t = ioc.TypeURL
	case "email-addr:value":
		t = ioc.TypeEmail
	default:
		algo, ok := strings.CutPrefix(prop, "hashes.")
		if strings.ToLower(obj) != "file" || !ok {
			return patternValue{}, false
		}
		algo = strings.ToUpper(strings.NewReplacer("'", "", "-", "", "_", "").Replace(algo))
		switch algo {
		case "MD5":
			t = ioc.TypeMD5
		case "SHA1":
			t = ioc.TypeSHA1
		case "SHA256":
			t = ioc.TypeSHA256
		default:
			return patternValue{}, false
		}
	}
	return patternValue{t, v}, true
}

// comparisonAt reads "path [NOT] op value" at toks[i] and returns it and
// the number of tokens it used, or 0 if it is malformed.
func comparisonAt(toks []token, i int) (comparison, int) {
	c := comparison{path: toks[i].text}
	j := i + 1
	if j < len(toks) && toks[j].kind == tokWord && isKeyword(toks[j].text, "NOT") {
		c.negated = true
		j++
	}
	if j >= len(toks) || toks[j].kind != tokOp && toks[j].kind != tokWord {
		return comparison{}, 0
	}
	c.op = strings.ToUpper(toks[j].text)
	j++
	if c.op == "EXISTS" {
		return c, j - i
	}
	if j >= len(toks) {
		return comparison{}, 0
	}
	switch toks[j].kind {
	case tokString:
		c.value, c.literal = toks[j].text, true
	case tokWord, tokTyped:
		c.value = toks[j].text
	case tokPunct:
		if toks[j].text != "(" { // IN ('a', 'b'): a set, not used
			return comparison{}, 0
		}
		k := j
		for k < len(toks) && !(toks[k].kind == tokPunct && toks[k].text == ")") {
			k++
		}
		if k == len(toks) {
			return comparison{}, 0
		}
		return c, k + 1 - i
	default:
		return comparison{}, 0
	}
	return c, j + 1 - i
}

func isKeyword(s string, kws ...string) bool {
	for _, k := range kws {
		if strings.EqualFold(s, k) {
			return true
		}
	}
	return false
}

type tokKind int

const (
	tokWord   tokKind = iota // object paths, keywords, numbers
	tokString                // '...' with escapes undone
	tokTyped                 // t'...', b'...', h'...'
	tokOp                    // = != < <= > >=
	tokPunct                 // [ ] ( ) ,
)

type token struct {
	kind tokKind
	text string
}

// tokenize splits a STIX pattern. Quoted path components such as
// hashes.'SHA-256' stay inside their path word.
func tokenize(s string) ([]token, bool) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '[' || c == ']' || c == '(' || c == ')' || c == ',':
			toks = append(toks, token{tokPunct, s[i : i+1]})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			if s[i:j] == "!" {
				return nil, false
			}
			toks = append(toks, token{tokOp, s[i:j]})
			i = j
		case c == '\'':
			v, n, ok := quoted(s[i:])
			if !ok {
				return nil, false
			}
			toks = append(toks, token{tokString, v})
			i += n
		case (c == 't' || c == 'b' || c == 'h') && i+1 < len(s) && s[i+1] == '\'': // t'2020-…'
			_, n, ok := quoted(s[i+1:])
			if !ok {
				return nil, false
			}
			toks = append(toks, token{tokTyped, s[i : i+1+n]})
			i += 1 + n
		default:
			j := i
			for j < len(s) {
				d := s[j]
				if d == '\'' && j > i && s[j-1] == '.' { // hashes.'SHA-256'
					_, n, ok := quoted(s[j:])
					if !ok {
						return nil, false
					}
					j += n
					continue
				}
				if strings.IndexByte(" \t\r\n[]()=!<>',", d) >= 0 {
					break
				}
				j++
			}
			if j == i {
				return nil, false
			}
			toks = append(toks, token{tokWord, s[i:j]})
			i = j
		}
	}
	return toks, true
}

// quoted reads a STIX string literal at the start of s and returns its
// value and length.
func quoted(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || s[i+1] != '\'' && s[i+1] != '\\' {
				return "", 0, false
			}
			i++
			b.WriteByte(s[i])
		case '\'':
			return b.String(), i + 1, true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, false
}
