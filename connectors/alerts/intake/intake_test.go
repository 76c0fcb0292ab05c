package intake_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/connectors/alerts"
	"github.com/warroom-bot/warroom/connectors/alerts/intake"
	"github.com/warroom-bot/warroom/store"
)

const token = "alert-token-0123456789"

// amPayload is an Alertmanager webhook (version 4) carrying alerts for the
// given fingerprints; an empty fingerprint makes an alert with no usable title.
func amPayload(fps ...string) []byte {
	var as []map[string]any
	for _, fp := range fps {
		labels := map[string]string{"alertname": "SSHBruteForce", "host": "web-01", "severity": "critical"}
		if fp == "" {
			labels = map[string]string{}
		}
		as = append(as, map[string]any{
			"status": "firing", "labels": labels,
			"annotations": map[string]string{"summary": "SSH brute force from 203.0.113.7"},
			"startsAt":    "2026-11-22T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus.example.com/graph", "fingerprint": fp,
		})
		if fp == "" {
			as[len(as)-1]["annotations"] = map[string]string{}
		}
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": "{}:{alertname=\"SSHBruteForce\"}", "status": "firing", "receiver": "warroom",
		"groupLabels": map[string]string{}, "commonLabels": map[string]string{}, "commonAnnotations": map[string]string{},
		"externalURL": "http://alertmanager.example.com", "alerts": as,
	})
	return b
}

type env struct {
	db  *store.DB
	srv *httptest.Server
}

func newEnv(t testing.TB, cfg intake.Config) *env {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	parsers, err := alerts.Parsers(alerts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	intake.New(cfg, parsers, bot.NewService(db, bot.Options{}), nil).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{db: db, srv: srv}
}

func (e *env) post(t *testing.T, path string, body []byte, header map[string]string) (int, intake.Response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r intake.Response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	return res.StatusCode, r
}

func (e *env) incidents(t *testing.T) []store.Incident {
	t.Helper()
	ins, err := e.db.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestRejectedRequestsStoreNothing(t *testing.T) {
	big := bytes.Repeat([]byte(" "), 2048)
	tests := []struct {
		name   string
		cfg    intake.Config
		path   string
		body   []byte
		header map[string]string
		status int
		msg    string
	}{
		{"no token configured", intake.Config{}, "/alerts/alertmanager", amPayload("a1"), bearer(token), 403, "not configured"},
		{"missing token", intake.Config{Token: token}, "/alerts/alertmanager", amPayload("a1"), nil, 401, "token"},
		{"wrong token", intake.Config{Token: token}, "/alerts/alertmanager", amPayload("a1"), bearer("nope"), 401, "token"},
		{"default token where the source has its own", intake.Config{Token: token, Sources: map[string]intake.Auth{"alertmanager": {Token: "own-token-0123456789"}}},
			"/alerts/alertmanager", amPayload("a1"), bearer(token), 401, "token"},
		{"bad signature", intake.Config{Sources: map[string]intake.Auth{"alertmanager": {HMACSecret: "k", HMACHeader: "X-Sig"}}},
			"/alerts/alertmanager", amPayload("a1"), map[string]string{"X-Sig": "sha256=00"}, 401, "signature"},
		{"malformed JSON", intake.Config{Token: token}, "/alerts/alertmanager", []byte(`{"alerts": [`), bearer(token), 400, "alertmanager"},
		{"too large", intake.Config{Token: token, MaxBody: 1024}, "/alerts/alertmanager", append(amPayload("a1"), big...), bearer(token), 413, "limit"},
		{"unknown source", intake.Config{Token: token}, "/alerts/nagios", amPayload("a1"), bearer(token), 404, "unknown alert source"},
		{"escaped slash around a source's own token", intake.Config{Token: token, Sources: map[string]intake.Auth{"generic": {Token: "generic-token-0123456789"}}},
			"/alerts/generic%2Fguardduty", amPayload("a1"), bearer(token), 404, "unknown alert source"},
		{"only bad alerts", intake.Config{Token: token}, "/alerts/alertmanager", amPayload(""), bearer(token), 400, "usable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg)
			status, r := e.post(t, tc.path, tc.body, tc.header)
			if status != tc.status || !strings.Contains(r.Error, tc.msg) {
				t.Fatalf("got %d %q, want %d containing %q", status, r.Error, tc.status, tc.msg)
			}
			if ins := e.incidents(t); len(ins) != 0 {
				t.Fatalf("stored %d incidents", len(ins))
			}
		})
	}
}

func TestAcceptedAlertsFold(t *testing.T) {
	e := newEnv(t, intake.Config{Token: token})
	status, r := e.post(t, "/alerts/alertmanager", amPayload("a1", "", "a2"), bearer(token))
	if status != http.StatusAccepted || r.Accepted != 2 || len(r.Rejected) != 1 || r.Rejected[0].Index != 1 {
		t.Fatalf("batch with one bad alert: %d %+v", status, r)
	}
	// The same payload again attaches to the incidents it opened.
	status, r = e.post(t, "/alerts/alertmanager", amPayload("a1", "a2"), bearer(token))
	if status != http.StatusAccepted || r.Results[0].Outcome != bot.AlertRepeated {
		t.Fatalf("repeat: %d %+v", status, r)
	}
	ins := e.incidents(t)
	if len(ins) != 2 || ins[0].AlertCount+ins[1].AlertCount != 4 || ins[0].Severity != "critical" {
		t.Fatalf("incidents = %+v", ins)
	}
}

func TestHMACSignedAlert(t *testing.T) {
	e := newEnv(t, intake.Config{Sources: map[string]intake.Auth{"alertmanager": {HMACSecret: "k3y", HMACHeader: "X-Sig"}}})
	body := amPayload("a1")
	mac := hmac.New(sha256.New, []byte("k3y"))
	mac.Write(body)
	status, r := e.post(t, "/alerts/alertmanager", body, map[string]string{"X-Sig": "sha256=" + hex.EncodeToString(mac.Sum(nil))})
	if status != http.StatusAccepted || r.Accepted != 1 {
		t.Fatalf("signed alert: %d %+v", status, r)
	}
}
