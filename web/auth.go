package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/local"
)

// AllRoles is the role of an account that holds every role: the admin that
// warroom creates on a first start with no accounts configured.
const AllRoles = "*"

// Account is a web room login.
type Account struct {
	Name string
	// Role is the role the account holds, or AllRoles.
	Role string
	// PasswordHash is a bcrypt hash.
	PasswordHash string
}

// Token is a bearer token of the JSON API. Requests made with it act as
// "api:<Name>".
type Token struct {
	Name  string
	Token string
	Role  string
}

// tokenPlatform is the platform part of an API token's actor id.
const tokenPlatform = "api"

// Identity is who a request acts as.
type Identity struct {
	// Platform is "local" for an account and "api" for a token.
	Platform string
	Name     string
	Role     string
	// session is set when the request came with a session cookie; such
	// requests need a CSRF token to change anything.
	session *session
}

// Actor is the identity's actor id in the case log: "local:alice", "api:ci".
func (id Identity) Actor() string { return bot.ActorID(id.Platform, id.Name) }

// roles answers role questions for accounts and tokens.
type roles struct {
	accounts map[string]Account
	tokens   map[string]Token // by name
}

func newRoles(accounts []Account, tokens []Token) roles {
	r := roles{accounts: map[string]Account{}, tokens: map[string]Token{}}
	for _, a := range accounts {
		r.accounts[a.Name] = a
	}
	for _, t := range tokens {
		r.tokens[t.Name] = t
	}
	return r
}

func (r roles) has(actor, role string) bool {
	platform, name := bot.SplitActor(actor)
	switch platform {
	case local.Name:
		a, ok := r.accounts[name]
		return ok && (a.Role == role || a.Role == AllRoles)
	case tokenPlatform:
		t, ok := r.tokens[name]
		return ok && t.Role != "" && t.Role == role
	}
	return false
}

// HasRole returns a function that reports whether actor holds role through
// one of these accounts ("local:<name>") or tokens ("api:<name>"). It is
// meant for commands.Permissions.HasRole, so that roles and four-eyes apply
// to the web room and the API exactly as in chat. It is a plain function
// because permissions are wired before the Server.
func HasRole(accounts []Account, tokens []Token) func(ctx context.Context, actor, role string) bool {
	r := newRoles(accounts, tokens)
	return func(_ context.Context, actor, role string) bool { return r.has(actor, role) }
}

// session is a logged-in browser. Sessions live in memory only: they are
// bearer secrets, and keeping them out of the database means a copied
// database file or backup holds no live session. A restart logs everyone
// out, which is the price.
type session struct {
	id      string
	account string
	csrf    string
	expires time.Time
}

// sessionTTL is how long a session lasts without use.
const sessionTTL = 12 * time.Hour

const (
	sessionCookie = "warroom_session"
	loginCookie   = "warroom_login" // CSRF token of the login form
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	now  func() time.Time
}

func (ss *sessions) create(account string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for id, s := range ss.byID {
		if now.After(s.expires) {
			delete(ss.byID, id)
		}
	}
	s := &session{id: randomToken(), account: account, csrf: randomToken(), expires: now.Add(sessionTTL)}
	ss.byID[s.id] = s
	return s
}

func (ss *sessions) get(id string) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if !ok {
		return nil, false
	}
	now := ss.now()
	if now.After(s.expires) {
		delete(ss.byID, id)
		return nil, false
	}
	s.expires = now.Add(sessionTTL)
	return s, true
}

func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// identify returns who a request acts as: a bearer token, else a session.
func (s *Server) identify(r *http.Request) (Identity, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		got, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return Identity{}, false
		}
		got = strings.TrimSpace(got)
		var found *Token
		// Compare with every token so the time taken says nothing about which matched.
		for i := range s.opts.Tokens {
			if equal(got, s.opts.Tokens[i].Token) {
				found = &s.opts.Tokens[i]
			}
		}
		if found == nil {
			return Identity{}, false
		}
		return Identity{Platform: tokenPlatform, Name: found.Name, Role: found.Role}, true
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return Identity{}, false
	}
	sess, ok := s.sessions.get(c.Value)
	if !ok {
		return Identity{}, false
	}
	a, ok := s.roles.accounts[sess.account]
	if !ok {
		return Identity{}, false // the account was removed from the config
	}
	return Identity{Platform: local.Name, Name: a.Name, Role: a.Role, session: sess}, true
}

