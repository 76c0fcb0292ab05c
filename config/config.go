package config

import (
	"slices"
	"time"
)

// DefaultPath is the file [Load] reads when given no path. A missing file at
// this path is not an error, so that warroom can start with defaults for a
// quick trial.
const DefaultPath = "warroom.yaml"

// Config is the whole configuration file. The yaml key names are a public
// contract with operators' files and must not change.
//
// A Config returned by [Load] or [Parse] has been validated. Code that builds
// one by hand (tests, mostly) should start from [Default] so that settings
// absent from the file keep their intended defaults.
type Config struct {
	// Listen is the host:port the HTTP server binds to.
	Listen string `yaml:"listen"`
	// Database is the path of the SQLite database.
	Database string `yaml:"database"`
	// BaseURL is warroom's public URL, used to build links in chat
	// messages; empty means links are not generated.
	BaseURL string `yaml:"base_url"`
	// DatabaseSync is SQLite's commit durability: "full" (default) survives
	// power loss; "normal" survives any crash of the process, may lose the
	// last commits on power loss, and writes several times faster.
	DatabaseSync string `yaml:"database_sync"`
	// LogLevel is one of debug, info, warn or error.
	LogLevel string `yaml:"log_level"`

	// Slack configures the Slack integration; see [Config.SlackEnabled].
	Slack SlackConfig `yaml:"slack"`
	// Discord configures the Discord integration; see
	// [Config.DiscordEnabled].
	Discord DiscordConfig `yaml:"discord"`
	// Incidents sets how incident rooms are created.
	Incidents IncidentsConfig `yaml:"incidents"`

	// Playbooks is the directory holding playbook files; empty disables
	// playbooks.
	Playbooks string `yaml:"playbooks"`
	// PlaybookEnv lists the environment variables playbooks may read. It is
	// an allow-list because the server's environment holds its own
	// credentials.
	PlaybookEnv []string `yaml:"playbook_env"`
	// Exec limits which programs playbooks may run.
	Exec ExecConfig `yaml:"exec"`

	// Roles maps a role name to the chat user and group IDs that hold it.
	Roles map[string][]string `yaml:"roles"`
	// Commands maps a bot command (such as "incident close") to the role
	// required to run it. Every role named here exists in Roles.
	Commands map[string]string `yaml:"commands"`
	// Approvals configures the approval step for dangerous actions.
	Approvals ApprovalsConfig `yaml:"approvals"`

	// Digests are scheduled incident summaries posted to channels.
	Digests []DigestConfig `yaml:"digests"`
	// Reminders nudges responders about stale or unowned incidents.
	Reminders RemindersConfig `yaml:"reminders"`
	// Alerts configures the inbound alert webhooks.
	Alerts AlertsConfig `yaml:"alerts"`
	// Connectors configures enrichment and response integrations, keyed by
	// connector name.
	Connectors map[string]ConnectorConfig `yaml:"connectors"`
	// Enrichment tunes the lookups made when an incident opens.
	Enrichment EnrichmentConfig `yaml:"enrichment"`
	// Local holds the accounts of the built-in web room.
	Local LocalConfig `yaml:"local"`
	// API configures the HTTP API.
	API APIConfig `yaml:"api"`

	// meta is a pointer so that printing a Config with %+v shows the
	// settings rather than the loader's bookkeeping.
	meta *meta
}

// meta is what the loader learnt about the file besides the settings.
type meta struct {
	file    string
	lines   map[string]int
	unset   []string
	unsetAt map[string][]string
	failed  map[string]bool
}

// info returns the loader's bookkeeping, empty for a Config that was not
// loaded from a file.
func (c *Config) info() *meta {
	if c.meta == nil {
		return &meta{}
	}
	return c.meta
}

// SlackConfig configures the Slack integration.
type SlackConfig struct {
	// BotToken is the xoxb- bot token; setting it enables Slack.
	BotToken Secret `yaml:"bot_token"`
	// SigningSecret verifies Events API and interactivity requests sent
	// over HTTP.
	SigningSecret Secret `yaml:"signing_secret"`
	// AppToken is the xapp- app-level token for Socket Mode, which needs no
	// public endpoint.
	AppToken Secret `yaml:"app_token"`
	// APIURL overrides the Slack Web API base URL, for tests and proxies.
	APIURL string `yaml:"api_url"`
}

