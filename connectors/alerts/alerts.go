package alerts

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/warroom-bot/warroom/bot"
)

// Parser turns one webhook body from one source into alerts. Parsers hold
// only configuration, so one value is safe for concurrent use by every
// request handler.
type Parser interface {
	// Parse returns the alerts in body. The error, always a *BodyError, is
	// only for a body that cannot be used at all (not JSON, the wrong
	// shape, too many alerts); one unusable alert inside an otherwise good
	// body is reported in Batch.Rejected instead, so that its neighbours
	// are still taken in.
	Parse(body []byte) (Batch, error)
}

// Batch is what one webhook body yielded.
type Batch struct {
	// Alerts are the usable alerts, in the order the body lists them.
	Alerts []bot.Alert
	// Rejected lists the alerts that could not be used and why, so that
	// the HTTP response can tell the sender which ones to fix.
	Rejected []Rejection
}

// Observe derives the observables of every alert now, for callers that
// show or compare alerts rather than ingest them.
func (b *Batch) Observe() {
	for i := range b.Alerts {
		b.Alerts[i].Observe()
	}
}

// Rejection says why one alert of a body was refused.
type Rejection struct {
	// Index is the alert's position in the body, counting from 0: the
	// element of the alerts array (or of a top-level array), or the
	// non-blank line of a JSON-lines body. Events that a source ignores
	// (Suricata flow records, say) still take up an index.
	Index int `json:"index"`
	// Reason names the problem in words meant for the sender.
	Reason string `json:"reason"`
}

// BodyError reports a body that yields nothing: malformed JSON, a JSON
// value of the wrong shape, or more alerts than MaxAlerts. The HTTP layer
// answers it with 400 and the message.
type BodyError struct {
	// Source is the parser's source name, such as "alertmanager" or
	// "generic/guardduty".
	Source string
	// Msg names the problem, such as "body is not JSON: unexpected end of
	// input at byte 17".
	Msg string
	// Err is the underlying decoding error, if any.
	Err error
}

// Error returns the source and the message, as in "alertmanager: body is
// not JSON: unexpected end of input at byte 17".
func (e *BodyError) Error() string { return e.Source + ": " + e.Msg }

// Unwrap returns the underlying decoding error, so that errors.As still
// finds a *json.SyntaxError.
func (e *BodyError) Unwrap() error { return e.Err }

// Limits on what one body and one alert may hold. They bound the memory and
// the work that a flood, a runaway tool or a hostile sender can cause,
// and keep chat messages readable. Text over a limit is cut at a rune
// boundary and ends in "…"; lists over a limit are cut deterministically.
const (
	// MaxAlerts is the largest number of elements (array entries or JSON
	// lines) one body may hold; a larger body is refused as a whole
	// because a partial intake would be harder to retry correctly.
	MaxAlerts = 10000
	// MaxTitleRunes caps Alert.Title; chat headers are short.
	MaxTitleRunes = 300
	// MaxDescriptionRunes caps Alert.Description.
	MaxDescriptionRunes = 4096
	// MaxLabels caps the number of labels kept per alert, lowest names
	// first.
	MaxLabels = 64
	// MaxLabelNameBytes caps a label name; longer names are dropped.
	MaxLabelNameBytes = 128
	// MaxLabelValueRunes caps a label value.
	MaxLabelValueRunes = 1024
	// MaxObservables caps the observables kept per alert, structured
	// fields first.
	MaxObservables = 100
	// MaxURLBytes caps Alert.URL; a longer URL is dropped rather than
	// cut, since a cut URL leads nowhere.
	MaxURLBytes = 2048
	// MaxRawBytes caps Alert.Raw. A larger alert keeps no raw copy (its
	// parsed fields are still used): the case log must not grow by
	// megabytes per alert.
	MaxRawBytes = 64 << 10
	// MaxFingerprintBytes caps a fingerprint taken from the source as is;
	// a longer or oddly shaped one is hashed instead.
	MaxFingerprintBytes = 128
)

// Built-in source names, as they appear in the webhook path
// POST /alerts/{source}.
const (
	SourceAlertmanager = "alertmanager"
	SourceSplunk       = "splunk"
	SourceElastic      = "elastic"
	SourceGrafana      = "grafana"
	SourceWazuh        = "wazuh"
	SourceSuricata     = "suricata"
	// SourceGeneric prefixes the names of configured generic mappings:
	// "generic/guardduty".
	SourceGeneric = "generic"
)

