package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/local"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

// pages holds one parsed template set per page, each with the shared layout.
type pages struct{ byName map[string]*template.Template }

var funcs = template.FuncMap{
	"user": userName,
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return bot.Age(time.Since(t)) + " ago"
	},
	"age": func(t time.Time) string { return bot.Age(time.Since(t)) },
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"describe": describe,
	"join":     strings.Join,
	"ref":      store.FormatRef,
	"safeURL": func(s string) template.URL {
		// Only web links: a message's URL comes from alerts and users.
		if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			return template.URL(u.String())
		}
		return ""
	},
	"lower": strings.ToLower,
	"msg":   func(m bot.Message, csrf, back string) msgArgs { return msgArgs{M: m, CSRF: csrf, Back: back} },
	"box": func(action, api, csrf, placeholder, value string) boxArgs {
		return boxArgs{Action: action, API: api, CSRF: csrf, Placeholder: placeholder, Value: value}
	},
	"appr": func(a ApprovalJSON, csrf, back string) apprArgs {
		return apprArgs{A: a, CSRF: csrf, Back: back, Token: a.token}
	},
}

// msgArgs, boxArgs and apprArgs carry a page's context into shared templates.
type msgArgs struct {
	M          bot.Message
	CSRF, Back string
}

type boxArgs struct{ Action, API, CSRF, Placeholder, Value string }

type apprArgs struct {
	A                 ApprovalJSON
	CSRF, Back, Token string
}

// describe renders a case-log entry in one line. Kinds the chat commands
// know are described as /incident timeline does; the rest (playbook runs,
// approvals, enrichment) as their body's fields, which beats raw JSON.
func describe(e store.Entry) string {
	d := commands.Describe(e)
	if d != string(e.Body) {
		return d
	}
	var body map[string]any
	if json.Unmarshal(e.Body, &body) != nil || len(body) == 0 {
		return d
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := body[k]
		var s string
		switch v := v.(type) {
		case string:
			s = v
		case float64:
			s = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			b, _ := json.Marshal(v)
			s = string(b)
		}
		parts = append(parts, k+": "+s)
	}
	return strings.Join(parts, " · ")
}

func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range []string{"login", "incidents", "room", "approvals", "playbooks", "audit", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title string
	Nav   string
	User  Identity
	CSRF  string
	// Pending is the number of approvals waiting, shown in the navigation.
	Pending int
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v := view{Title: title, Nav: name, Data: data}
	if id, ok := r.Context().Value(ctxKey{}).(Identity); ok {
		v.User = id
		if id.session != nil {
			v.CSRF = id.session.csrf
		}
		// The same queue the approvals page shows: a private incident's
		// approvals are not counted for those who cannot see it.
		if aps, err := s.pendingApprovals(r.Context(), id); err == nil {
			v.Pending = len(aps)
		}
	}
	var buf bytes.Buffer
	if err := s.pages.byName[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", "Error", msg)
}

func (s *Server) failInternal(w http.ResponseWriter, r *http.Request, what string, err error) {
	ref := randomToken()[:6]
	s.log.Error(what, "ref", ref, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "Something went wrong (reference "+ref+"). The details are in warroom's log.")
}

// loginView is the login form.
type loginView struct {
	Next, Name, Error, Token string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if id, ok := s.identify(r); ok && id.session != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, loginView{Next: r.URL.Query().Get("next")})
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, lv loginView) {
	lv.Token = randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: lv.Token, Path: "/login", HttpOnly: true,
		Secure: s.opts.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	s.render(w, r, status, "login", "Log in", lv)
}

// login checks a name and password. The form carries a token matching a
// cookie set with it, so another site cannot log a browser in as someone
// else; failures are rate-limited per client and per name.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	lv := loginView{Next: r.PostFormValue("next"), Name: name}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equal(c.Value, r.PostFormValue(csrfField)) {
		lv.Error = "The login form expired. Please try again."
		s.showLogin(w, r, http.StatusForbidden, lv)
		return
	}
	keys := loginKeys(clientIP(r), name)
	if !s.limiter.attempt(keys...) {
		s.log.Warn("login rate-limited", "name", name, "addr", clientIP(r))
		lv.Error = "Too many failed logins. Wait a minute and try again."
		w.Header().Set("Retry-After", "60")
		s.showLogin(w, r, http.StatusTooManyRequests, lv)
		return
	}
	a, ok := s.checkPassword(name, password)
	if !ok {
		s.log.Warn("login failed", "name", name, "addr", clientIP(r))
		lv.Error = "Wrong name or password."
		s.showLogin(w, r, http.StatusUnauthorized, lv)
		return
	}
	s.limiter.succeeded(keys...)
	sess := s.sessions.create(a.Name)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.id, Path: "/", HttpOnly: true,
		Secure: s.opts.SecureCookies, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1})
	s.log.Info("logged in", "name", a.Name, "addr", clientIP(r))
	http.Redirect(w, r, localPath(lv.Next), http.StatusSeeOther)
}

