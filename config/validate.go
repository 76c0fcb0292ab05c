package config

import (
	"errors"
	"fmt"
	"iter"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// The value sets below are shared with operators' files; they are spelled
// out in messages so that nobody has to look them up.
var (
	severities   = []string{"critical", "high", "medium", "low", "info"}
	statuses     = []string{"open", "investigating", "contained", "resolved", "closed"}
	logLevels    = []string{"debug", "info", "warn", "error"}
	alertSources = []string{"alertmanager", "splunk", "elastic", "grafana", "wazuh", "suricata", "generic"}
)

var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a digest schedule: five cron fields or a descriptor
// (@daily, "@every 4h", ...), optionally prefixed by "CRON_TZ=Zone " or
// "TZ=Zone ". The scheduler must use this rather than its own parser so
// that a spec accepted by the config is one the scheduler can run. It also
// shields callers from a panic in robfig/cron, which indexes out of range
// on a spec consisting of a time zone alone.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched = nil
			if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
				err = errors.New("a time zone must be followed by a schedule, as in \"CRON_TZ=Europe/Berlin 0 9 * * 1-5\"")
			} else {
				err = errors.New("malformed schedule")
			}
		}
	}()
	return scheduleParser.Parse(spec)
}

// Validate checks the configuration as Load does. Load and Parse already
// call it; it is exported for configurations assembled in code, such as in
// tests of other packages, which would otherwise skip the checks that keep
// the server from starting half-configured.
func (c *Config) Validate() error { return newError(c.validate()) }

type validator struct {
	c     *Config
	m     *meta
	probs []Problem
}

func (c *Config) validate() []Problem {
	v := &validator{c: c, m: c.info()}
	v.general()
	v.slack()
	v.discord()
	v.incidents()
	v.playbooks()
	v.access()
	v.digests()
	v.reminders()
	v.alerts()
	v.connectors()
	v.enrichment()
	v.local()
	v.api()
	return v.probs
}

// errf records a problem at path. The line is that of path or, if the file
// did not set it, of the nearest enclosing setting it did.
func (v *validator) errf(path, format string, args ...any) {
	v.errNear(path, nil, format, args...)
}

// errNear is errf for problems about a setting that may be missing from the
// file: if path has no line of its own, the line of the first of near that
// does is used, as the setting that made path necessary is where the reader
// should look. Unset variables behind path or near are named in the
// message, since they are the usual cause. Problems at or below a path that
// already failed to decode are dropped, as they would only echo the first
// report.
func (v *validator) errNear(path string, near []string, format string, args ...any) {
	for p := range enclosing(path) {
		if v.m.failed[p] {
			return
		}
	}
	line, ok := v.m.lines[path]
	for _, p := range near {
		if l, found := v.m.lines[p]; found && !ok {
			line, ok = l, true
		}
	}
	if !ok {
		line = v.lineOf(path)
	}
	msg := fmt.Sprintf(format, args...)
	var unset []string
	for _, p := range append([]string{path}, near...) {
		for _, name := range v.m.unsetAt[p] {
			if !slices.Contains(unset, name) {
				unset = append(unset, name)
			}
		}
	}
	if len(unset) > 0 {
		msg += " (${" + strings.Join(unset, "}, ${") + "} not set)"
	}
	v.probs = append(v.probs, Problem{File: v.m.file, Line: line, Path: path, Msg: msg})
}

func (v *validator) lineOf(path string) int {
	for p := range enclosing(path) {
		if l, ok := v.m.lines[p]; ok {
			return l
		}
	}
	return 0
}

// enclosing yields path and then each enclosing path, innermost first:
// "a.b[2].c", "a.b[2]", "a.b", "a". A quoted map key containing "." or "["
// also yields some strings that are not real paths, which is harmless as
// they are only used for lookups.
func enclosing(path string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if !yield(path) {
			return
		}
		for i := len(path) - 1; i > 0; i-- {
			if (path[i] == '.' || path[i] == '[') && !yield(path[:i]) {
				return
			}
		}
	}
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// oneOf checks an enumerated value and lists the choices in the message.
func (v *validator) oneOf(path, val, what string, choices []string) {
	if !slices.Contains(choices, val) {
		v.errf(path, "unknown %s %q (want %s)", what, val, orList(choices))
	}
}

func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// url checks an optional base URL. The value is not quoted in messages, as
// URLs may carry credentials.
func (v *validator) url(path, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "":
		v.errf(path, "not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		v.errf(path, "must be an http or https URL")
	}
}

