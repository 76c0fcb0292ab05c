package config

import (
	"errors"
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata/invalid")

// envMap turns a map into an environment lookup function.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

var noEnv = envMap(nil)

// problems returns the loader's error output, failing the test if the
// error is not an *Error.
func problems(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *Error: %v", err, err)
	}
	return e.Error()
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{
			name: "unknown top-level key with a prefix suggestion",
			yaml: "listen: 127.0.0.1:8080\nlisten_addr: :80\n",
			want: `warroom.yaml:2: listen_addr: unknown key (did you mean "listen"?)`,
		},
		{
			name: "no suggestion when nothing is close",
			yaml: "verbosity: 3\n",
			want: `warroom.yaml:1: verbosity: unknown key`,
		},
		{
			name: "typo suggestion",
			yaml: "databse: x.db\n",
			want: `warroom.yaml:1: databse: unknown key (did you mean "database"?)`,
		},
		{
			name: "unknown nested keys are all reported",
			yaml: "slack:\n  bot_tokn: x\napprovals:\n  four_eye: true\n  timeout: 1h\n  timout: 2h\n",
			want: "warroom.yaml:2: slack.bot_tokn: unknown key (did you mean \"bot_token\"?)\n" +
				"warroom.yaml:4: approvals.four_eye: unknown key (did you mean \"four_eyes\"?)\n" +
				"warroom.yaml:6: approvals.timout: unknown key (did you mean \"timeout\"?)",
		},
		{
			name: "unknown key inside a map of structs",
			yaml: "connectors:\n  vt:\n    api_key: k\n    ratelimit: 4/min\n",
			want: `warroom.yaml:4: connectors.vt.ratelimit: unknown key (did you mean "rate_limit"?)`,
		},
		{
			name: "unknown key inside a list of structs",
			yaml: "digests:\n  - name: a\n    schedule: '@daily'\n    channel: c\n    skip: true\n",
			want: `warroom.yaml:5: digests[0].skip: unknown key (did you mean "skip_empty"?)`,
		},
		{
			name: "x- keys are allowed only at the top level",
			yaml: "x-anchors: {a: 1}\nslack:\n  x-foo: 1\n",
			want: `warroom.yaml:3: slack.x-foo: unknown key`,
		},
		{
			name: "slack api_url",
			yaml: "listen: 127.0.0.1:8080\nslack:\n  api_url: not a url\n",
			want: `warroom.yaml:3: slack.api_url: not a valid URL`,
		},
		{
			name: "slack bot token without a way to receive events",
			yaml: "slack:\n  bot_token: xoxb-1\n",
			want: `warroom.yaml:2: slack.signing_secret: required with bot_token, unless app_token is set for Socket Mode`,
		},
		{
			name: "slack signing secret from an unset variable",
			yaml: "slack:\n  bot_token: xoxb-1\n  signing_secret: ${SLACK_SIGNING_SECRET}\n",
			want: `warroom.yaml:3: slack.signing_secret: required with bot_token, unless app_token is set for Socket Mode (${SLACK_SIGNING_SECRET} not set)`,
		},
		{
			name: "slack token kinds",
			yaml: "slack:\n  bot_token: xoxp-1\n  app_token: xoxb-2\n",
			want: "warroom.yaml:2: slack.bot_token: must be a bot token (starting with xoxb-)\n" +
				"warroom.yaml:3: slack.app_token: must be an app-level token (starting with xapp-)",
		},
		{
			name: "slack with app token only is fine",
			yaml: "slack:\n  bot_token: xoxb-1\n  app_token: xapp-2\n",
		},
		{
			name: "listen must be host:port",
			yaml: "listen: localhost\n",
			want: `warroom.yaml:1: listen: must be host:port, such as 127.0.0.1:8080, got "localhost"`,
		},
		{
			name: "listen port range",
			yaml: "listen: :99999\n",
			want: `warroom.yaml:1: listen: invalid port "99999" (want 0 to 65535)`,
		},
		{
			name: "log level",
			yaml: "log_level: trace\n",
			want: `warroom.yaml:1: log_level: unknown log level "trace" (want debug, info, warn or error)`,
		},
		{
			name: "base_url scheme",
			yaml: "base_url: ws://warroom.example.com\n",
			want: `warroom.yaml:1: base_url: must be an http or https URL`,
		},
		{
			name: "command needs an existing role",
			yaml: "roles:\n  lead: [U1]\n  responder: [U2]\ncommands:\n  \"incident close\": lead\n  contain: admin\n",
			want: `warroom.yaml:6: commands.contain: unknown role "admin" (defined roles: lead, responder)`,
		},
		{
			name: "command with no roles defined",
			yaml: "commands:\n  \"incident close\": lead\n",
			want: `warroom.yaml:2: commands["incident close"]: unknown role "lead" (no roles are defined)`,
		},
		{
			name: "a role that failed to decode still exists for commands",
			yaml: "roles:\n  lead: U1\ncommands:\n  close: lead\n",
			want: `warroom.yaml:2: roles.lead: expected a list, got a single value`,
		},
		{
			name: "cron spec of only a time zone is reported, not a panic",
			yaml: "digests:\n  - name: d\n    schedule: CRON_TZ=UTC\n    channel: c\n",
			want: `warroom.yaml:3: digests[0].schedule: invalid schedule "CRON_TZ=UTC": a time zone must be followed by a schedule, as in "CRON_TZ=Europe/Berlin 0 9 * * 1-5"`,
		},
		{
			name: "TZ= only is reported too",
			yaml: "digests:\n  - name: d\n    schedule: TZ=Europe/Paris\n    channel: c\n",
			want: `warroom.yaml:3: digests[0].schedule: invalid schedule "TZ=Europe/Paris": a time zone must be followed by a schedule, as in "CRON_TZ=Europe/Berlin 0 9 * * 1-5"`,
		},
		{
			name: "cron spec with seconds",
			yaml: "digests:\n  - name: d\n    schedule: 0 0 9 * * *\n    channel: c\n",
			want: `warroom.yaml:3: digests[0].schedule: invalid schedule "0 0 9 * * *": expected exactly 5 fields, found 6: [0 0 9 * * *]`,
		},
		{
			name: "digest requirements",
			yaml: "digests:\n  - schedule: '@daily'\n  - name: x\n    channel: c\n    schedule: '@hourly'\n  - name: x\n    channel: c\n    schedule: '@hourly'\n",
			want: "warroom.yaml:2: digests[0].name: required\n" +
				"warroom.yaml:2: digests[0].channel: required\n" +
				"warroom.yaml:6: digests[2].name: duplicate digest name \"x\" (first used on line 3)",
		},
		{
			name: "digest filter values",
			yaml: "digests:\n  - name: d\n    schedule: '@daily'\n    channel: c\n    filter:\n      status: [open, triaged]\n      min_severity: severe\n",
			want: "warroom.yaml:6: digests[0].filter.status[1]: unknown status \"triaged\" (want open, investigating, contained, resolved or closed)\n" +
				"warroom.yaml:7: digests[0].filter.min_severity: unknown severity \"severe\" (want critical, high, medium, low or info)",
		},
		{
			name: "duration syntax",
			yaml: "approvals:\n  timeout: 1 hour\n",
			want: `warroom.yaml:2: approvals.timeout: invalid duration "1 hour": want a number with a unit, such as 90s, 15m, 2h30m or 2d`,
		},
		{
			name: "duration without unit",
			yaml: "reminders:\n  repeat: 30\n",
			want: `warroom.yaml:2: reminders.repeat: invalid duration "30": want a number with a unit, such as 90s, 15m, 2h30m or 2d`,
		},
		{
			name: "size syntax",
			yaml: "alerts:\n  max_body: 1 megabyte\n",
			want: `warroom.yaml:2: alerts.max_body: invalid size "1 megabyte": unknown unit "megabyte" (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)`,
		},
		{
			name: "size must be positive",
			yaml: "alerts:\n  max_body: 0\n",
			want: `warroom.yaml:2: alerts.max_body: must be positive`,
		},
		{
			name: "alert source names",
			yaml: "alerts:\n  sources:\n    nagios: {token: t}\n",
			want: `warroom.yaml:3: alerts.sources.nagios: unknown alert source "nagios" (want alertmanager, splunk, elastic, grafana, wazuh, suricata or generic)`,
		},
		{
			name: "severity map values",
			yaml: "alerts:\n  severity_map:\n    wazuh:\n      \"12\": sev1\n",
			want: `warroom.yaml:4: alerts.severity_map.wazuh.12: unknown severity "sev1" (want critical, high, medium, low or info)`,
		},
		{
			name: "rate limit",
			yaml: "connectors:\n  vt:\n    rate_limit: fast\n",
			want: `warroom.yaml:3: connectors.vt.rate_limit: invalid rate "fast": want COUNT/UNIT such as 4/min, 10/s, 500/day, or COUNT/NUNIT such as 5/10s`,
		},
		{
			name: "bool",
			yaml: "incidents:\n  private: sure\n",
			want: `warroom.yaml:2: incidents.private: expected true or false, got "sure"`,
		},
		{
			name: "quoted bool",
			yaml: "incidents:\n  private: \"true\"\n",
			want: `warroom.yaml:2: incidents.private: expected true or false, got the string "true" (remove the quotes)`,
		},
		{
			name: "list expected",
			yaml: "playbook_env: HOME\n",
			want: `warroom.yaml:1: playbook_env: expected a list, got a single value`,
		},
		{
			name: "mapping expected",
			yaml: "slack: [a, b]\n",
			want: `warroom.yaml:1: slack: expected a mapping, got a list`,
		},
		{
			name: "scalar expected, without quoting a secret",
			yaml: "slack:\n  bot_token:\n    value: xoxb-SECRET\n",
			want: `warroom.yaml:3: slack.bot_token: expected a single value, got a mapping`,
		},
		{
			name: "local user password hash",
			yaml: "local:\n  users:\n    - name: a\n      password_hash: hunter2\n",
			want: `warroom.yaml:4: local.users[0].password_hash: must be a bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, and 53 more characters)`,
		},
		{
			name: "api token length",
			yaml: "api:\n  tokens:\n    - name: ci\n      token: hunter2\n",
			want: `warroom.yaml:4: api.tokens[0].token: too short: API tokens must be at least 16 characters`,
		},
		{
			name: "api token named like a chat user",
			yaml: "api:\n  tokens:\n    - name: slack:U123\n      token: 0123456789abcdef0123\n",
			want: `warroom.yaml:3: api.tokens[0].name: "slack:U123": use letters, digits, '.', '_' and '-'`,
		},
		{
			name: "api token from an unset variable",
			yaml: "api:\n  tokens:\n    - name: ci\n      token: ${API_TOKEN}\n",
			want: `warroom.yaml:4: api.tokens[0].token: empty token (${API_TOKEN} not set)`,
		},
		{
			name: "duplicate keys",
			yaml: "listen: :1\nlog_level: info\nlisten: :2\n",
			want: `warroom.yaml:3: listen: duplicate key (first set on line 1)`,
		},
		{
			name: "yaml syntax error",
			yaml: "slack:\n  bot_token: x\n   app_token: y\n",
			want: `warroom.yaml:3: invalid YAML: mapping values are not allowed in this context`,
		},
		{
			name: "yaml syntax error on the first line",
			yaml: "\tlisten: x\n",
			want: `warroom.yaml:1: invalid YAML: found character that cannot start any token`,
		},
		{
			name: "unknown anchor",
			yaml: "listen: :1\nslack: *nowhere\n",
			want: `warroom.yaml:2: invalid YAML: unknown anchor 'nowhere' referenced`,
		},
		{
			name: "second document",
			yaml: "listen: :1\n---\nlisten: :2\n",
			want: `warroom.yaml:2: invalid YAML: only one document is allowed, found another`,
		},
		{
			name: "trailing empty document is fine",
			yaml: "listen: :1\n---\n",
		},
		{
			name: "top level must be a mapping",
			yaml: "just a string\n",
			want: `warroom.yaml:1: the top level must be a mapping of settings, got a single value`,
		},
		{
			name: "unterminated reference",
			yaml: "database: /data/${DB\n",
			want: `warroom.yaml:1: database: unterminated "${" (write "$$" for a literal "$")`,
		},
		{
			name: "unsupported reference syntax",
			yaml: "database: ${DB:=x}\n",
			want: `warroom.yaml:1: database: unsupported variable syntax after ${DB (use ${DB} or ${DB:-default})`,
		},
		{
			name: "env-supplied value is still validated",
			yaml: "log_level: ${LEVEL}\n",
			env:  map[string]string{"LEVEL": "loud"},
			want: `warroom.yaml:1: log_level: unknown log level "loud" (want debug, info, warn or error)`,
		},
		{
			name: "merge of a non-mapping",
			yaml: "x-list: &l [1, 2]\nslack:\n  <<: *l\n",
			want: `warroom.yaml:1: slack: a merge key (<<) needs a mapping or a list of mappings, got a single value`,
		},
		{
			name: "circular merge",
			yaml: "slack: &s\n  <<: *s\n",
			want: `warroom.yaml:1: slack: merge keys (<<) nested too deeply or circular`,
		},
		{
			name: "problems are sorted by line",
			yaml: "log_level: x\nroles: {}\ncommands:\n  c: r\nlisten: bad\n",
			want: "warroom.yaml:1: log_level: unknown log level \"x\" (want debug, info, warn or error)\n" +
				"warroom.yaml:4: commands.c: unknown role \"r\" (no roles are defined)\n" +
				"warroom.yaml:5: listen: must be host:port, such as 127.0.0.1:8080, got \"bad\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("warroom.yaml", []byte(tt.yaml), envMap(tt.env))
			if got := problems(t, err); got != tt.want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, tt.want)
			}
			if (err == nil) != (cfg != nil) {
				t.Errorf("got config %v with error %v; want exactly one of them", cfg != nil, err)
			}
		})
	}
}

