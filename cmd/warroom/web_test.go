package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/store"
)

// Test accounts and tokens of webConfig.
const (
	testPassword = "correct horse battery staple"
	leadToken    = "lead-token-0123456789abcdef"
	plainToken   = "plain-token-0123456789abcdef"
)

// edr is a fake EDR that records the hosts it was asked to isolate.
type edr struct {
	mu    sync.Mutex
	hosts []string
	srv   *httptest.Server
}

func newEDR(t *testing.T) *edr {
	e := &edr{}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Host string }
		json.NewDecoder(r.Body).Decode(&body)
		e.mu.Lock()
		e.hosts = append(e.hosts, body.Host)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *edr) isolated() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.hosts...)
}

// webConfig is a config with two leads (alice, bob), an analyst (carl),
// two API tokens and the test /contain playbook.
func webConfig(t *testing.T, e *edr) *config.Config {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDR_URL", e.srv.URL)
	abs, err := filepath.Abs("testdata/playbooks")
	if err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, fmt.Sprintf(`
listen: 127.0.0.1:0
database: %s
playbooks: %s
playbook_env: [EDR_URL]
roles:
  lead: []
  analyst: []
commands:
  "incident close": lead
local:
  users:
    - {name: alice, role: lead, password_hash: "%s"}
    - {name: bob, role: lead, password_hash: "%s"}
    - {name: carl, role: analyst, password_hash: "%s"}
api:
  tokens:
    - {name: ci, token: %s, role: lead}
    - {name: plain, token: %s}
`, filepath.Join(t.TempDir(), "w.db"), abs, hash, hash, hash, leadToken, plainToken))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// started is a running app on a loopback port.
type started struct {
	*app
	base string
	logs *logBuffer
	// stop ends serve and returns its error; the test's end calls it too.
	stop func() error
}

// startApp runs the app wired from cfg on a loopback port until the test
// ends, logging at info.
func startApp(t *testing.T, cfg *config.Config) *started {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveApp(t, cfg, ln, "info")
}

// serveApp runs the app wired from cfg on ln, logging at level, until the
// test ends or stop is called; serve's error fails the test.
func serveApp(t *testing.T, cfg *config.Config, ln net.Listener, level string) *started {
	t.Helper()
	logs := &logBuffer{}
	a, err := newApp(context.Background(), cfg, newLogger(logs, level))
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, ln) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &started{app: a, base: "http://" + ln.Addr().String(), logs: logs, stop: stop}
}

// eventually waits for cond, which the running server makes true in the
// background (the outbox, the playbook engine).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is an HTTP client with its own cookies: one person's browser.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var (
	formTokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	metaTokenRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) get(path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) postForm(path string, form url.Values) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login logs in and returns the status of the answer to the form.
func (b *browser) login(name, password string) int {
	b.t.Helper()
	_, page := b.get("/login")
	m := formTokenRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token in the login form:\n%s", page)
	}
	status, _ := b.postForm("/login", url.Values{"csrf": {m[1]}, "name": {name}, "password": {password}})
	if status == http.StatusSeeOther {
		_, home := b.get("/")
		if m := metaTokenRE.FindStringSubmatch(home); m != nil {
			b.csrf = m[1]
		}
	}
	return status
}

