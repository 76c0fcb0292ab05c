package alerts

import "strconv"

// grafanaParser reads the Grafana unified alerting webhook, which extends
// the Alertmanager payload with orgId, title, message and, per alert,
// silenceURL, dashboardURL, panelURL, values and valueString.
type grafanaParser struct{ sev severityMapper }

// Parse implements Parser.
func (p grafanaParser) Parse(body []byte) (Batch, error) {
	return parseProm(SourceGrafana, body, p.sev, true)
}

// grafanaDetails applies what Grafana adds to the shared mapping.
func grafanaDetails(d *draft, pa promAlert, orgID int64) {
	// Grafana's fingerprint hashes the labels only, so two organisations
	// sending the same rule would collide without the org in front.
	if pa.Fingerprint != "" && orgID != 0 {
		d.Fingerprint = ownFingerprint(SourceGrafana, strconv.FormatInt(orgID, 10)+"/"+pa.Fingerprint)
	}
	// Grafana's own "no data" and "error" alerts carry the real rule's
	// name in rulename; "DatasourceNoData" alone says nothing.
	if pa.Annotations["summary"] == "" {
		if an := d.Labels["alertname"]; (an == "DatasourceNoData" || an == "DatasourceError") && d.Labels["rulename"] != "" {
			d.Title = d.Labels["rulename"] + " (" + an + ")"
		}
	}
	if d.Description == "" {
		d.Description = pa.ValueString
	}
	d.URL = firstOf(d.URL, pa.PanelURL, pa.DashboardURL)
}
