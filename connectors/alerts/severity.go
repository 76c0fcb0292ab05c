package alerts

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/warroom-bot/warroom/bot"
)

// SeverityTable says how one source's raw severity becomes a warroom
// severity (critical, high, medium, low or info).
type SeverityTable struct {
	// Field names the payload field that holds the raw value.
	Field string
	// Map translates raw values. Keys are lower-case exact values, or
	// numeric ranges "lo..hi" meaning lo ≤ x < hi, with either end
	// optional ("12.." is 12 and above). Exact keys win over ranges.
	Map map[string]string
	// Default applies when the field is absent or holds a value that Map
	// does not list: a source that says nothing about urgency gets the
	// middle of the scale, neither paging anyone nor hiding the alert.
	Default string
}

// defaultSeverity is the built-in table; see the package documentation for
// the same table in prose. Values are compared lower-cased and trimmed.
var defaultSeverity = map[string]SeverityTable{
	SourceAlertmanager: promSeverity("labels.severity"),
	SourceGrafana:      promSeverity("labels.severity"),
	SourceSplunk: {
		Field: "result.severity, else result.urgency",
		Map: map[string]string{
			"critical": "critical", "high": "high", "medium": "medium", "low": "low",
			"informational": "info", "info": "info",
		},
		Default: "medium",
	},
	SourceElastic: {
		Field:   "kibana.alert.severity",
		Map:     map[string]string{"critical": "critical", "high": "high", "medium": "medium", "low": "low"},
		Default: "medium",
	},
	SourceWazuh: {
		Field: "rule.level",
		// Wazuh levels run from 0 (ignored) to 15 (severe attack); the
		// cut-offs follow the Wazuh rule classification table.
		Map: map[string]string{
			"..1": "info", "1..4": "low", "4..8": "medium", "8..12": "high", "12..": "critical",
		},
		Default: "medium",
	},
	SourceSuricata: {
		Field: "alert.severity",
		// Suricata's severity is the classification priority: 1 is the
		// most serious, and it has no level above "high" on our scale.
		Map:     map[string]string{"1": "high", "2": "medium", "3": "low", "4..": "info"},
		Default: "medium",
	},
	SourceGeneric: {
		Field: "the mapping's severity path",
		Map: map[string]string{
			"critical": "critical", "fatal": "critical", "emergency": "critical",
			"high": "high", "error": "high", "severe": "high",
			"medium": "medium", "moderate": "medium", "warning": "medium", "warn": "medium",
			"low": "low", "minor": "low",
			"informational": "info", "information": "info", "info": "info", "none": "info",
		},
		Default: "medium",
	},
}

// promSeverity is the convention Prometheus and Grafana rule authors use for
// the severity label.
func promSeverity(field string) SeverityTable {
	return SeverityTable{
		Field: field,
		Map: map[string]string{
			"critical": "critical",
			"error":    "high", "high": "high",
			"warning": "medium", "warn": "medium", "medium": "medium",
			"low":  "low",
			"info": "info", "informational": "info", "none": "info",
		},
		Default: "medium",
	}
}

// DefaultSeverity returns a copy of the built-in severity tables, keyed by
// source ("generic" covers every generic mapping), for documentation and
// for tools that show the effective mapping.
func DefaultSeverity() map[string]SeverityTable {
	out := make(map[string]SeverityTable, len(defaultSeverity))
	for k, t := range defaultSeverity {
		t.Map = maps.Clone(t.Map)
		out[k] = t
	}
	return out
}

// sevRange is a compiled numeric range key: lo ≤ x < hi.
type sevRange struct {
	lo, hi float64
	sev    string
}

// sevRules is one compiled table of exact keys and ranges.
type sevRules struct {
	exact  map[string]string
	ranges []sevRange // sorted by lo, not overlapping
}

// severityMapper applies configured overrides and then the built-in table.
type severityMapper struct {
	rules []sevRules // most specific first
	def   string
}

// normalize maps a raw severity to a warroom severity. It never fails:
// an unknown value takes the source's default.
func (m severityMapper) normalize(raw string) string {
	key := strings.ToLower(strings.TrimSpace(raw))
	if key == "" {
		return m.defaultSev()
	}
	num, numeric := parseNumber(key)
	for _, r := range m.rules {
		if s, ok := r.exact[key]; ok {
			return s
		}
		if numeric {
			for _, rg := range r.ranges {
				if num >= rg.lo && num < rg.hi {
					return rg.sev
				}
			}
		}
	}
	return m.defaultSev()
}

func (m severityMapper) defaultSev() string {
	if m.def == "" {
		return "medium"
	}
	return m.def
}

