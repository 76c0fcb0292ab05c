// Package alerts turns the webhook payloads of security and monitoring tools
// into bot.Alert values: one parser per source, all reached through Parsers,
// which is the one place sources are registered.
//
// A parser only parses. Authentication, body size limits, storage,
// deduplication and grouping belong to the caller; the parser's job is to
// give each alert a title, a normalised severity, a fingerprint that folds
// repeats together, labels to group and route on, and the observables
// (addresses, hosts, users, hashes, URLs, domains) that enrichment looks up.
// Parsing never panics and costs a few microseconds per alert, so that it is
// never what limits intake.
//
// # Bodies and errors
//
// A body that cannot be used at all (not JSON, the wrong shape, more than
// MaxAlerts alerts) gives a *BodyError whose message names the problem and,
// for syntax errors, the byte where it is. An alert that cannot be used (no
// title, a status other than firing or resolved, a non-object array entry)
// is listed in Batch.Rejected with its index and the rest are kept. Elastic,
// Wazuh, Suricata and generic bodies may be one object, an array of objects
// or JSON lines; in JSON lines a broken line is rejected on its own.
//
// # Severity
//
// Each source's raw severity is mapped to critical, high, medium, low or
// info. The built-in tables (DefaultSeverity returns them as data):
//
//	source        field                         raw value → severity
//	alertmanager  labels.severity               critical → critical; error, high → high;
//	grafana                                     warning, warn, medium → medium; low → low;
//	                                            info, informational, none → info
//	splunk        result.severity, else         critical, high, medium, low as named;
//	              result.urgency                informational, info → info
//	elastic       kibana.alert.severity         critical, high, medium, low as named
//	wazuh         rule.level                    12 and above → critical; 8–11 → high;
//	                                            4–7 → medium; 1–3 → low; 0 → info
//	suricata      alert.severity                1 → high; 2 → medium; 3 → low; 4 and above → info
//	generic/*     the mapping's severity path   critical, fatal, emergency → critical;
//	                                            high, error, severe → high; medium, moderate,
//	                                            warning, warn → medium; low, minor → low;
//	                                            info, informational, information, none → info
//
// A missing or unlisted value is medium for every source: neither paging
// anyone nor hiding the alert. Values are compared lower-cased.
//
// Config.SeverityMap overrides a table per source (alerts.severity_map in
// warroom.yaml). A key is an exact raw value or a numeric range "lo..hi"
// meaning lo ≤ value < hi, with either end left open: for GuardDuty's 0–10
// scale, {"..4": low, "4..7": medium, "7..9": high, "9..": critical}.
// Overrides are tried before the built-in table, exact keys before ranges;
// ranges in one table must not overlap. For generic mappings the mapping's
// own entry comes first, then the "generic" entry, then the generic table.
//
// # Fingerprints
//
// A fingerprint is "<source>:<id>" so that two sources never collide. The
// id is the source's own identifier where the source has a stable one, else
// 32 hex digits of a SHA-256 over the fields that make repeats of the same
// alert the same; an own identifier that is long or holds unusual characters
// is hashed too. What goes in is chosen so that per-event values (event ids,
// search ids, flow ids, times, counters) stay out and the rule and the
// parties it is about stay in.
//
//	alertmanager  fingerprint (a hash of the label set); without one, a hash of the labels
//	grafana       orgId/fingerprint
//	elastic       kibana.alert.uuid, stable while Kibana tracks the alert; without one, a
//	              hash of the rule uuid (or name), kibana.alert.instance.id, host.name,
//	              user.name, source.ip and destination.ip
//	splunk        hash of app, search name and the identifying fields of the result (src,
//	              src_ip, dest, dest_ip, user, host, signature and other CIM names, see
//	              splunkIdentity); sid is per run, so it is left out
//	wazuh         hash of rule.id and agent.name; the alert id is per event
//	suricata      hash of alert.gid, alert.signature_id, src_ip and dest_ip; flow_id is per
//	              connection
//	generic/*     the fingerprint path's value; without it, a hash of the title and the
//	              values of the configured observables
//
// # Labels
//
// Every parser fills the well-known labels where the payload has them, so
// that alerts.group_by and playbook triggers work across sources:
// alertname (the rule or signature name), host (the affected host, lower
// case), user, src_ip, dest_ip and rule (the rule's id). Beyond those:
//
//	alertmanager, grafana  every label as sent; host from host, hostname, nodename or
//	                       the instance label without its port
//	splunk                 app, owner; rule is the search name
//	elastic                rule_uuid, category, rule_type, workflow_status, space, tags
//	wazuh                  level, groups, mitre, agent, agent_id, manager, decoder, location;
//	                       host is agent.name
//	suricata               gid, rev, category, action, dest_port, proto, app_proto, in_iface;
//	                       host is the sensor (EVE's host field), rule the signature id
//	generic/*              one label per configured observable kind with its first value;
//	                       the kinds host/hostname, user/username, ip/src_ip and dest_ip
//	                       also fill the well-known labels
//
// GroupKey joins the labels that alerts.group_by names.
//
// # Observables
//
// Observables come from the structured fields first, through
// ioc.FromFields over the flattened alert (fields whose names say what they
// hold: source.ip, data.srcip, user.name, file.hash.sha256, tls.sni…), and
// then from ioc.Extract over the title and description. Fields that describe
// the rule or point back at the tool (kibana.*, rule.*, the Suricata sensor
// name) are left out. The list is deduplicated and capped at MaxObservables.
//
// # Generic paths
//
// A generic mapping names fields with a small path syntax:
//
//	detail.service.resourceRole       keys separated by dots
//	Resources[0].Id                   an array index; [-1] is the last entry
//	Entities[*].Address               every entry of an array
//	["kibana.alert.rule.name"]        a key that contains dots, quoted as a JSON string
//	$.detail.type                     an optional leading $ or $. (JSONPath habit)
//
// A key applied to an array applies to each entry, so Entities.Address
// equals Entities[*].Address. When a key is missing, the remaining dotted
// keys are also tried joined (kibana.alert.rule.name finds the single key
// "kibana.alert.rule.name"), so flattened documents work without quoting.
// A title, severity or fingerprint path takes the first value reached; a
// description joins all of them. Objects reached are ignored.
//
// # Limits
//
// Titles are cut to MaxTitleRunes on one line, descriptions to
// MaxDescriptionRunes; control and bidirectional-override characters are
// removed. Labels are capped in number and size, URLs must be absolute http
// or https, and Raw keeps the alert's own JSON (one array entry or line, not
// the whole body) only up to MaxRawBytes.
//
// # Times and status
//
// StartsAt comes from startsAt (Alertmanager, Grafana), kibana.alert.start
// or @timestamp (Elastic), result._time (Splunk), timestamp (Wazuh,
// Suricata) and, for generic mappings, the first of the top-level fields
// @timestamp, timestamp, time and TimeGenerated. EndsAt is set only for
// resolved alerts. Timestamps that do not parse are left zero rather than
// rejecting the alert. Only Alertmanager, Grafana and Elastic
// (kibana.alert.status: recovered or untracked) report resolved alerts; the
// other sources and generic mappings always report firing.
package alerts