func (v *validator) nonNegative(path string, d Duration) {
	if d < 0 {
		v.errf(path, "must not be negative")
	}
}

// sortedKeys iterates maps in a fixed order so that problem reports are
// reproducible.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (v *validator) general() {
	c := v.c
	if host, port, err := net.SplitHostPort(c.Listen); err != nil || strings.ContainsAny(host, " /") {
		v.errf("listen", "must be host:port, such as 127.0.0.1:8080, got %q", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.errf("listen", "invalid port %q (want 0 to 65535)", port)
	}
	if strings.TrimSpace(c.Database) == "" {
		v.errf("database", "must not be empty")
	}
	v.url("base_url", c.BaseURL)
	v.oneOf("log_level", c.LogLevel, "log level", logLevels)
	v.oneOf("database_sync", c.DatabaseSync, "sync mode", []string{"full", "normal"})
}

func (v *validator) slack() {
	s := v.c.Slack
	if s.BotToken != "" && !strings.HasPrefix(s.BotToken.Reveal(), "xoxb-") {
		v.errf("slack.bot_token", "must be a bot token (starting with xoxb-)")
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken.Reveal(), "xapp-") {
		v.errf("slack.app_token", "must be an app-level token (starting with xapp-)")
	}
	if s.BotToken != "" && s.SigningSecret == "" && s.AppToken == "" {
		v.errNear("slack.signing_secret", []string{"slack.app_token", "slack.bot_token"},
			"required with bot_token, unless app_token is set for Socket Mode")
	}
	v.url("slack.api_url", s.APIURL)
}

var (
	hexKeyRE    = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	snowflakeRE = regexp.MustCompile(`^[0-9]{1,20}$`)
)

func (v *validator) discord() {
	d := v.c.Discord
	if d.ApplicationID != "" && !snowflakeRE.MatchString(d.ApplicationID) {
		v.errf("discord.application_id", "must be a numeric Discord ID, got %q", d.ApplicationID)
	}
	if d.GuildID != "" && !snowflakeRE.MatchString(d.GuildID) {
		v.errf("discord.guild_id", "must be a numeric Discord ID, got %q", d.GuildID)
	}
	if d.PublicKey != "" && !hexKeyRE.MatchString(d.PublicKey) {
		v.errf("discord.public_key", "must be the application's public key: 64 hexadecimal characters")
	}
	v.url("discord.api_url", d.APIURL)
	v.oneOf("discord.transport", d.Transport, "transport", []string{"gateway", "http"})
	v.oneOf("discord.on_close", d.OnClose, "on_close action", []string{"archive", "delete"})
	if d.BotToken != "" && d.Transport == "http" && d.PublicKey == "" {
		v.errNear("discord.public_key", []string{"discord.transport"}, "required with transport http, to verify interaction requests")
	}
}

var channelPrefixRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// maxChannelPrefix leaves room for the incident number and slug within
// Slack's 80-character channel name limit.
const maxChannelPrefix = 40

func (v *validator) incidents() {
	in := v.c.Incidents
	switch {
	case in.ChannelPrefix == "":
		v.errf("incidents.channel_prefix", "must not be empty")
	case !channelPrefixRE.MatchString(in.ChannelPrefix):
		v.errf("incidents.channel_prefix", "may contain only lowercase letters, digits and dashes, got %q", in.ChannelPrefix)
	case len(in.ChannelPrefix) > maxChannelPrefix:
		v.errf("incidents.channel_prefix", "too long (at most %d characters)", maxChannelPrefix)
	}
	for i, id := range in.Responders {
		if strings.TrimSpace(id) == "" {
			v.errf(index("incidents.responders", i), "empty user ID")
		}
	}
}

func (v *validator) playbooks() {
	c := v.c
	first := map[string]int{}
	for i, name := range c.PlaybookEnv {
		p := index("playbook_env", i)
		if !isEnvName(name) {
			v.errf(p, "not a valid environment variable name: %q", name)
			continue
		}
		if j, dup := first[name]; dup {
			v.errf(p, "%s is listed twice (first on line %d)", name, v.lineOf(index("playbook_env", j)))
			continue
		}
		first[name] = i
	}
	for i, prog := range c.Exec.Allow {
		p := index("exec.allow", i)
		switch {
		case strings.TrimSpace(prog) == "":
			v.errf(p, "empty entry")
		case strings.ContainsRune(prog, '/') && !filepath.IsAbs(prog):
			v.errf(p, "must be an absolute path or a bare command name, got %q", prog)
		case !strings.ContainsRune(prog, '/') && strings.ContainsAny(prog, " \t"):
			v.errf(p, "must name a program, not a command line: %q", prog)
		}
	}
}