func parseNumber(s string) (float64, bool) {
	if s == "" || !(s[0] >= '0' && s[0] <= '9' || s[0] == '-' || s[0] == '+' || s[0] == '.') {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// compileSeverity turns a raw → severity map into rules, naming every bad
// key or value under where.
func compileSeverity(where string, m map[string]string) (sevRules, []error) {
	var errs []error
	r := sevRules{exact: make(map[string]string, len(m))}
	for _, raw := range sortedKeys(m) {
		sev := strings.ToLower(strings.TrimSpace(m[raw]))
		at := fmt.Sprintf("%s[%q]", where, raw)
		if !slices.Contains(bot.Severities, sev) {
			errs = append(errs, fmt.Errorf("%s: unknown severity %q (want critical, high, medium, low or info)", at, m[raw]))
			continue
		}
		key := strings.ToLower(strings.TrimSpace(raw))
		lo, hi, isRange := strings.Cut(key, "..")
		if !isRange {
			r.exact[key] = sev
			continue
		}
		rg := sevRange{lo: math.Inf(-1), hi: math.Inf(1), sev: sev}
		bad := lo == "" && hi == ""
		if lo != "" {
			f, ok := parseNumber(strings.TrimSpace(lo))
			bad, rg.lo = bad || !ok, f
		}
		if hi != "" {
			f, ok := parseNumber(strings.TrimSpace(hi))
			bad, rg.hi = bad || !ok, f
		}
		if bad || rg.lo >= rg.hi {
			errs = append(errs, fmt.Errorf("%s: invalid range (want lo..hi with lo < hi, either end optional, as in 4..8 or 12..)", at))
			continue
		}
		r.ranges = append(r.ranges, rg)
	}
	sort.Slice(r.ranges, func(i, j int) bool { return r.ranges[i].lo < r.ranges[j].lo })
	for i := 1; i < len(r.ranges); i++ {
		if a, b := r.ranges[i-1], r.ranges[i]; a.hi > b.lo {
			errs = append(errs, fmt.Errorf("%s: ranges %s and %s overlap", where, fmtRange(a), fmtRange(b)))
		}
	}
	return r, errs
}

func fmtRange(r sevRange) string {
	f := func(x float64) string {
		if math.IsInf(x, 0) {
			return ""
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return f(r.lo) + ".." + f(r.hi)
}

// mustCompile compiles a built-in table; a mistake there is a programming
// error found by the first test.
func mustCompile(source string) (sevRules, string) {
	t := defaultSeverity[source]
	r, errs := compileSeverity("default severity for "+source, t.Map)
	if len(errs) > 0 {
		panic(errors.Join(errs...))
	}
	return r, t.Default
}

// buildSeverities compiles the severity mapper of every source in cfg,
// keyed by source name.
func buildSeverities(cfg Config) (map[string]severityMapper, error) {
	var errs []error
	override := map[string]sevRules{}
	for _, key := range sortedKeys(cfg.SeverityMap) {
		source := key
		name, prefixed := strings.CutPrefix(key, SourceGeneric+"/")
		switch {
		case slices.Contains(builtinSources, key) || key == SourceGeneric:
		case !prefixed && hasKey(cfg.Generic, key):
			source = SourceGeneric + "/" + key
			if hasKey(cfg.SeverityMap, source) {
				errs = append(errs, fmt.Errorf("alerts: severity_map: %q and %q name the same mapping; keep one", key, source))
				continue
			}
		case prefixed && hasKey(cfg.Generic, name):
		default:
			errs = append(errs, fmt.Errorf("alerts: severity_map.%s: unknown alert source (want %s, or a name under generic)",
				key, strings.Join(builtinSources, ", ")))
			continue
		}
		r, es := compileSeverity("alerts: severity_map."+key, cfg.SeverityMap[key])
		errs = append(errs, es...)
		override[source] = r
	}

	out := map[string]severityMapper{}
	for _, s := range builtinSources {
		def, d := mustCompile(s)
		m := severityMapper{def: d}
		if r, ok := override[s]; ok {
			m.rules = append(m.rules, r)
		}
		out[s] = severityMapper{rules: append(m.rules, def), def: d}
	}
	gdef, gd := mustCompile(SourceGeneric)
	for name := range cfg.Generic {
		source := SourceGeneric + "/" + name
		var rules []sevRules
		if r, ok := override[source]; ok {
			rules = append(rules, r)
		}
		if r, ok := override[SourceGeneric]; ok {
			rules = append(rules, r)
		}
		out[source] = severityMapper{rules: append(rules, gdef), def: gd}
	}
	return out, errors.Join(errs...)
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
