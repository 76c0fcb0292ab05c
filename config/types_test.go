package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// secretConfig loads a config in which every Secret field holds a value
// containing "hunter2", so that any leak is easy to spot.
func secretConfig(t *testing.T) *Config {
	t.Helper()
	env := envMap(map[string]string{
		"SLACK":   "xoxb-hunter2-slack",
		"API_KEY": "hunter2-from-env",
	})
	yaml := `
slack:
  bot_token: ${SLACK}
  signing_secret: hunter2-signing
  app_token: xapp-hunter2
discord:
  bot_token: hunter2-discord
alerts:
  token: hunter2-alerts
  sources:
    grafana: {token: hunter2-grafana, hmac_secret: hunter2-hmac}
connectors:
  vt:
    api_key: ${API_KEY}
local:
  users:
    - name: alice
      password_hash: $2a$10$r4NxMJASQQHsrIEf/4P65.hunter22/wSuQyVkgIwkodJOFpQ3moW
api:
  tokens:
    - {name: one, token: hunter2-api-token-0001}
    - {name: two, token: hunter2-api-token-0002}
`
	cfg, err := Parse("warroom.yaml", []byte(yaml), env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Slack.BotToken.Reveal() != "xoxb-hunter2-slack" {
		t.Fatalf("Reveal = %q", cfg.Slack.BotToken.Reveal())
	}
	return cfg
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg := secretConfig(t)
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s", "%d"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, *cfg),
			fmt.Sprintf(verb, cfg.Slack), fmt.Sprintf(verb, cfg.API.Tokens),
			fmt.Sprintf(verb, cfg.Slack.BotToken), fmt.Sprintf(verb, &cfg.Slack.BotToken))
	}
	outputs = append(outputs, fmt.Sprint(cfg.Slack.BotToken), fmt.Sprintln(cfg.Local.Users), cfg.Alerts.Token.String())

	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(y))

	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(h(&buf))
		log.Info("config", "cfg", cfg, "slack", cfg.Slack, "token", cfg.Slack.BotToken,
			slog.Any("tokens", cfg.API.Tokens), slog.Any("key", cfg.Connectors["vt"].APIKey))
		outputs = append(outputs, buf.String())
	}

	for _, out := range outputs {
		if strings.Contains(out, "hunter2") || strings.Contains(strings.ToLower(out), "68756e74657232") {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(string(j), `"BotToken":"[redacted]"`) {
		t.Errorf("JSON does not show the secret as set: %s", j)
	}
}

func TestSecretEmptyStaysEmpty(t *testing.T) {
	var s Secret
	if got := fmt.Sprintf("%v|%s|%q", s, s, s); got != `||""` {
		t.Errorf("fmt: %q", got)
	}
	if j, _ := json.Marshal(s); string(j) != `""` {
		t.Errorf("json: %s", j)
	}
	if v := s.LogValue(); v.String() != "" {
		t.Errorf("slog: %q", v)
	}
	if got := fmt.Sprintf("%v", Secret("x")); got != "[redacted]" {
		t.Errorf("set secret prints %q", got)
	}
}

func TestSecretsNotInProblems(t *testing.T) {
	yaml := `
slack:
  bot_token: xoxp-hunter2
  app_token: hunter2-app
  signing_secret: [hunter2]
discord:
  bot_token: {hunter2: 1}
alerts:
  token: ${hunter2
  sources:
    wazuh:
      hmac_secret: ${BAD-hunter2}
local:
  users:
    - name: a
      password_hash: hunter2
api:
  tokens: [hunter2, hunter2]
`
	_, err := Parse("warroom.yaml", []byte(yaml), noEnv)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("secret in problems:\n%s", err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "2d", want: 48 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "1d0.5h", want: 24*time.Hour + 30*time.Minute},
		{in: "-1d", want: -24 * time.Hour},
		{in: " 0 ", want: 0},
		{in: "0d", want: 0},
		{in: "", err: true},
		{in: "30", err: true},
		{in: "1.5d", err: true},
		{in: "d", err: true},
		{in: "1d-1h", err: true},
		{in: "1h1d", err: true},
		{in: "1d1d", err: true},
		{in: "1w", err: true},
		{in: "106752d", err: true},
		{in: "106751d23h59m59s", err: true},
		{in: "99999999999999999999d", err: true},
	} {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	for d, want := range map[Duration]string{
		Duration(48 * time.Hour):   "2d",
		Duration(36 * time.Hour):   "36h0m0s",
		Duration(90 * time.Second): "1m30s",
		0:                          "0s",
	} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(d), got, want)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(want)); err != nil || back != d {
			t.Errorf("round trip of %q = %v, %v", want, back, err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Size
		err  bool
	}{
		{in: "1MiB", want: 1 << 20},
		{in: "512KiB", want: 512 << 10},
		{in: "10MB", want: 10_000_000},
		{in: "10 mb", want: 10_000_000},
		{in: "4096", want: 4096},
		{in: "4096B", want: 4096},
		{in: "1.5GiB", want: 3 << 29},
		{in: "0.5B", want: 0},
		{in: "1TiB", want: 1 << 40},
		{in: "", err: true},
		{in: "-1", err: true},
		{in: "1 MiB MiB", err: true},
		{in: "1PiB", err: true},
		{in: "MiB", err: true},
		{in: "1e3", err: true},
		{in: "99999999999TiB", err: true},
	} {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	for s, want := range map[Size]string{1 << 20: "1MiB", 1536: "1536B", 1000: "1000B", 0: "0B", 3 << 30: "3GiB"} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Rate
		err  bool
	}{
		{in: "4/min", want: Rate{4, time.Minute}},
		{in: "10/s", want: Rate{10, time.Second}},
		{in: "500/day", want: Rate{500, 24 * time.Hour}},
		{in: "5/10s", want: Rate{5, 10 * time.Second}},
		{in: " 100 / hour ", want: Rate{100, time.Hour}},
		{in: "1/M", want: Rate{1, time.Minute}},
		{in: "0/s", err: true},
		{in: "4", err: true},
		{in: "4/fortnight", err: true},
		{in: "4/0s", err: true},
		{in: "-1/s", err: true},
		{in: "4/min/s", err: true},
		{in: "99999999999999999999/s", err: true},
	} {
		got, err := ParseRate(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if got := (Rate{4, time.Minute}).Interval(); got != 15*time.Second {
		t.Errorf("Interval = %v", got)
	}
	for _, r := range []Rate{{4, time.Minute}, {10, time.Second}, {500, 24 * time.Hour}, {5, 10 * time.Second}, {3, 2 * time.Hour}, {7, 90 * time.Minute}} {
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Errorf("round trip of %v via %q = %v, %v", r, r.String(), back, err)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	for _, spec := range []string{"@daily", "@every 4h", "0 9 * * 1-5", "CRON_TZ=Europe/Berlin 0 9 * * 1-5", "TZ=UTC @hourly"} {
		if _, err := ParseSchedule(spec); err != nil {
			t.Errorf("ParseSchedule(%q): %v", spec, err)
		}
	}
	for _, spec := range []string{"", "CRON_TZ=UTC", "TZ=", "CRON_TZ=", "0 0 9 * * *", "@fortnightly", "CRON_TZ=Nowhere/Atlantis 0 9 * * *"} {
		s, err := ParseSchedule(spec)
		if err == nil || s != nil {
			t.Errorf("ParseSchedule(%q) = %v, %v; want an error", spec, s, err)
		}
	}
	// The bare time zone is the spec that makes robfig/cron panic.
	_, err := ParseSchedule("CRON_TZ=UTC")
	if err == nil || !strings.Contains(err.Error(), "time zone must be followed by a schedule") {
		t.Errorf("got %v", err)
	}
}

func TestErrorIsInspectable(t *testing.T) {
	_, err := Parse("w.yaml", []byte("listen: x\nlog_level: y\n"), noEnv)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T", err)
	}
	if len(e.Problems) != 2 || e.Problems[0] != (Problem{File: "w.yaml", Line: 1, Path: "listen", Msg: `must be host:port, such as 127.0.0.1:8080, got "x"`}) {
		t.Errorf("problems = %#v", e.Problems)
	}
}