// localPath keeps a redirect on this site: only absolute paths. Control
// characters are refused outright because browsers drop tabs and newlines
// from a URL before resolving it, which turns "/\t/evil.example" into
// "//evil.example".
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.ContainsFunc(next, unicode.IsControl) {
		return "/"
	}
	return next
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if sess := identityOf(r).session; sess != nil {
		s.sessions.drop(sess.id)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// incidentRow is one line of the incident list.
type incidentRow struct {
	store.Incident
	LastActivity time.Time
}

type incidentsView struct {
	Rows                    []incidentRow
	Status, Severity, Query string
	Statuses, Severities    []string
	Reply                   *replyView
	Command                 string
}

// replyView is the answer to a command or click, shown on the page.
type replyView struct {
	Command string
	Message bot.Message
	Error   string
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) {
	s.showIncidents(w, r, http.StatusOK, nil, "")
}

func (s *Server) showIncidents(w http.ResponseWriter, r *http.Request, status int, reply *replyView, command string) {
	q := r.URL.Query()
	v := incidentsView{Status: q.Get("status"), Severity: q.Get("severity"), Query: strings.TrimSpace(q.Get("q")),
		Statuses: append([]string{"active"}, append(slices.Clone(bot.Statuses), "all")...), Severities: bot.Severities, Reply: reply, Command: command}
	if v.Status == "" {
		v.Status = "active"
	}
	ins, err := s.opts.DB.Incidents(r.Context(), store.IncidentFilter{Open: v.Status == "active"})
	if err != nil {
		s.failInternal(w, r, "list incidents", err)
		return
	}
	last, err := s.opts.DB.LastActivity(r.Context())
	if err != nil {
		s.failInternal(w, r, "read activity", err)
		return
	}
	needle := strings.ToLower(v.Query)
	for _, in := range ins {
		switch {
		case v.Status != "active" && v.Status != "all" && in.Status != v.Status:
			continue
		case v.Severity != "" && in.Severity != v.Severity:
			continue
		case needle != "" && !strings.Contains(strings.ToLower(in.Title+" "+in.Ref()+" "+in.Commander+" "+in.Summary), needle):
			continue
		case !s.CanSee(r, in):
			continue
		}
		v.Rows = append(v.Rows, incidentRow{Incident: in, LastActivity: last[in.ID]})
	}
	s.render(w, r, status, "incidents", "Incidents", v)
}

// roomView is an incident's room.
type roomView struct {
	Incident  store.Incident
	Room      local.Room
	HasRoom   bool
	Elsewhere []store.Room
	Messages  []local.Message
	Pinned    []local.Message
	Entries   []store.Entry
	Runs      []RunJSON
	Approvals []ApprovalJSON
	Reply     *replyView
	Command   string
}

func (s *Server) roomPage(w http.ResponseWriter, r *http.Request) {
	s.showRoom(w, r, http.StatusOK, nil, "")
}

func (s *Server) showRoom(w http.ResponseWriter, r *http.Request, status int, reply *replyView, command string) {
	ctx := r.Context()
	id, ok := incidentID(r)
	if !ok {
		s.fail(w, r, http.StatusNotFound, "There is no such incident.")
		return
	}
	in, err := s.opts.DB.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.CanSee(r, in)) {
		s.fail(w, r, http.StatusNotFound, store.FormatRef(id)+" does not exist.")
		return
	}
	if err != nil {
		s.failInternal(w, r, "read incident", err)
		return
	}
	v := roomView{Incident: in, Reply: reply, Command: command}
	v.Room, v.HasRoom, err = s.opts.Local.IncidentRoom(ctx, id)
	if err == nil && v.HasRoom {
		var msgs []local.Message
		msgs, err = s.opts.Local.Messages(ctx, v.Room.ID)
		for _, m := range msgs {
			if m.Pinned {
				v.Pinned = append(v.Pinned, m)
			} else {
				v.Messages = append(v.Messages, m)
			}
		}
	}
	if err == nil {
		var rooms []store.Room
		rooms, err = s.opts.DB.Rooms(ctx, id)
		for _, rm := range rooms {
			if rm.Platform != local.Name {
				v.Elsewhere = append(v.Elsewhere, rm)
			}
		}
	}
	if err == nil {
		v.Entries, err = s.opts.DB.Entries(ctx, id, 0)
	}
	if err == nil {
		v.Runs, err = s.runsOf(ctx, id, 20)
	}
	if err == nil {
		var aps []ApprovalJSON
		aps, err = s.pendingApprovals(ctx, identityOf(r))
		for _, a := range aps {
			if a.Incident == in.Ref() {
				v.Approvals = append(v.Approvals, a)
			}
		}
	}
	if err != nil {
		s.failInternal(w, r, "read incident room", err)
		return
	}
	s.render(w, r, status, "room", in.Ref()+" · "+in.Title, v)
}