// api calls the JSON API with the session cookie and, if csrf, its token.
func (b *browser) api(method, path, body string, csrf bool) (int, string) {
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if csrf {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	return b.do(req)
}

// call makes an API request with a bearer token ("" for none).
func call(t *testing.T, base, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func replyText(t *testing.T, body string) string {
	t.Helper()
	var r struct{ Text string }
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("reply is not JSON: %v\n%s", err, body)
	}
	return r.Text
}

func TestAPI(t *testing.T) {
	e := newEDR(t)
	s := startApp(t, webConfig(t, e))
	ctx := context.Background()

	status, body := call(t, s.base, "POST", "/api/commands", leadToken, `{"text": "/incident new Beaconing from host-42 --severity high"}`)
	if status != 200 || !strings.Contains(replyText(t, body), "Opening INC-1 (high)") {
		t.Fatalf("new incident: %d %s", status, body)
	}
	eventually(t, "the incident's summary in its local room", func() bool {
		_, body := call(t, s.base, "GET", "/api/incidents/INC-1/messages", plainToken, "")
		return strings.Contains(body, "INC-1 · Beaconing from host-42")
	})

	var list bytes.Buffer
	if err := incidentList(ctx, s.db, false, true, &list); err != nil {
		t.Fatal(err)
	}
	var show bytes.Buffer
	if err := incidentShow(ctx, s.db, 1, true, &show); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, method, path, token, body string
		status                          int
		want                            string // in the body
		exact                           string // the whole body
	}{
		{name: "list without auth", method: "GET", path: "/api/incidents", status: 401, want: "bearer token"},
		{name: "list with a wrong token", method: "GET", path: "/api/incidents", token: "wrong-token-0123456789", status: 401},
		{name: "list", method: "GET", path: "/api/incidents", token: plainToken, status: 200, exact: list.String()},
		{name: "show", method: "GET", path: "/api/incidents/INC-1", token: plainToken, status: 200, exact: show.String()},
		{name: "show by number", method: "GET", path: "/api/incidents/1", token: plainToken, status: 200, want: `"id": "INC-1"`},
		{name: "show unknown", method: "GET", path: "/api/incidents/INC-99", token: plainToken, status: 404, want: "INC-99 does not exist"},
		{name: "show malformed", method: "GET", path: "/api/incidents/nope", token: plainToken, status: 400},
		{name: "show without auth", method: "GET", path: "/api/incidents/INC-1", status: 401},
		{name: "log", method: "GET", path: "/api/incidents/INC-1/log", token: plainToken, status: 200, want: `"kind": "incident.opened"`},
		{name: "log without auth", method: "GET", path: "/api/incidents/INC-1/log", status: 401},
		{name: "log unknown", method: "GET", path: "/api/incidents/INC-7/log", token: plainToken, status: 404},
		{name: "runs", method: "GET", path: "/api/incidents/INC-1/runs", token: plainToken, status: 200, exact: "[]\n"},
		{name: "runs without auth", method: "GET", path: "/api/incidents/INC-1/runs", status: 401},
		{name: "messages", method: "GET", path: "/api/incidents/INC-1/messages", token: plainToken, status: 200, want: "INC-1 · Beaconing from host-42"},
		{name: "approvals", method: "GET", path: "/api/approvals", token: plainToken, status: 200, exact: "[]\n"},
		{name: "approvals without auth", method: "GET", path: "/api/approvals", status: 401},
		{name: "me", method: "GET", path: "/api/me", token: leadToken, status: 200, want: `"actor": "api:ci"`},
		{name: "alerts", method: "GET", path: "/api/alerts?incident=INC-1", token: plainToken, status: 200, exact: "[]\n"},
		{name: "alerts without incident", method: "GET", path: "/api/alerts", token: plainToken, status: 400},
		{name: "alerts without auth", method: "GET", path: "/api/alerts?incident=INC-1", status: 401},
		{name: "command without auth", method: "POST", path: "/api/commands", body: `{"text": "/incident list"}`, status: 401},
		{name: "command not JSON", method: "POST", path: "/api/commands", token: plainToken, body: `/incident list`, status: 400},
		{name: "not a slash command", method: "POST", path: "/api/commands", token: plainToken, body: `{"text": "hello"}`, status: 400},
		{name: "command in an unknown incident", method: "POST", path: "/api/incidents/INC-9/commands", token: leadToken, body: `{"text": "/incident show"}`, status: 404},
		{name: "command in the incident", method: "POST", path: "/api/incidents/INC-1/commands", token: leadToken,
			body: `{"text": "/incident status contained"}`, status: 200, want: "INC-1 is now contained."},
		{name: "role refused", method: "POST", path: "/api/incidents/INC-1/commands", token: plainToken,
			body: `{"text": "/incident close done"}`, status: 200, want: "Not allowed: /incident close needs role lead."},
		{name: "decide unknown approval", method: "POST", path: "/api/approvals/42/approve", token: leadToken, status: 404},
		{name: "decide without auth", method: "POST", path: "/api/approvals/1/approve", status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, s.base, tt.method, tt.path, tt.token, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.want != "" && !strings.Contains(body, tt.want) {
				t.Errorf("body lacks %q:\n%s", tt.want, body)
			}
			if tt.exact != "" && body != tt.exact {
				t.Errorf("body:\n%s\nwant:\n%s", body, tt.exact)
			}
		})
	}
	if in, _ := s.db.Incident(ctx, 1); in.Status != "contained" {
		t.Errorf("status = %s after the API command", in.Status)
	}
	entries, _ := s.db.Entries(ctx, 1, 0)
	var refused bool
	for _, e := range entries {
		if e.Kind == "command.refused" && e.Actor == "api:plain" {
			refused = true
		}
	}
	if !refused {
		t.Error("the refused command is not in the case log")
	}
}