// TestGolden checks whole broken files against the exact report in the
// matching .golden file. Run with -update to rewrite the golden files after
// an intended change, then review the diff.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	env := envMap(map[string]string{"HOME": "/home/responder"})
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.ToSlash(file)
			cfg, err := Parse(name, data, env)
			if err == nil {
				t.Fatalf("%s loaded without error: %+v", file, cfg)
			}
			got := problems(t, err) + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems for %s:\n%s\nwant:\n%s", file, got, want)
			}
		})
	}
}

func TestFullConfig(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Spot-check a value from every section, including the ones that come
	// from defaults inside ${...} and from merge keys.
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Listen, "0.0.0.0:8443"},
		{"database", cfg.Database, "/var/lib/warroom/warroom.db"},
		{"base_url", cfg.BaseURL, "https://warroom.example.com/"},
		{"log_level", cfg.LogLevel, "debug"},
		{"slack bot token", cfg.Slack.BotToken.Reveal(), "xoxb-1111-2222-abcdefabcdef"},
		{"slack enabled", cfg.SlackEnabled(), true},
		{"discord application_id (an unquoted number)", cfg.Discord.ApplicationID, "1052523356374802452"},
		{"discord transport", cfg.Discord.Transport, "http"},
		{"discord on_close", cfg.Discord.OnClose, "delete"},
		{"discord enabled", cfg.DiscordEnabled(), true},
		{"incidents", cfg.Incidents, IncidentsConfig{ChannelPrefix: "sec-inc", Responders: []string{"U012AB3CD", "U045EF6GH"}, Private: true}},
		{"playbooks", cfg.Playbooks, "/etc/warroom/playbooks"},
		{"playbook_env", cfg.PlaybookEnv, []string{"VT_API_KEY", "HOME", "EDR_TENANT"}},
		{"exec", cfg.Exec.Allow, []string{"/usr/local/bin/isolate-host", "nmap", "whois"}},
		{"roles", cfg.Roles["viewer"], []string{}},
		{"commands", cfg.Commands["incident close"], "lead"},
		{"four eyes", cfg.FourEyes(), false},
		{"approval timeout", cfg.Approvals.Timeout.Std(), 2 * time.Hour},
		{"digests", len(cfg.Digests), 3},
		{"digest filter", cfg.Digests[0].Filter, DigestFilter{Status: []string{"open", "investigating", "contained"}, MinSeverity: "high"}},
		{"reminder repeat", cfg.Reminders.Repeat.Std(), 24 * time.Hour},
		{"alerts group window", cfg.Alerts.GroupWindow.Std(), 15 * time.Minute},
		{"alerts max body", cfg.Alerts.MaxBody, Size(512 << 10)},
		{"alerts hmac header", cfg.Alerts.Sources["grafana"].HMACHeader, "X-Grafana-Alerting-Signature"},
		{"severity map", cfg.Alerts.SeverityMap["wazuh"]["12"], "critical"},
		{"generic observables", cfg.Alerts.Generic["edr"].Observables["hash"], "detection.sha256"},
		{"merged connector timeout", cfg.Connectors["virustotal"].Timeout.Std(), 20 * time.Second},
		{"explicit key beats merge", cfg.Connectors["abuseipdb"].Timeout.Std(), 5 * time.Second},
		{"connector enabled by default", cfg.Connectors["abuseipdb"].Enabled, true},
		{"connector disabled", cfg.Connectors["yara"].Enabled, false},
		{"connector options", cfg.Connectors["yara"].Options["max_file_size"], "32MiB"},
		{"local users", len(cfg.Local.Users), 2},
		{"api tokens", len(cfg.API.Tokens), 2},
		{"unset vars", cfg.UnsetVars(), []string(nil)},
		{"file", cfg.File(), filepath.Join("testdata", "full.yaml")},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// TestFullCoversEveryKey makes sure testdata/full.yaml sets every key the