// DiscordConfig configures the Discord integration.
type DiscordConfig struct {
	// BotToken is the bot token; setting it enables Discord.
	BotToken Secret `yaml:"bot_token"`
	// ApplicationID is the application (client) ID used to register slash
	// commands.
	ApplicationID string `yaml:"application_id"`
	// PublicKey is the hex Ed25519 key that verifies interaction requests;
	// it is required with the http transport.
	PublicKey string `yaml:"public_key"`
	// GuildID is the server in which incident channels are created.
	GuildID string `yaml:"guild_id"`
	// APIURL overrides the Discord API base URL, for tests and proxies.
	APIURL string `yaml:"api_url"`
	// Transport is "gateway" (a websocket, no public endpoint needed) or
	// "http" (an interactions endpoint).
	Transport string `yaml:"transport"`
	// IncidentCategory is the category new incident channels go into.
	IncidentCategory string `yaml:"incident_category"`
	// ArchiveCategory is where closed incident channels are moved when
	// OnClose is "archive".
	ArchiveCategory string `yaml:"archive_category"`
	// OnClose is "archive" or "delete".
	OnClose string `yaml:"on_close"`
}

// IncidentsConfig sets how incident rooms are created.
type IncidentsConfig struct {
	// ChannelPrefix starts every incident channel name; lower-case letters,
	// digits and dashes only, because both Slack and Discord reject others.
	ChannelPrefix string `yaml:"channel_prefix"`
	// Responders are user IDs invited to every new incident.
	Responders []string `yaml:"responders"`
	// Private makes incident channels private.
	Private bool `yaml:"private"`
}

// ExecConfig limits which programs playbooks may run.
type ExecConfig struct {
	// Allow lists absolute paths or bare command names (looked up in PATH)
	// that playbooks may execute; anything else is refused.
	Allow []string `yaml:"allow"`
}

// ApprovalsConfig configures the approval step for dangerous actions.
type ApprovalsConfig struct {
	// FourEyes requires a second person to approve dangerous actions. It is
	// a pointer so that "absent" can mean the safe default; read it through
	// [Config.FourEyes].
	FourEyes *bool `yaml:"four_eyes"`
	// Timeout is how long an approval request stays open.
	Timeout Duration `yaml:"timeout"`
}

// DigestConfig is one scheduled incident summary.
type DigestConfig struct {
	// Name identifies the digest in logs and commands; unique.
	Name string `yaml:"name"`
	// Schedule is a five-field cron spec or a descriptor such as @daily or
	// "@every 4h", optionally prefixed with CRON_TZ=Zone; see
	// [ParseSchedule].
	Schedule string `yaml:"schedule"`
	// Channel is where the digest is posted.
	Channel string `yaml:"channel"`
	// Filter selects the incidents the digest covers.
	Filter DigestFilter `yaml:"filter"`
	// SkipEmpty suppresses the post when no incident matches.
	SkipEmpty bool `yaml:"skip_empty"`
}

// DigestFilter selects the incidents a digest covers.
type DigestFilter struct {
	// Status limits the digest to incidents in these states; empty means
	// all states.
	Status []string `yaml:"status"`
	// MinSeverity limits the digest to incidents at least this severe;
	// empty means all severities.
	MinSeverity string `yaml:"min_severity"`
}

// RemindersConfig nudges responders about stale or unowned incidents. A
// zero duration disables the corresponding reminder.
type RemindersConfig struct {
	// QuietAfter is how long an open incident may go without activity.
	QuietAfter Duration `yaml:"quiet_after"`
	// UnassignedAfter is how long an incident may go without an owner.
	UnassignedAfter Duration `yaml:"unassigned_after"`
	// Repeat is how often a reminder is repeated while the condition holds.
	Repeat Duration `yaml:"repeat"`
}