// csrfOK checks the CSRF token of a state-changing request made with a
// session cookie, from the form field or the header. Token requests carry
// no ambient credentials and need none.
func csrfOK(r *http.Request, id Identity) bool {
	if id.session == nil {
		return true
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && equal(got, id.session.csrf)
}

type ctxKey struct{}

func identityOf(r *http.Request) Identity {
	id, _ := r.Context().Value(ctxKey{}).(Identity)
	return id
}

// API wraps a JSON endpoint: it needs a session or a bearer token, and a
// CSRF token on POST with a session. Exported so that endpoints wired
// elsewhere (GET /api/alerts) share the same authentication.
func (s *Server) API(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.identify(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warroom"`)
			apiError(w, http.StatusUnauthorized, "log in, or send a bearer token from api.tokens")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !csrfOK(r, id) {
			apiError(w, http.StatusForbidden, "missing or wrong CSRF token (send the X-CSRF-Token header)")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	}
}

// page wraps an HTML page: it needs a session (tokens are for scripts) and
// a CSRF token on POST; without a session it sends the browser to log in.
func (s *Server) page(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.identify(r)
		if !ok || id.session == nil {
			if r.Method != http.MethodGet {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && !csrfOK(r, id) {
			http.Error(w, "This form is stale or did not come from warroom (CSRF check failed). Reload the page and try again.", http.StatusForbidden)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, id)))
	}
}

// loginLimiter slows password guessing. An attempt is charged before the
// password is checked, so a burst of concurrent guesses cannot all slip
// in while bcrypt runs; a successful login gives its keys a fresh start.
// Keys carry a scale: the pair of address and name is limited tightly,
// the name alone and the address alone loosely, so one client cannot
// lock every user out (behind a proxy every client has its address) nor
// a stranger lock a lead out by name, while a spread-out guesser is still
// slowed down.
type loginLimiter struct {
	mu    sync.Mutex
	every time.Duration
	burst int
	lims  map[string]*rate.Limiter
	now   func() time.Time
}

// limitKey is one thing attempts are counted against; scale multiplies
// the burst.
type limitKey struct {
	key   string
	scale int
}

// loginKeys are the keys of a login attempt.
func loginKeys(addr, name string) []limitKey {
	return []limitKey{{"pair:" + addr + "|" + name, 1}, {"name:" + name, 4}, {"ip:" + addr, 10}}
}

func newLoginLimiter(every time.Duration, burst int, now func() time.Time) *loginLimiter {
	return &loginLimiter{every: every, burst: burst, lims: map[string]*rate.Limiter{}, now: now}
}

func (l *loginLimiter) limiter(k limitKey) *rate.Limiter {
	if len(l.lims) > 10000 {
		// Full limiters carry no information; forget them so an attacker
		// cycling names cannot grow the map without bound.
		for key, lim := range l.lims {
			if lim.TokensAt(l.now()) >= float64(lim.Burst()) {
				delete(l.lims, key)
			}
		}
	}
	lim, ok := l.lims[k.key]
	if !ok {
		scale := max(k.scale, 1)
		lim = rate.NewLimiter(rate.Every(l.every/time.Duration(scale)), l.burst*scale)
		l.lims[k.key] = lim
	}
	return lim
}

// attempt charges an attempt to every key, all or none: it reports false,
// charging nothing, when any key has used up its attempts.
func (l *loginLimiter) attempt(keys ...limitKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		if l.limiter(k).TokensAt(now) < 1 {
			return false
		}
	}
	for _, k := range keys {
		l.limiter(k).AllowN(now, 1)
	}
	return true
}

// succeeded forgets the keys' failed attempts: the person knew the
// password, and their next mistake should not find them near the limit.
func (l *loginLimiter) succeeded(keys ...limitKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.lims, k.key)
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// dummyHash is compared against when the account does not exist, so that
// a wrong name takes as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such account"), bcrypt.DefaultCost)

// checkPassword returns the account if name and password match.
func (s *Server) checkPassword(name, password string) (Account, bool) {
	a, ok := s.roles.accounts[name]
	hash := []byte(a.PasswordHash)
	if !ok {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !ok {
		return Account{}, false
	}
	return a, true
}

// HashPassword returns a bcrypt hash of password for local.users.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// NewPassword returns a random password: 26 characters of base32, 130 bits.
func NewPassword() string { return rand.Text() }