// Config type knows, at every level, so that new settings get exercised
// (and documented by example) as they are added.
func TestFullCoversEveryKey(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Keys are named by type path: map keys become * and list indexes [].
	want := map[string]bool{}
	var keys func(t reflect.Type, tpath string)
	keys = func(t reflect.Type, tpath string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			fields, names := structFields(t)
			for _, name := range names {
				child := strings.TrimPrefix(tpath+"."+name, ".")
				want[child] = true
				keys(t.Field(fields[name]).Type, child)
			}
		case reflect.Map:
			keys(t.Elem(), tpath+".*")
		case reflect.Slice:
			keys(t.Elem(), tpath+"[]")
		}
	}
	keys(reflect.TypeFor[Config](), "")

	seen := map[string]bool{}
	var walk func(v reflect.Value, path, tpath string)
	walk = func(v reflect.Value, path, tpath string) {
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem(), path, tpath)
			}
		case reflect.Struct:
			fields, names := structFields(v.Type())
			for _, name := range names {
				child, tchild := joinKey(path, name), strings.TrimPrefix(tpath+"."+name, ".")
				if cfg.Line(child) > 0 {
					seen[tchild] = true
				}
				walk(v.Field(fields[name]), child, tchild)
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k), joinKey(path, k.String()), tpath+".*")
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i), index(path, i), tpath+"[]")
			}
		}
	}
	walk(reflect.ValueOf(*cfg), "", "")

	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !seen[k] {
			t.Errorf("full.yaml does not set %s", k)
		}
	}
}