// AlertsConfig configures the inbound alert webhooks.
type AlertsConfig struct {
	// Token is a bearer token accepted by every alert source that has no
	// token of its own.
	Token Secret `yaml:"token"`
	// Sources holds per-source credentials, keyed by source name
	// (alertmanager, splunk, elastic, grafana, wazuh, suricata, generic).
	Sources map[string]AlertSource `yaml:"sources"`
	// GroupBy lists the alert labels whose values together decide which
	// alerts belong to the same incident.
	GroupBy []string `yaml:"group_by"`
	// GroupWindow is how long after an incident's last alert further
	// alerts of its group still fold into it.
	GroupWindow Duration `yaml:"group_window"`
	// MaxBody caps the size of a webhook request body.
	MaxBody Size `yaml:"max_body"`
	// SeverityMap translates a source's own severity values into warroom
	// severities, keyed by source and then by raw value.
	SeverityMap map[string]map[string]string `yaml:"severity_map"`
	// Generic describes how to read JSON from tools without a dedicated
	// parser, keyed by endpoint name.
	Generic map[string]GenericAlert `yaml:"generic"`
}

// AlertSource holds the credentials of one alert source.
type AlertSource struct {
	// Token is the bearer token this source must present.
	Token Secret `yaml:"token"`
	// HMACSecret, when set, requires requests to carry an HMAC-SHA256
	// signature of the body.
	HMACSecret Secret `yaml:"hmac_secret"`
	// HMACHeader names the header carrying the signature; empty means the
	// source's usual header.
	HMACHeader string `yaml:"hmac_header"`
}

// GenericAlert maps fields of an arbitrary JSON alert onto an incident.
// Each value is a path into the JSON document.
type GenericAlert struct {
	// Title is the path of the alert title; required.
	Title string `yaml:"title"`
	// Severity is the path of the raw severity, translated through
	// AlertsConfig.SeverityMap.
	Severity string `yaml:"severity"`
	// Fingerprint is the path of a value identifying repeats of the same
	// alert.
	Fingerprint string `yaml:"fingerprint"`
	// Description is the path of the alert description.
	Description string `yaml:"description"`
	// Observables maps an observable kind (ip, domain, hash, ...) to the
	// path holding it.
	Observables map[string]string `yaml:"observables"`
}

// ConnectorConfig configures one enrichment or response connector.
type ConnectorConfig struct {
	// APIKey authenticates to the connector's service.
	APIKey Secret `yaml:"api_key"`
	// APISecret is the second half of a key pair (OPNsense's key and secret).
	APISecret Secret `yaml:"api_secret"`
	// ClientID and ClientSecret are OAuth2 client credentials (CrowdStrike
	// Falcon, Microsoft Entra ID for Defender).
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	// APIURL overrides the service's base URL.
	APIURL string `yaml:"api_url"`
	// Timeout bounds each call; zero means the connector's own default.
	Timeout Duration `yaml:"timeout"`
	// RateLimit caps calls to the service, such as "4/min"; see
	// [ParseRate]. Empty means no limit.
	RateLimit string `yaml:"rate_limit"`
	// Enabled defaults to true for every listed connector, so that
	// "enabled: false" can switch one off without deleting its settings.
	Enabled bool `yaml:"enabled"`
	// Files lists files the connector needs, such as feed exports.
	Files []string `yaml:"files"`
	// File is the one file of a connector that reads one, such as the
	// inventory's asset list.
	File string `yaml:"file"`
	// CacheTTL is how long answers are kept; zero means six hours, and a
	// negative value turns the cache off.
	CacheTTL Duration `yaml:"cache_ttl"`
	// Options holds connector-specific settings.
	Options map[string]string `yaml:"options"`
	// TLP is the Traffic Light Protocol level of what this source returns:
	// "red" results stay in the case log and dashboard, "amber" ones go only
	// to private incident channels; empty or "green"/"clear" go anywhere.
	TLP string `yaml:"tlp"`
}

// setDefaults gives connectors listed in the file their default values
// before the file's own settings are applied.
func (c *ConnectorConfig) setDefaults() { c.Enabled = true }

// EnrichmentConfig tunes indicator lookups.
type EnrichmentConfig struct {
	// Allowlist holds the organisation's own domains, address ranges and
	// known scanners: they are never looked up or shown as findings.
	Allowlist []string `yaml:"allowlist"`
	// MaxIndicators bounds the indicators looked up per incident (default
	// 25), so one alert full of addresses cannot spend a day's API quota.
	MaxIndicators int `yaml:"max_indicators"`
}

// LocalConfig holds the accounts of the built-in web room.
type LocalConfig struct {
	// Users are the local accounts.
	Users []LocalUser `yaml:"users"`
}

