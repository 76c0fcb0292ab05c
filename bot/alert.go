package bot

import (
	"encoding/json"
	"time"
)

// Alert is one alert from a SIEM or security tool, parsed from its webhook
// payload into one shape whatever the source.
type Alert struct {
	Source string `json:"source"` // "alertmanager", "splunk", "generic/guardduty"…
	// Fingerprint identifies the alert across repeats: the source's own
	// (Alertmanager, Grafana, Elastic uuid) or a hash of configured fields.
	Fingerprint string `json:"fingerprint"`
	Status      string `json:"status"` // "firing" or "resolved"
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Severity is normalised to critical, high, medium, low or info;
	// RawSeverity keeps what the source said.
	Severity    string            `json:"severity"`
	RawSeverity string            `json:"raw_severity,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Observables []Observable      `json:"observables,omitempty"`
	// DeriveObservables, when set, computes Observables; see Observe.
	// Parsers leave the work for later because only an alert stored new
	// needs it: a repeat of a known fingerprint keeps what its first
	// sighting found, and extraction is most of what parsing costs.
	DeriveObservables func() []Observable `json:"-"`
	StartsAt          time.Time           `json:"starts_at,omitzero"`
	EndsAt            time.Time           `json:"ends_at,omitzero"`
	URL               string              `json:"url,omitempty"` // back to the source
	// GroupKey is set at intake from the labels named in alerts.group_by:
	// different fingerprints with one group key fold into one incident.
	GroupKey string          `json:"group_key,omitempty"`
	Raw      json.RawMessage `json:"raw,omitempty"` // the alert's own JSON, for the case log
}

// Observable is an indicator carried by an alert: an IP, host, user, hash…
// Type uses the IOC type words: ipv4, ipv6, domain, url, email, md5, sha1,
// sha256, cve, hostname, user.
type Observable struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Observe fills Observables from DeriveObservables, once.
func (a *Alert) Observe() {
	if a.DeriveObservables != nil {
		a.Observables = a.DeriveObservables()
		a.DeriveObservables = nil
	}
}
