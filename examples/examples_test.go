// Package examples_test keeps the files in examples/ working: every example
// configuration must load, and the Slack app manifest must point at the
// endpoints warroom serves.
package examples_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/warroom-bot/warroom/config"
)

// exampleEnv holds a test value for every environment variable the
// examples reference, valid for the setting it ends up in.
var exampleEnv = map[string]string{
	"SLACK_BOT_TOKEN":            "xoxb-0000-1111-examplebottoken",
	"SLACK_SIGNING_SECRET":       "0123456789abcdef0123456789abcdef",
	"SLACK_APP_TOKEN":            "xapp-1-A0000-1111-exampleapptoken",
	"WARROOM_ALERT_TOKEN":        "alerts-token-0123456789",
	"ALERTMANAGER_WEBHOOK_TOKEN": "alertmanager-token-0123456789",
	"GRAFANA_WEBHOOK_SECRET":     "grafana-secret-0123456789",
	"VT_API_KEY":                 "vt-key-0123456789",
	"ABUSEIPDB_API_KEY":          "abuseipdb-key-0123456789",
	"GREYNOISE_API_KEY":          "greynoise-key-0123456789",
	"MISP_API_KEY":               "misp-key-0123456789",
	"FALCON_CLIENT_ID":           "falcon-client-0123456789",
	"FALCON_CLIENT_SECRET":       "falcon-secret-0123456789",
	"OKTA_API_TOKEN":             "okta-token-0123456789",
	"PAGERDUTY_ROUTING_KEY":      "R0123456789ABCDEF0123456789ABCDEF",
	"DISCORD_BOT_TOKEN":          "discord-bot-token-0123456789",
	"DISCORD_PUBLIC_KEY":         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"WARROOM_API_TOKEN":          "api-token-0123456789abcdef",
}

// parse loads an example with env as the environment. With all set, a
// variable missing from exampleEnv fails the test, so that the list above
// and the examples stay in step.
func parse(t *testing.T, name string, data []byte, all bool) *config.Config {
	t.Helper()
	env := func(key string) (string, bool) {
		v, ok := exampleEnv[key]
		if !ok {
			t.Errorf("%s references ${%s}, which exampleEnv does not list", name, key)
		}
		if !all {
			return "", false
		}
		return v, ok
	}
	cfg, err := config.Parse(name, data, env)
	if err != nil {
		t.Fatalf("%s does not load:\n%v", name, err)
	}
	if all {
		if unset := cfg.UnsetVars(); len(unset) > 0 {
			t.Errorf("%s: variables reported unset: %v", name, unset)
		}
	}
	return cfg
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// optionalLine matches a commented-out setting: "#" directly followed by a
// key, or by the two or more spaces of a nested line. Explanations start
// with "# " and one space only.
var optionalLine = regexp.MustCompile(`^#([^\s#]|  )`)

// enableOptional turns on every optional setting of an example by removing
// the "#" in front of it, as a reader would.
func enableOptional(data []byte) (out []byte, n int) {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if optionalLine.MatchString(l) {
			lines[i] = l[1:]
			n++
		}
	}
	return []byte(strings.Join(lines, "\n")), n
}

func TestExampleConfig(t *testing.T) {
	const name = "warroom.yaml"
	data := read(t, name)

	t.Run("as shipped", func(t *testing.T) {
		cfg := parse(t, name, data, true)
		if !cfg.SlackEnabled() {
			t.Error("Slack is off with SLACK_BOT_TOKEN set")
		}
		if cfg.Incidents.ChannelPrefix == "" || len(cfg.Incidents.Responders) == 0 {
			t.Errorf("incidents: got %+v, want a prefix and responders", cfg.Incidents)
		}
		if len(cfg.Roles["lead"]) == 0 || len(cfg.Roles["responder"]) == 0 {
			t.Errorf("roles: got %v, want lead and responder", cfg.Roles)
		}
		if got := cfg.Commands["incident close"]; got != "lead" {
			t.Errorf(`commands["incident close"] = %q, want lead`, got)
		}
		if cfg.Playbooks != "examples/playbooks" || len(cfg.PlaybookEnv) == 0 {
			t.Errorf("playbooks: got %q with env %v, want the example playbooks", cfg.Playbooks, cfg.PlaybookEnv)
		}
		if cfg.Alerts.Token != "" || len(cfg.Connectors) > 0 || len(cfg.Digests) > 0 {
			t.Error("optional settings are on in the file as shipped; they should be commented out")
		}
	})

	t.Run("without environment", func(t *testing.T) {
		// A trial run with no tokens: Slack stays off, the local platform
		// takes over, and the file must still load.
		cfg := parse(t, name, data, false)
		if cfg.SlackEnabled() {
			t.Error("Slack is on with no token set")
		}
	})

	t.Run("every optional setting on", func(t *testing.T) {
		full, n := enableOptional(data)
		if n == 0 {
			t.Fatal("found no optional settings to turn on")
		}
		cfg := parse(t, name, full, true)
		checks := []struct {
			block string
			on    bool
		}{
			{"exec", len(cfg.Exec.Allow) > 0},
			{"alerts", cfg.Alerts.Token != "" && len(cfg.Alerts.Sources) > 0 && len(cfg.Alerts.Generic) > 0},
			{"connectors", len(cfg.Connectors) > 0},
			{"digests", len(cfg.Digests) > 0},
			{"reminders", cfg.Reminders.QuietAfter > 0},
			{"enrichment", len(cfg.Enrichment.Allowlist) > 0},
			{"discord", cfg.DiscordEnabled()},
			{"local", len(cfg.Local.Users) > 0},
			{"api", len(cfg.API.Tokens) > 0},
		}
		for _, c := range checks {
			if !c.on {
				t.Errorf("%s: not set after removing the leading # of optional settings", c.block)
			}
		}
		if t.Failed() {
			t.Logf("file with optional settings on:\n%s", full)
		}
	})
}