// TestApprovalsFourEyes runs /contain as one lead and decides it through
// the API and the web forms: the requester is refused, another lead's
// approval lets the run call the EDR.
func TestApprovalsFourEyes(t *testing.T) {
	e := newEDR(t)
	s := startApp(t, webConfig(t, e))
	ctx := context.Background()

	alice, bob, carl := newBrowser(t, s.base), newBrowser(t, s.base), newBrowser(t, s.base)
	for _, b := range []struct {
		b    *browser
		name string
	}{{alice, "alice"}, {bob, "bob"}, {carl, "carl"}} {
		if status := b.b.login(b.name, testPassword); status != http.StatusSeeOther || b.b.csrf == "" {
			t.Fatalf("%s: login status %d", b.name, status)
		}
	}
	status, body := alice.api("POST", "/api/commands", `{"text": "/incident new Beaconing --sev high"}`, true)
	if status != 200 {
		t.Fatalf("new: %d %s", status, body)
	}
	status, body = alice.api("POST", "/api/incidents/INC-1/commands", `{"text": "/contain host-42 suspicious beacon"}`, true)
	if status != 200 || !strings.Contains(replyText(t, body), "Started contain") {
		t.Fatalf("contain: %d %s", status, body)
	}
	var pending []struct{ ID int64 }
	eventually(t, "the approval request", func() bool {
		_, body := call(t, s.base, "GET", "/api/approvals", plainToken, "")
		json.Unmarshal([]byte(body), &pending)
		return len(pending) == 1
	})
	_, page := alice.get("/incidents/INC-1")
	m := regexp.MustCompile(`name="action" value="approval.approve">\s*<input type="hidden" name="value" value="([0-9a-f]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no Approve button in the room:\n%s", page)
	}
	token := m[1]
	click := func(b *browser, csrf string) (int, string) {
		return b.postForm("/click", url.Values{"csrf": {csrf}, "action": {"approval.approve"}, "value": {token}, "back": {"/incidents/INC-1"}})
	}

	if status, _ := click(alice, ""); status != http.StatusForbidden {
		t.Errorf("a click without the CSRF token: status %d, want 403", status)
	}
	if status, _ := click(alice, bob.csrf); status != http.StatusForbidden {
		t.Errorf("a click with another session's CSRF token: status %d, want 403", status)
	}
	if status, body := alice.api("POST", fmt.Sprintf("/api/approvals/%d/approve", pending[0].ID), "", false); status != http.StatusForbidden {
		t.Errorf("an API POST with the cookie and no CSRF token: %d %s", status, body)
	}
	if status, body := click(alice, alice.csrf); status != 200 || !strings.Contains(body, "four-eyes") {
		t.Errorf("the requester approving her own run: %d, want a four-eyes refusal:\n%s", status, body)
	}
	if status, body := carl.api("POST", fmt.Sprintf("/api/approvals/%d/approve", pending[0].ID), "", true); status != 200 ||
		!strings.Contains(replyText(t, body), "needs role lead") {
		t.Errorf("an analyst approving: %d %s", status, body)
	}
	if got := e.isolated(); len(got) != 0 {
		t.Fatalf("the EDR was called before approval: %v", got)
	}
	if status, body := click(bob, bob.csrf); status != 200 || !strings.Contains(body, "Approved: contain goes on.") {
		t.Fatalf("bob approving: %d\n%s", status, body)
	}
	eventually(t, "the EDR call", func() bool { return len(e.isolated()) == 1 })
	if got := e.isolated(); got[0] != "host-42" {
		t.Errorf("isolated %v", got)
	}
	eventually(t, "the run to finish", func() bool {
		runs, _ := s.db.Runs(ctx, 1, 0)
		return len(runs) == 1 && runs[0].Status == "succeeded"
	})
	kinds := map[string]string{}
	entries, _ := s.db.Entries(ctx, 1, 0)
	for _, e := range entries {
		kinds[e.Kind] = e.Actor
	}
	if kinds["approval.refused"] == "" || kinds["approval.approved"] != "local:bob" {
		t.Errorf("case log kinds and actors: %v", kinds)
	}
	_, body = call(t, s.base, "GET", "/api/incidents/INC-1/runs", plainToken, "")
	if !strings.Contains(body, `"status": "succeeded"`) || !strings.Contains(body, `"id": "isolate"`) {
		t.Errorf("runs: %s", body)
	}
}

func TestCSRFOnForms(t *testing.T) {
	s := startApp(t, webConfig(t, newEDR(t)))
	alice := newBrowser(t, s.base)
	if status := alice.login("alice", testPassword); status != http.StatusSeeOther {
		t.Fatalf("login: %d", status)
	}
	for _, tt := range []struct {
		name, path string
		form       url.Values
		status     int
	}{
		{"command without token", "/command", url.Values{"text": {"/incident new x"}}, 403},
		{"command with a wrong token", "/command", url.Values{"text": {"/incident new x"}, "csrf": {"forged"}}, 403},
		{"logout without token", "/logout", nil, 403},
		{"command with the token", "/command", url.Values{"text": {"/incident new Phish"}, "csrf": {alice.csrf}}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := alice.postForm(tt.path, tt.form); status != tt.status {
				t.Errorf("status %d, want %d: %.300s", status, tt.status, body)
			}
		})
	}
	ins, _ := s.db.Incidents(context.Background(), store.IncidentFilter{})
	if len(ins) != 1 {
		t.Errorf("incidents = %d, want only the one with a valid token", len(ins))
	}
	// A login form posted without the cookie it was issued with (another
	// site posting it) is refused.
	anon := newBrowser(t, s.base)
	if status, _ := anon.postForm("/login", url.Values{"csrf": {"x"}, "name": {"alice"}, "password": {testPassword}}); status != http.StatusForbidden {
		t.Errorf("login without its form cookie: %d, want 403", status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	s := startApp(t, webConfig(t, newEDR(t)))
	b := newBrowser(t, s.base)
	for i := range 5 {
		if status := b.login("alice", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, status)
		}
	}
	if status := b.login("alice", "wrong"); status != http.StatusTooManyRequests {
		t.Errorf("attempt 6: %d, want 429", status)
	}
	if status := b.login("alice", testPassword); status != http.StatusTooManyRequests {
		t.Errorf("the right password while limited: %d, want 429", status)
	}
	if !strings.Contains(s.logs.String(), "login rate-limited") {
		t.Error("the limit is not logged")
	}
}

func TestPagesNeedLogin(t *testing.T) {
	s := startApp(t, webConfig(t, newEDR(t)))
	anon := newBrowser(t, s.base)
	for _, path := range []string{"/", "/incidents/INC-1", "/approvals", "/playbooks", "/audit", "/events"} {
		status, _ := anon.get(path)
		if status != http.StatusSeeOther {
			t.Errorf("%s: %d, want a redirect to log in", path, status)
		}
	}
	alice := newBrowser(t, s.base)
	alice.login("alice", testPassword)
	for path, want := range map[string]string{
		"/":          "Incidents",
		"/approvals": "Nothing is waiting for approval",
		"/playbooks": "/contain",
		"/audit":     "Chain intact",
		"/nope/x":    "404",
	} {
		status, body := alice.get(path)
		if path == "/nope/x" {
			if status != 404 {
				t.Errorf("%s: %d", path, status)
			}
			continue
		}
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want %q in:\n%.400s", path, status, want, body)
		}
	}
}

// TestFirstStart covers `warroom serve` with no accounts: an admin is
// created once, its password printed once, and it survives a restart.
func TestFirstStart(t *testing.T) {
	cfg := config.Default()
	cfg.Database = filepath.Join(t.TempDir(), "w.db")
	cfg.Listen = "127.0.0.1:0"
	s := startApp(t, cfg)
	m := regexp.MustCompile(`name=admin password=(\S+)`).FindStringSubmatch(s.logs.String())
	if m == nil {
		t.Fatalf("no password in the log:\n%s", s.logs.String())
	}
	b := newBrowser(t, s.base)
	if status := b.login("admin", m[1]); status != http.StatusSeeOther {
		t.Fatalf("admin login: %d", status)
	}
	status, body := b.api("POST", "/api/commands", `{"text": "/incident new Phishing wave --severity high"}`, true)
	if status != 200 || !strings.Contains(body, "Opening INC-1 (high): Phishing wave") {
		t.Fatalf("new incident: %d %s", status, body)
	}
	eventually(t, "the room", func() bool {
		_, page := b.get("/")
		return strings.Contains(page, "Phishing wave")
	})

	again, err := newApp(context.Background(), cfg, newLogger(io.Discard, "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer again.close()
	if len(again.web.accounts) != 1 || again.web.accounts[0].Name != "admin" ||
		bcrypt.CompareHashAndPassword([]byte(again.web.accounts[0].PasswordHash), []byte(m[1])) != nil {
		t.Errorf("after a restart the admin is not the same: %+v", again.web.accounts)
	}
}

func TestDemo(t *testing.T) {
	cfg := config.Default()
	cfg.Database = filepath.Join(t.TempDir(), "w.db")
	a, err := newApp(context.Background(), cfg, newLogger(io.Discard, "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	dir := filepath.Join("..", "..", demoDir)
	if err := loadDemo(context.Background(), a, dir); err != nil {
		t.Fatal(err)
	}
	ins, err := a.db.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil || len(ins) < 3 {
		t.Fatalf("demo incidents = %d (%v), want a populated dashboard", len(ins), err)
	}
	if err := loadDemo(context.Background(), a, dir); err != nil {
		t.Fatal(err)
	}
	if again, _ := a.db.Incidents(context.Background(), store.IncidentFilter{}); len(again) != len(ins) {
		t.Errorf("loading the demo twice opened %d more incidents", len(again)-len(ins))
	}
	if err := loadDemo(context.Background(), a, filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "repository root") {
		t.Errorf("missing demo dir: %v", err)
	}
}

// TestPrivateIncidentsInTheWebRoom: the web room keeps a private
// incident's promise: its opener and leads see it, an analyst does not,
// not in the list, its room, its log, its alerts or by name in a command.
func TestPrivateIncidentsInTheWebRoom(t *testing.T) {
	s := startApp(t, webConfig(t, newEDR(t)))
	status, body := call(t, s.base, "POST", "/api/commands", plainToken, `{"text": "/incident new Insider case --private"}`)
	if status != 200 || !strings.Contains(replyText(t, body), "Opening INC-1") {
		t.Fatalf("new private incident: %d %s", status, body)
	}
	call(t, s.base, "POST", "/api/commands", plainToken, `{"text": "/incident new Phishing wave"}`)

	for _, token := range []string{plainToken, leadToken} {
		if _, body := call(t, s.base, "GET", "/api/incidents", token, ""); !strings.Contains(body, "Insider case") {
			t.Errorf("the opener or a lead does not see the private incident:\n%s", body)
		}
	}
	carl := newBrowser(t, s.base)
	if status := carl.login("carl", testPassword); status != http.StatusSeeOther {
		t.Fatalf("carl's login: %d", status)
	}
	_, list := carl.api("GET", "/api/incidents", "", false)
	if strings.Contains(list, "Insider case") || !strings.Contains(list, "Phishing wave") {
		t.Errorf("an analyst's incident list:\n%s", list)
	}
	if _, page := carl.get("/"); strings.Contains(page, "Insider case") {
		t.Error("the incident list page shows an analyst the private incident")
	}
	for _, path := range []string{"/incidents/INC-1", "/api/incidents/INC-1", "/api/incidents/INC-1/log", "/api/incidents/INC-1/messages", "/api/alerts?incident=INC-1"} {
		if status, body := carl.get(path); status != http.StatusNotFound || strings.Contains(body, "Insider case") {
			t.Errorf("%s for an analyst: %d", path, status)
		}
	}
	for _, cmd := range []string{"/incident timeline INC-1", "/playbook status INC-1"} {
		_, reply := carl.api("POST", "/api/commands", `{"text": "`+cmd+`"}`, true)
		if !strings.Contains(reply, "INC-1 does not exist") {
			t.Errorf("an analyst naming the private incident in %s: %s", cmd, reply)
		}
	}
}