// commandForm runs the command box without JavaScript: the page comes
// back with the reply shown above the box.
func (s *Server) commandForm(w http.ResponseWriter, r *http.Request) {
	text := r.PostFormValue("text")
	var incident int64
	if r.PathValue("id") != "" {
		id, ok := incidentID(r)
		if !ok {
			s.fail(w, r, http.StatusNotFound, "There is no such incident.")
			return
		}
		incident = id
	}
	reply, err := s.command(r.Context(), identityOf(r), incident, text)
	rv := &replyView{Command: text, Message: reply.Message}
	status := http.StatusOK
	if err != nil {
		rv.Error, status = err.Error(), http.StatusBadRequest
	}
	if incident != 0 {
		s.showRoom(w, r, status, rv, "")
		return
	}
	s.showIncidents(w, r, status, rv, "")
}

// clickForm presses a message button: the form carries the button's
// action id and value, as a chat platform's click would.
func (s *Server) clickForm(w http.ResponseWriter, r *http.Request) {
	reply := s.click(r.Context(), identityOf(r), r.PostFormValue("action"), r.PostFormValue("value"))
	back := localPath(r.PostFormValue("back"))
	if r.Header.Get("Accept") == "application/json" {
		writeJSON(w, http.StatusOK, ReplyJSON{Text: plainText(reply.Message), Message: reply.Message})
		return
	}
	// Without the script, show the answer on the page the click came from.
	rv := &replyView{Command: "", Message: reply.Message}
	if id, ok := strings.CutPrefix(back, "/incidents/"); ok {
		r.SetPathValue("id", id)
		s.showRoom(w, r, http.StatusOK, rv, "")
		return
	}
	s.showIncidents(w, r, http.StatusOK, rv, "")
}

type approvalsView struct{ Approvals []ApprovalJSON }

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request) {
	aps, err := s.pendingApprovals(r.Context(), identityOf(r))
	if err != nil {
		s.failInternal(w, r, "list approvals", err)
		return
	}
	s.render(w, r, http.StatusOK, "approvals", "Approvals", approvalsView{Approvals: aps})
}

type playbookRow struct {
	Name, Description, File, Command, Digest string
	Alert                                    *playbooks.AlertMatch
	Steps                                    int
	Approvals                                int
}

type playbooksView struct {
	Enabled   bool
	Playbooks []playbookRow
	Runs      []RunJSON
}

func (s *Server) playbooksPage(w http.ResponseWriter, r *http.Request) {
	v := playbooksView{Enabled: s.opts.Engine != nil}
	if s.opts.Engine != nil {
		for _, pb := range s.opts.Engine.Set().All() {
			row := playbookRow{Name: pb.Name, Description: pb.Description, File: pb.File, Command: pb.On.Command, Alert: pb.On.Alert,
				Steps: len(pb.Steps), Digest: shortDigest(pb.Digest)}
			for _, st := range pb.Steps {
				if st.Approval != nil {
					row.Approvals++
				}
			}
			v.Playbooks = append(v.Playbooks, row)
		}
	}
	runs, err := s.runsOf(r.Context(), 0, 25)
	if err != nil {
		s.failInternal(w, r, "list runs", err)
		return
	}
	v.Runs = runs
	s.render(w, r, http.StatusOK, "playbooks", "Playbooks", v)
}

func shortDigest(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

type auditView struct {
	Result store.Verification
	At     time.Time
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	res, err := s.opts.DB.Verify(r.Context())
	if err != nil {
		s.failInternal(w, r, "verify case log", err)
		return
	}
	s.render(w, r, http.StatusOK, "audit", "Audit", auditView{Result: res, At: s.opts.Now()})
}