func TestDockerConfig(t *testing.T) {
	const name = "docker/warroom.yaml"
	data := read(t, name)
	for _, all := range []bool{true, false} {
		cfg := parse(t, name, data, all)
		if cfg.Listen != "0.0.0.0:8080" {
			t.Errorf("listen = %q, want 0.0.0.0:8080 (the port the Dockerfile exposes)", cfg.Listen)
		}
		if cfg.Database != "/var/lib/warroom/warroom.db" {
			t.Errorf("database = %q, want it in /var/lib/warroom, the image's writable data dir", cfg.Database)
		}
		if cfg.SlackEnabled() != all {
			t.Errorf("with the Slack variables set=%v, SlackEnabled() = %v", all, cfg.SlackEnabled())
		}
	}
}

type manifest struct {
	DisplayInformation struct {
		Name            string `yaml:"name"`
		Description     string `yaml:"description"`
		LongDescription string `yaml:"long_description"`
	} `yaml:"display_information"`
	Features struct {
		BotUser struct {
			DisplayName string `yaml:"display_name"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			Description  string `yaml:"description"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
	} `yaml:"settings"`
}

func TestSlackManifest(t *testing.T) {
	var m manifest
	if err := yaml.Unmarshal(read(t, "slack-manifest.yaml"), &m); err != nil {
		t.Fatalf("slack-manifest.yaml: %v", err)
	}

	// Slack's own limits, which it enforces when the app is created.
	di := m.DisplayInformation
	if di.Name == "" || m.Features.BotUser.DisplayName == "" {
		t.Error("display_information.name and features.bot_user.display_name are required")
	}
	if n := len(di.Description); n == 0 || n > 140 {
		t.Errorf("display_information.description is %d characters, want 1 to 140", n)
	}
	if n := len(di.LongDescription); n != 0 && (n < 174 || n > 4000) {
		t.Errorf("display_information.long_description is %d characters, want 174 to 4000", n)
	}

	// The paths are warroom's HTTP contract (DESIGN.md).
	var commands []string
	for _, c := range m.Features.SlashCommands {
		commands = append(commands, c.Command)
		if !strings.HasPrefix(c.URL, "https://") || !strings.HasSuffix(c.URL, "/slack/commands") {
			t.Errorf("%s: url %q, want https://.../slack/commands", c.Command, c.URL)
		}
		if c.Description == "" || c.UsageHint == "" {
			t.Errorf("%s: needs a description and a usage hint", c.Command)
		}
		// Escaped, user mentions arrive as <@U123|name>, so the parser sees
		// IDs rather than display names that anyone can change.
		if !c.ShouldEscape {
			t.Errorf("%s: should_escape must be true", c.Command)
		}
	}
	slices.Sort(commands)
	if want := []string{"/contain", "/enrich", "/incident", "/playbook"}; !slices.Equal(commands, want) {
		t.Errorf("slash commands = %v, want %v", commands, want)
	}

	s := m.Settings
	if u := s.EventSubscriptions.RequestURL; !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "/slack/events") {
		t.Errorf("event_subscriptions.request_url = %q, want https://.../slack/events", u)
	}
	if u := s.Interactivity.RequestURL; !s.Interactivity.IsEnabled || !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "/slack/interactions") {
		t.Errorf("interactivity = %+v, want enabled with https://.../slack/interactions", s.Interactivity)
	}
	for _, ev := range []string{"member_joined_channel", "app_mention"} {
		if !slices.Contains(s.EventSubscriptions.BotEvents, ev) {
			t.Errorf("bot_events lacks %s", ev)
		}
	}

	// The scopes the adapter's Web API calls need; app_mentions:read is
	// what the app_mention event requires.
	for _, scope := range []string{
		"app_mentions:read", "channels:manage", "groups:write", "channels:read", "groups:read",
		"channels:history", "groups:history", "chat:write", "chat:write.public", "commands",
		"pins:write", "users:read", "usergroups:read", "im:write",
	} {
		if !slices.Contains(m.OAuthConfig.Scopes.Bot, scope) {
			t.Errorf("oauth_config.scopes.bot lacks %s", scope)
		}
	}
}