func TestDefaults(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if d.Listen != "127.0.0.1:8080" || d.Database != "warroom.db" || d.LogLevel != "info" ||
		d.Discord.Transport != "gateway" || d.Discord.OnClose != "archive" ||
		d.Incidents.ChannelPrefix != "inc" || !d.FourEyes() ||
		d.Approvals.Timeout.Std() != time.Hour || d.Alerts.GroupWindow.Std() != 10*time.Minute ||
		d.Alerts.MaxBody != 1<<20 {
		t.Errorf("unexpected defaults: %+v", d)
	}
	if d.SlackEnabled() || d.DiscordEnabled() {
		t.Error("integrations must be off by default")
	}

	for _, in := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		cfg, err := Parse("warroom.yaml", []byte(in), noEnv)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(cfg.Listen, d.Listen) || !cfg.FourEyes() || cfg.Alerts.MaxBody != d.Alerts.MaxBody {
			t.Errorf("Parse(%q) did not yield defaults: %+v", in, cfg)
		}
	}

	// Empty values keep defaults; explicit values replace them.
	cfg, err := Parse("warroom.yaml", []byte("listen:\napprovals:\n  four_eyes: ~\n  timeout: ${UNSET}\ndiscord:\n  transport: http\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:8080" || !cfg.FourEyes() || cfg.Approvals.Timeout.Std() != time.Hour || cfg.Discord.Transport != "http" {
		t.Errorf("empty values did not keep defaults: %+v", cfg)
	}

	// A zero Config fails safe.
	if !(&Config{}).FourEyes() {
		t.Error("a zero Config must require four eyes")
	}
	// Defaults are fresh values.
	*Default().Approvals.FourEyes = false
	if !Default().FourEyes() {
		t.Error("Default shares state between calls")
	}
}

func TestLoad(t *testing.T) {
	t.Run("default path missing means defaults", func(t *testing.T) {
		t.Chdir(t.TempDir())
		cfg, err := Load("")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Listen != Default().Listen || cfg.File() != "" {
			t.Errorf("got %+v, want defaults", cfg)
		}
	})
	t.Run("default path present is read", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if err := os.WriteFile(DefaultPath, []byte("listen: :9999\nlog_level: nope\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load("")
		if got, want := problems(t, err), `warroom.yaml:2: log_level: unknown log level "nope" (want debug, info, warn or error)`; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("explicit path missing is an error", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("got %v, want a not-exist error", err)
		}
	})
	t.Run("explicit path uses the process environment", func(t *testing.T) {
		t.Setenv("WARROOM_TEST_LISTEN", "127.0.0.1:7777")
		path := filepath.Join(t.TempDir(), "w.yaml")
		if err := os.WriteFile(path, []byte("listen: ${WARROOM_TEST_LISTEN}\ndatabase: ${WARROOM_TEST_SURELY_UNSET}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Listen != "127.0.0.1:7777" {
			t.Errorf("listen = %q", cfg.Listen)
		}
		if got := cfg.UnsetVars(); !slices.Equal(got, []string{"WARROOM_TEST_SURELY_UNSET"}) {
			t.Errorf("UnsetVars = %q", got)
		}
		if cfg.Database != "warroom.db" {
			t.Errorf("database = %q, want the default", cfg.Database)
		}
	})
}

func TestEnvExpansion(t *testing.T) {
	env := map[string]string{
		"TRICKY":   "a: b # not a comment\nslack: {bot_token: xoxb-injected}\n- item",
		"FIVE":     "5",
		"TRUE":     "true",
		"EMPTY":    "",
		"REF":      "${FIVE}",
		"NULLISH":  "null",
		"DIR":      "/srv/playbooks",
		"SIZE":     "2MiB",
		"DURATION": "90s",
	}
	yaml := `
playbooks: ${TRICKY}
database: "${DIR}/warroom.db"
base_url: ${EMPTY:-https://fallback.example.com}
log_level: ${NOT_SET_1:-${NOT_SET_2:-warn}}
slack:
  bot_token: xoxb-${NULLISH}
  app_token: xapp-1
alerts:
  max_body: ${FIVE}
  group_window: ${DURATION}
incidents:
  private: ${TRUE}
  responders:
    - ${REF}
    - $${FIVE}
    - cost$$5
    - $2a$10
    - ${MISSING}x
connectors:
  c:
    options:
      text: |
        line one ${FIVE}
        line two
      size: ${SIZE}
      plain: ${FIVE}
      nested: ${NOT_SET_3:-${NOT_SET_4}}
`
	cfg, err := Parse("warroom.yaml", []byte(yaml), envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		// Structure in a variable's value stays inside the string.
		{"tricky value is one plain string", cfg.Playbooks, env["TRICKY"]},
		{"no injected key", cfg.Slack.BotToken.Reveal(), "xoxb-null"},
		{"interpolation inside quotes", cfg.Database, "/srv/playbooks/warroom.db"},
		{"default used for an empty variable", cfg.BaseURL, "https://fallback.example.com"},
		{"nested default", cfg.LogLevel, "warn"},
		{"number from a plain scalar", cfg.Alerts.MaxBody, Size(5)},
		{"duration from env", cfg.Alerts.GroupWindow.Std(), 90 * time.Second},
		{"bool from a plain scalar", cfg.Incidents.Private, true},
		{"values are not expanded twice", cfg.Incidents.Responders, []string{"${FIVE}", "${FIVE}", "cost$5", "$2a$10", "x"}},
		{"block scalar", cfg.Connectors["c"].Options["text"], "line one 5\nline two\n"},
		{"string field keeps text", cfg.Connectors["c"].Options["size"], "2MiB"},
		{"number in a string field", cfg.Connectors["c"].Options["plain"], "5"},
		{"unset recorded once, sorted", cfg.UnsetVars(), []string{"MISSING", "NOT_SET_4"}},
		{"empty value in a map", cfg.Connectors["c"].Options, map[string]string{"text": "line one 5\nline two\n", "size": "2MiB", "plain": "5", "nested": ""}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}

	// An env value that looks like null is still a value for string
	// settings.
	cfg, err = Parse("warroom.yaml", []byte("playbooks: ${NULLISH}\n"), envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Playbooks != "null" {
		t.Errorf("playbooks = %q, want %q", cfg.Playbooks, "null")
	}

	// A quoted reference stays a string, so it cannot become a number.
	_, err = Parse("warroom.yaml", []byte("incidents:\n  private: \"${TRUE}\"\n"), envMap(env))
	if got, want := problems(t, err), `warroom.yaml:2: incidents.private: expected true or false, got the string "true" (remove the quotes)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	// Keys are never expanded.
	_, err = Parse("warroom.yaml", []byte("roles:\n  ${FIVE}: [U1]\ncommands:\n  c: \"5\"\n"), envMap(env))
	if got, want := problems(t, err), `warroom.yaml:4: commands.c: unknown role "5" (defined roles: ${FIVE})`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAliasesAreExpandedOnce(t *testing.T) {
	yaml := "x-prefix: &p $${X}-${X}\nincidents:\n  responders: [*p, *p]\n"
	cfg, err := Parse("warroom.yaml", []byte(yaml), envMap(map[string]string{"X": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"${X}-v", "${X}-v"}
	if !slices.Equal(cfg.Incidents.Responders, want) {
		t.Errorf("responders = %q, want %q", cfg.Incidents.Responders, want)
	}
}

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-status: &s [" + strings.Repeat("open, ", 300) + "open]\n")
	b.WriteString("x-digest: &d {name: d, schedule: '@daily', channel: c, filter: {status: *s}}\n")
	b.WriteString("digests: [" + strings.Repeat("*d, ", 999) + "*d]\n")
	start := time.Now()
	_, err := Parse("warroom.yaml", []byte(b.String()), noEnv)
	if !strings.Contains(problems(t, err), ": the file is too complex (too many aliases expanded)") {
		t.Errorf("missing complexity problem in:\n%.500s", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestLine(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"listen":                             9,
		"playbooks":                          37,
		"slack.api_url":                      19,
		`commands["incident close"]`:         52,
		"digests[1]":                         69,
		"digests[0].schedule":                63,
		"alerts.severity_map.wazuh.12":       102,
		"connectors.virustotal.timeout":      6, // set through the merge key
		"connectors.virustotal.rate_limit":   124,
		"local.users[1].password_hash":       155,
		"api.tokens[1]":                      160,
		"alerts.generic.edr.observables.ip":  116,
		"connectors.yara.options.fast_mode":  136,
		"connectors.yara.files[1]":           134,
		"incidents.responders[0]":            34,
		"no.such.path":                       0,
		"reminders.quiet_after.not_a_subkey": 0,
	} {
		if got := cfg.Line(path); got != want {
			t.Errorf("Line(%q) = %d, want %d", path, got, want)
		}
	}
	p := cfg.Problem("playbooks", "directory does not exist")
	if got, want := p.String(), "testdata/full.yaml:37: playbooks: directory does not exist"; got != filepath.FromSlash(want) && got != want {
		t.Errorf("Problem = %q, want %q", got, want)
	}
	if got := Default().Line("listen"); got != 0 {
		t.Errorf("Default().Line = %d", got)
	}
}

func TestProblemString(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{"w.yaml", 3, "a.b", "bad"}, "w.yaml:3: a.b: bad"},
		{Problem{"w.yaml", 0, "a.b", "bad"}, "w.yaml: a.b: bad"},
		{Problem{"w.yaml", 7, "", "invalid YAML: x"}, "w.yaml:7: invalid YAML: x"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	err := newError([]Problem{{"f", 9, "z", "m"}, {"f", 2, "y", "m"}, {"f", 9, "a", "m"}, {"f", 2, "y", "m"}})
	if got, want := err.Error(), "f:2: y: m\nf:9: z: m\nf:9: a: m"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if newError(nil) != nil {
		t.Error("newError(nil) must be nil")
	}
}
