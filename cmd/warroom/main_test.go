package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/store"
)

// writeConfig writes a config file into a temp dir and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warroom.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// seed opens incidents directly through the service, as the bot would.
func seed(t *testing.T, dbPath string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.Options{})
	for _, title := range []string{"Phishing wave at finance", "Beaconing from host-42", "Old scanner noise"} {
		if _, err := svc.Open(ctx, "slack:U1", bot.NewIncident{Title: title, Severity: "high"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Assign(ctx, "slack:U1", 2, "slack:ULEAD"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Close(ctx, "slack:U1", 3, "noise"); err != nil {
		t.Fatal(err)
	}
}

func TestIncidentListAndShow(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "w.db")
	seed(t, dbPath)
	cfg := writeConfig(t, "database: "+dbPath+"\n")

	out, _, err := runCLI(t, "incident", "list", "--json", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --json is not a JSON array: %v\n%s", err, out)
	}
	if len(list) != 2 || list[0]["id"] != "INC-2" || list[1]["id"] != "INC-1" {
		t.Fatalf("open incidents newest first = %v", list)
	}
	for _, key := range []string{"id", "title", "severity", "status", "commander", "created_at", "alert_count"} {
		if _, ok := list[0][key]; !ok {
			t.Errorf("list --json lacks %q: %v", key, list[0])
		}
	}
	if list[0]["commander"] != "slack:ULEAD" {
		t.Errorf("commander = %v", list[0]["commander"])
	}

	out, _, _ = runCLI(t, "incident", "list", "--all", "--json", "--config", cfg)
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 3 {
		t.Fatalf("list --all = %d incidents (%v)", len(list), err)
	}

	out, _, err = runCLI(t, "incident", "list", "--config", cfg)
	if err != nil || !strings.Contains(out, "Beaconing from host-42") || strings.Contains(out, "Old scanner noise") {
		t.Fatalf("list table:\n%s (%v)", out, err)
	}

	out, _, err = runCLI(t, "incident", "show", "INC-3", "--json", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var show map[string]any
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatal(err)
	}
	if show["status"] != "closed" || show["summary"] != "noise" || len(show["timeline"].([]any)) != 2 {
		t.Fatalf("show INC-3 = %v", show)
	}

	if _, stderr, err := runCLI(t, "incident", "show", "3", "--config", cfg); !errors.Is(err, errUsage) || !strings.Contains(stderr, "INC-N") {
		t.Fatalf("show with a bad id: %v %q", err, stderr)
	}
	if _, _, err := runCLI(t, "incident", "show", "INC-9", "--config", cfg); err == nil || !strings.Contains(err.Error(), "INC-9") {
		t.Fatalf("show of a missing incident: %v", err)
	}

	out, _, err = runCLI(t, "incident", "report", "INC-3", "--config", cfg)
	if err != nil || !strings.HasPrefix(out, "# INC-3: Old scanner noise") || !strings.Contains(out, "## Summary\n\nnoise") {
		t.Fatalf("report INC-3:\n%s (%v)", out, err)
	}
	if _, _, err := runCLI(t, "incident", "report", "INC-9", "--config", cfg); err == nil || !strings.Contains(err.Error(), "INC-9") {
		t.Fatalf("report of a missing incident: %v", err)
	}
}

func TestInspectionNeedsADatabase(t *testing.T) {
	cfg := writeConfig(t, "database: "+filepath.Join(t.TempDir(), "missing.db")+"\n")
	_, _, err := runCLI(t, "incident", "list", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("err = %v", err)
	}
}

func TestAuditVerify(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "w.db")
	seed(t, dbPath)
	cfg := writeConfig(t, "database: "+dbPath+"\n")

	out, _, err := runCLI(t, "audit", "verify", "--config", cfg)
	if err != nil || !strings.Contains(out, "intact: 5 entries") {
		t.Fatalf("fresh log: %v\n%s", err, out)
	}

	// Someone with the database file drops the guards and rewrites a note.
	raw, err := sql.Open("sqlite3", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TRIGGER case_log_no_update`,
		`UPDATE case_log SET body = '{"summary":"nothing happened"}' WHERE seq = 5`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	out, _, err = runCLI(t, "audit", "verify", "--config", cfg)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("tampered log: err = %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(out, "BROKEN at entry 5 (INC-3)") {
		t.Fatalf("output does not name the entry:\n%s", out)
	}
}

func TestConfigErrorsStopStart(t *testing.T) {
	cfg := writeConfig(t, "listen: 127.0.0.1:0\nslak:\n  bot_token: x\n")
	err := run(context.Background(), []string{"serve", "--config", cfg}, nil, io.Discard, io.Discard)
	var cerr *config.Error
	if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "warroom.yaml:2:") {
		t.Fatalf("err = %v, want a config error at line 2", err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"incident"}, {"incident", "list", "extra"}, {"audit"}, {"serve", "--nope"}} {
		if _, _, err := runCLI(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("%v: err = %v, want usage", args, err)
		}
	}
	if out, _, err := runCLI(t, "version"); err != nil || !strings.HasPrefix(out, "warroom ") {
		t.Errorf("version: %q %v", out, err)
	}
}

func TestServeWithoutChatPlatform(t *testing.T) {
	cfg := config.Default()
	cfg.Database = filepath.Join(t.TempDir(), "w.db")
	a, err := newApp(context.Background(), cfg, newLogger(io.Discard, "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	srv := httptest.NewServer(a.handler)
	defer srv.Close()
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "warroom_outbox_pending 0"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %q", path, res.StatusCode, body)
		}
	}
}

// TestServeEndToEnd runs the real server loop with Slack pointed at the fake.
func TestServeEndToEnd(t *testing.T) {
	fake := fakeslack.NewT(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, `
listen: 127.0.0.1:0
database: `+filepath.Join(dir, "w.db")+`
slack:
  bot_token: ${TEST_SLACK_TOKEN}
  signing_secret: ${TEST_SLACK_SECRET}
  api_url: `+fake.APIURL()+`
incidents:
  responders: [URESP]
`)
	t.Setenv("TEST_SLACK_TOKEN", fake.BotToken())
	t.Setenv("TEST_SLACK_SECRET", "s3cret")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := serveApp(t, cfg, ln, "debug")
	base, logs := s.base, s.logs

	form := url.Values{"command": {"/incident"}, "text": {"new Ransomware on FS01 --sev critical"}, "user_id": {"UANALYST"},
		"channel_id": {"CGENERAL"}, "response_url": {fake.NewResponseURL()}}
	body := []byte(form.Encode())
	req, _ := http.NewRequest(http.MethodPost, base+"/slack/commands", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	fakeslack.SignRequest(req, "s3cret", time.Now(), body)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(ack), "INC-1") {
		t.Fatalf("ack: %d %s", res.StatusCode, ack)
	}

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	err = fake.WaitFor(wait, func(s *fakeslack.State) bool {
		ch, ok := s.ChannelByName("inc-1-ransomware-on-fs01")
		return ok && len(s.Pins(ch.ID)) == 1
	})
	if err != nil {
		t.Fatalf("channel with pinned summary never appeared: %v", err)
	}
	res, err = http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("readyz = %d with Slack authenticated", res.StatusCode)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if strings.Contains(logs.String(), fake.BotToken()) || strings.Contains(logs.String(), "s3cret") {
		t.Errorf("a secret reached the log:\n%s", logs.String())
	}
}

func TestIOCExtract(t *testing.T) {
	var out, errb bytes.Buffer
	in := strings.NewReader("beacon to 203.0.113[.]7 from hxxps://evil.example[.]com/x and again 203.0.113.7\n")
	if err := run(context.Background(), []string{"ioc", "extract"}, in, &out, &errb); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v struct{ Type, Value string }
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, v.Type+" "+v.Value)
	}
	want := []string{"ipv4 203.0.113.7", "url https://evil.example.com/x", "domain evil.example.com"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPlaybookValidate(t *testing.T) {
	// The example playbooks validate with the example config and the real actions.
	out, _, err := runCLI(t, "playbook", "validate", "--config", "../../examples/warroom.yaml", "../../examples/playbooks")
	if err != nil || !strings.Contains(out, "4 playbooks valid") {
		t.Fatalf("examples: %v\n%s", err, out)
	}
	// A playbook with a typo is reported as file:line:col, exit 1.
	dir := t.TempDir()
	bad := "name: broken\non:\n  command: broken\nsteps:\n  - id: a\n    uses: http.reqest\n    with: {url: x}\n"
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte(bad), 0o644)
	out, _, err = runCLI(t, "playbook", "validate", dir)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "broken.yaml:6:11:") || !strings.Contains(out, "http.reqest") {
		t.Fatalf("broken playbook: %v\n%s", err, out)
	}
	// The server refuses to start on it, naming the file and line.
	cfg := writeConfig(t, "listen: 127.0.0.1:0\ndatabase: "+filepath.Join(dir, "w.db")+"\nplaybooks: "+dir+"\n")
	err = run(context.Background(), []string{"serve", "--config", cfg}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "broken.yaml:6:11:") {
		t.Fatalf("serve with a broken playbook: %v", err)
	}
}

func TestAlertsReplay(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, "listen: "+ln.Addr().String()+"\ndatabase: "+filepath.Join(dir, "w.db")+"\nalerts: {token: replay-token-0123456789}\n")
	out, _, err := runCLI(t, "alerts", "replay", "../../examples/alerts/alertmanager.json", "--source", "alertmanager", "--dry-run", "--config", cfgPath)
	if err != nil || !strings.Contains(out, `"fingerprint": "alertmanager:`) || strings.Contains(out, "server answered") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if _, stderr, err := runCLI(t, "alerts", "replay", "x.json", "--config", cfgPath); !errors.Is(err, errUsage) || !strings.Contains(stderr, "--source") {
		t.Fatalf("missing --source: %v %q", err, stderr)
	}

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := serveApp(t, cfg, ln, "error")
	out, _, err = runCLI(t, "alerts", "replay", "../../examples/alerts/alertmanager.json", "--source", "alertmanager", "--config", cfgPath)
	s.stop()
	if err != nil || !strings.Contains(out, "server answered 202") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
}

func TestDigestDryRun(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "w.db")
	seed(t, dbPath)
	cfg := writeConfig(t, "database: "+dbPath+"\ndigests:\n  - name: morning\n    schedule: \"CRON_TZ=Europe/Berlin 0 9 * * 1-5\"\n    channel: slack:C0SECOPS\n")
	out, _, err := runCLI(t, "digest", "morning", "--dry-run", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"morning digest", "2 open", "INC-1", "INC-2", "commander slack:ULEAD", "CET"} {
		if !strings.Contains(out, want) && !(want == "CET" && strings.Contains(out, "CEST")) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "INC-3") {
		t.Errorf("a closed incident is in the digest:\n%s", out)
	}
	if _, _, err := runCLI(t, "digest", "evening", "--dry-run", "--config", cfg); err == nil || !strings.Contains(err.Error(), "evening") {
		t.Errorf("unknown digest: %v", err)
	}
}