// Config is the part of the alerts configuration that shapes parsing. It
// mirrors the alerts block of warroom.yaml so that the caller converts it
// field by field.
type Config struct {
	// SeverityMap overrides the built-in severity tables, keyed by source
	// and then by raw value (see the package documentation for the key
	// syntax, which includes numeric ranges). A generic mapping is keyed
	// by its bare name ("guardduty") or its source name
	// ("generic/guardduty"); the key "generic" applies to every generic
	// mapping under its own entry.
	SeverityMap map[string]map[string]string
	// Generic holds the mappings for tools without a dedicated parser,
	// keyed by the name in POST /alerts/generic/{name}.
	Generic map[string]GenericMapping
	// GroupBy names the labels that GroupKey joins; Parsers only checks
	// it, so that a bad list is reported with the rest of the
	// configuration.
	GroupBy []string
}

// GenericMapping maps fields of an arbitrary JSON alert onto a bot.Alert.
// Every value is a path in the syntax the package documentation describes.
type GenericMapping struct {
	// Title is the path of the alert title; required.
	Title string
	// Severity is the path of the raw severity, translated through
	// Config.SeverityMap and then the generic default table.
	Severity string
	// Fingerprint is the path of a value that stays the same across
	// repeats of one alert (a finding id). Without it, or when a body
	// lacks it, the fingerprint is a hash of the title and the configured
	// observables' values.
	Fingerprint string
	// Description is the path of the alert description.
	Description string
	// Observables maps an observable kind to the path holding it. Kinds
	// are IOC field names (ip, host, user, domain, url, email, hash, md5,
	// sha1, sha256, cve, …); each value is validated against its kind,
	// and one that does not fit is typed by its own shape if it has one.
	// Every kind also becomes a label with its first value, so a kind
	// that is no indicator at all (instance, account) still serves
	// group_by and playbook triggers.
	Observables map[string]string
}

// builtinSources lists the built-in sources in the order documentation and
// error messages name them.
var builtinSources = []string{
	SourceAlertmanager, SourceSplunk, SourceElastic, SourceGrafana, SourceWazuh, SourceSuricata,
}

// genericNameRE matches the names a generic mapping may have: they are a
// segment of the webhook URL.
var genericNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Parsers builds one parser per source, keyed by the {source} of
// POST /alerts/{source}: the six built-in sources and "generic/<name>" for
// each generic mapping. This is the one place where sources are
// registered. It reports every problem in cfg at once, joined, so that a
// configuration can be fixed in one go.
func Parsers(cfg Config) (map[string]Parser, error) {
	var errs []error
	sev, err := buildSeverities(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if err := checkGroupBy(cfg.GroupBy); err != nil {
		errs = append(errs, err)
	}
	ps := map[string]Parser{
		SourceAlertmanager: alertmanagerParser{sev: sev[SourceAlertmanager]},
		SourceSplunk:       splunkParser{sev: sev[SourceSplunk]},
		SourceElastic:      elasticParser{sev: sev[SourceElastic]},
		SourceGrafana:      grafanaParser{sev: sev[SourceGrafana]},
		SourceWazuh:        wazuhParser{sev: sev[SourceWazuh]},
		SourceSuricata:     suricataParser{sev: sev[SourceSuricata]},
	}
	for _, name := range sortedKeys(cfg.Generic) {
		source := SourceGeneric + "/" + name
		if !genericNameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("alerts: generic mapping %q: names may contain only letters, digits, _ and -, as they appear in the webhook URL", name))
			continue
		}
		p, err := newGenericParser(source, cfg.Generic[name], sev[source])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps[source] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ps, nil
}

// checkGroupBy refuses empty and repeated label names, which would make
// every group key ambiguous.
func checkGroupBy(by []string) error {
	var errs []error
	for i, name := range by {
		switch {
		case strings.TrimSpace(name) == "":
			errs = append(errs, fmt.Errorf("alerts: group_by[%d]: empty label name", i))
		case slices.Contains(by[:i], name):
			errs = append(errs, fmt.Errorf("alerts: group_by[%d]: %q is listed twice", i, name))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