func (v *validator) access() {
	c := v.c
	for _, role := range sortedKeys(c.Roles) {
		for i, id := range c.Roles[role] {
			if strings.TrimSpace(id) == "" {
				v.errf(index(joinKey("roles", role), i), "empty user or group ID")
			}
		}
	}
	for _, cmd := range sortedKeys(c.Commands) {
		v.role(joinKey("commands", cmd), c.Commands[cmd], true)
	}
	if c.Approvals.Timeout <= 0 {
		v.errf("approvals.timeout", "must be positive")
	}
}

// role checks a reference to a role defined under roles.
func (v *validator) role(path, role string, required bool) {
	switch {
	case role == "":
		if required {
			v.errf(path, "a role is required")
		}
	case !hasKey(v.c.Roles, role):
		defined := "no roles are defined"
		if len(v.c.Roles) > 0 {
			defined = "defined roles: " + strings.Join(sortedKeys(v.c.Roles), ", ")
		}
		v.errf(path, "unknown role %q (%s)", role, defined)
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func (v *validator) digests() {
	names := map[string]int{}
	for i, dg := range v.c.Digests {
		p := index("digests", i)
		switch j, dup := names[dg.Name]; {
		case dg.Name == "":
			v.errf(p+".name", "required")
		case dup:
			v.errf(p+".name", "duplicate digest name %q (first used on line %d)", dg.Name, v.lineOf(index("digests", j)+".name"))
		default:
			names[dg.Name] = i
		}
		if dg.Schedule == "" {
			v.errf(p+".schedule", "required")
		} else if s, err := ParseSchedule(dg.Schedule); err != nil {
			v.errf(p+".schedule", "invalid schedule %q: %v", dg.Schedule, err)
		} else if cd, ok := s.(cron.ConstantDelaySchedule); ok && cd.Delay < time.Minute {
			v.errf(p+".schedule", "digests may run at most once a minute")
		}
		if dg.Channel == "" {
			v.errf(p+".channel", "required")
		}
		for k, st := range dg.Filter.Status {
			v.oneOf(index(p+".filter.status", k), st, "status", statuses)
		}
		if dg.Filter.MinSeverity != "" {
			v.oneOf(p+".filter.min_severity", dg.Filter.MinSeverity, "severity", severities)
		}
	}
}

func (v *validator) reminders() {
	r := v.c.Reminders
	v.nonNegative("reminders.quiet_after", r.QuietAfter)
	v.nonNegative("reminders.unassigned_after", r.UnassignedAfter)
	v.nonNegative("reminders.repeat", r.Repeat)
}

var headerNameRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

func (v *validator) alerts() {
	a := v.c.Alerts
	for _, name := range sortedKeys(a.Sources) {
		p := joinKey("alerts.sources", name)
		if !slices.Contains(alertSources, name) {
			v.errf(p, "unknown alert source %q (want %s)", name, orList(alertSources))
		}
		src := a.Sources[name]
		switch {
		case src.HMACHeader != "" && src.HMACSecret == "":
			v.errf(p+".hmac_header", "has no effect without hmac_secret")
		case src.HMACHeader != "" && !headerNameRE.MatchString(src.HMACHeader):
			v.errf(p+".hmac_header", "not a valid HTTP header name: %q", src.HMACHeader)
		}
	}
	seen := map[string]int{}
	for i, label := range a.GroupBy {
		p := index("alerts.group_by", i)
		if strings.TrimSpace(label) == "" {
			v.errf(p, "empty label name")
		} else if j, dup := seen[label]; dup {
			v.errf(p, "%q is listed twice (first on line %d)", label, v.lineOf(index("alerts.group_by", j)))
		} else {
			seen[label] = i
		}
	}
	v.nonNegative("alerts.group_window", a.GroupWindow)
	if a.MaxBody <= 0 {
		v.errf("alerts.max_body", "must be positive")
	}
	for _, src := range sortedKeys(a.SeverityMap) {
		p := joinKey("alerts.severity_map", src)
		if !slices.Contains(alertSources, src) && !hasKey(a.Generic, src) {
			v.errf(p, "unknown alert source %q (want %s, or a name under alerts.generic)", src, orList(alertSources))
		}
		for _, raw := range sortedKeys(a.SeverityMap[src]) {
			v.oneOf(joinKey(p, raw), a.SeverityMap[src][raw], "severity", severities)
		}
	}
	for _, name := range sortedKeys(a.Generic) {
		p := joinKey("alerts.generic", name)
		g := a.Generic[name]
		if !plainKeyRE.MatchString(name) {
			v.errf(p, "endpoint names may contain only letters, digits, _ and -, as they appear in the webhook URL")
		}
		if g.Title == "" {
			v.errf(p+".title", "required")
		}
		for _, kind := range sortedKeys(g.Observables) {
			if g.Observables[kind] == "" {
				v.errf(joinKey(p+".observables", kind), "a path is required")
			}
		}
	}
}

func (v *validator) connectors() {
	for _, name := range sortedKeys(v.c.Connectors) {
		p := joinKey("connectors", name)
		cc := v.c.Connectors[name]
		v.url(p+".api_url", cc.APIURL)
		v.nonNegative(p+".timeout", cc.Timeout)
		if cc.RateLimit != "" {
			if _, err := ParseRate(cc.RateLimit); err != nil {
				v.errf(p+".rate_limit", "%v", err)
			}
		}
		for i, f := range cc.Files {
			if strings.TrimSpace(f) == "" {
				v.errf(index(p+".files", i), "empty path")
			}
		}
		switch strings.TrimPrefix(strings.ToLower(cc.TLP), "tlp:") {
		case "", "clear", "white", "green", "amber", "amber+strict", "red":
		default:
			v.errf(p+".tlp", "unknown TLP level %q: use clear, green, amber, amber+strict or red", cc.TLP)
		}
	}
}

func (v *validator) enrichment() {
	if v.c.Enrichment.MaxIndicators < 0 {
		v.errf("enrichment.max_indicators", "must not be negative")
	}
	for i, e := range v.c.Enrichment.Allowlist {
		if strings.TrimSpace(e) == "" {
			v.errf(index("enrichment.allowlist", i), "empty entry")
		}
	}
}

var bcryptRE = regexp.MustCompile(`^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$`)

func (v *validator) local() {
	names := map[string]int{}
	for i, u := range v.c.Local.Users {
		p := index("local.users", i)
		switch j, dup := names[u.Name]; {
		case u.Name == "":
			v.errf(p+".name", "required")
		case !accountNameRE.MatchString(u.Name):
			v.errf(p+".name", "%q: use letters, digits, '.', '_' and '-' (a name like slack:U123 would pass for that chat user)", u.Name)
		case dup:
			v.errf(p+".name", "duplicate user name %q (first used on line %d)", u.Name, v.lineOf(index("local.users", j)+".name"))
		default:
			names[u.Name] = i
		}
		v.role(p+".role", u.Role, false)
		switch {
		case u.PasswordHash == "":
			v.errf(p+".password_hash", "required")
		case !bcryptRE.MatchString(u.PasswordHash.Reveal()):
			v.errf(p+".password_hash", "must be a bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, and 53 more characters)")
		}
	}
}

// accountNameRE is what a web account or API token may be called: no ':',
// because actor ids are "platform:id" and a local account named
// "slack:U123" would match that Slack user's role entries.
var accountNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// minAPIToken is the shortest API token accepted: the API can open and
// close incidents, so guessable tokens are refused outright.
const minAPIToken = 16

func (v *validator) api() {
	names := map[string]int{}
	tokens := map[Secret]int{}
	for i, t := range v.c.API.Tokens {
		p := index("api.tokens", i)
		switch j, dup := names[t.Name]; {
		case t.Name == "":
			v.errf(p+".name", "required")
		case !accountNameRE.MatchString(t.Name):
			v.errf(p+".name", "%q: use letters, digits, '.', '_' and '-'", t.Name)
		case dup:
			v.errf(p+".name", "duplicate token name %q (first used on line %d)", t.Name, v.lineOf(index("api.tokens", j)+".name"))
		default:
			names[t.Name] = i
		}
		switch j, dup := tokens[t.Token]; {
		case t.Token == "":
			v.errf(p+".token", "empty token")
		case len(t.Token) < minAPIToken:
			v.errf(p+".token", "too short: API tokens must be at least %d characters", minAPIToken)
		case dup:
			v.errf(p+".token", "same token as on line %d", v.lineOf(index("api.tokens", j)+".token"))
		default:
			tokens[t.Token] = i
		}
		v.role(p+".role", t.Role, false)
	}
}