// LocalUser is one account of the built-in web room.
type LocalUser struct {
	// Name is the login name; unique.
	Name string `yaml:"name"`
	// Role is the role the user holds; it must exist in Config.Roles.
	Role string `yaml:"role"`
	// PasswordHash is a bcrypt hash ($2a$, $2b$ or $2y$). It is a Secret
	// because a leaked hash can be cracked offline.
	PasswordHash Secret `yaml:"password_hash"`
}

// APIConfig configures the HTTP API.
type APIConfig struct {
	// Tokens are the bearer tokens accepted by the API, each acting as a
	// named user with a role, so that scripts are held to the same
	// permissions as people.
	Tokens []APIToken `yaml:"tokens"`
}

// APIToken is one bearer token of the HTTP API. Requests made with it act
// as the actor "api:<Name>".
type APIToken struct {
	// Name identifies the token in the case log and in logs; unique.
	Name string `yaml:"name"`
	// Token is the bearer token itself, at least 16 characters; unique.
	Token Secret `yaml:"token"`
	// Role is the role the token holds; it must exist in Config.Roles.
	// Empty means no role: the token may run only commands that need none.
	Role string `yaml:"role"`
}

// Default returns the configuration used when no file exists, and the base
// onto which a file's settings are applied. Each call returns a fresh value
// that the caller may modify.
func Default() *Config {
	fourEyes := true
	return &Config{
		Listen:       "127.0.0.1:8080",
		Database:     "warroom.db",
		DatabaseSync: "full",
		LogLevel:     "info",
		Discord:      DiscordConfig{Transport: "gateway", OnClose: "archive"},
		Incidents:    IncidentsConfig{ChannelPrefix: "inc"},
		Approvals:    ApprovalsConfig{FourEyes: &fourEyes, Timeout: Duration(time.Hour)},
		Alerts: AlertsConfig{
			GroupWindow: Duration(10 * time.Minute),
			MaxBody:     1 << 20,
		},
	}
}

// SlackEnabled reports whether the Slack integration should start. The bot
// token is the switch so that one file can serve environments with and
// without Slack, by setting or omitting a single environment variable.
func (c *Config) SlackEnabled() bool { return c.Slack.BotToken != "" }

// DiscordEnabled reports whether the Discord integration should start. As
// with Slack, the bot token is the switch.
func (c *Config) DiscordEnabled() bool { return c.Discord.BotToken != "" }

// FourEyes reports whether dangerous actions need a second person's
// approval. It fails safe: a Config built by hand without
// Approvals.FourEyes gets the protection rather than silently losing it.
func (c *Config) FourEyes() bool {
	return c.Approvals.FourEyes == nil || *c.Approvals.FourEyes
}

// UnsetVars returns, sorted, the names of environment variables the file
// referenced without a default while they were unset. The server should
// warn about them because an unset variable usually means a typo or a
// missing secret, yet it cannot be an error: one file is often shared by
// environments that deliberately leave some integrations off. Values are
// never recorded.
func (c *Config) UnsetVars() []string {
	return slices.Clone(c.info().unset)
}

// File returns the name the configuration was loaded from, or "" for
// [Default], so that later checks can report problems against it.
func (c *Config) File() string { return c.info().file }

// Line returns the line on which a setting was written, or 0 if the file
// did not set it. Paths use the yaml key names joined by dots, with list
// indexes in brackets and map keys that are not plain words quoted in
// brackets: "slack.api_url", "digests[0].schedule",
// "connectors.virustotal.timeout", `commands["incident close"]`. It exists
// so that checks made outside this package, such as whether the playbook
// directory exists, can still point at the right line.
func (c *Config) Line(path string) int { return c.info().lines[path] }

// Problem builds a [Problem] for the setting at path, filled in with the
// file name and line, so that other packages can report their own checks of
// the configuration in the same format as the loader (wrap them in an
// [Error] to return them). If the file did not set path, the line of the
// nearest enclosing setting it did set is used.
func (c *Config) Problem(path, msg string) Problem {
	m := c.info()
	line := 0
	for p := range enclosing(path) {
		if l, ok := m.lines[p]; ok {
			line = l
			break
		}
	}
	return Problem{File: m.file, Line: line, Path: path, Msg: msg}
}
