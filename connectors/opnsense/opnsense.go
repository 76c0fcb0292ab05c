// Package opnsense holds the OPNsense firewall actions opnsense.block_ip and
// opnsense.unblock_ip. They add an address to, and remove it from, a
// firewall alias through the alias_util API; a block rule that refers to
// the alias (typically of type "External (advanced)", whose content lives
// only in the running table) does the blocking.
//
// Blocking the wrong address can cut off the firewall's own network, so
// the input is checked to be an address or a network before any call, and
// loopback, private, link-local and carrier-grade NAT ranges are refused
// unless the step says allow_private: true.
package opnsense

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// Config configures the connector.
type Config struct {
	// URL is the firewall's web interface, such as
	// "https://fw.example.net". Required.
	URL string
	// Key and Secret are an API key pair of an OPNsense user allowed to
	// use the alias utilities. Required.
	Key    string
	Secret string
	// Alias is the alias used when a step names none.
	Alias string
	// HTTP sends the requests; nil means a client with a 30 s timeout.
	// Firewalls often have a certificate of an internal CA: give a client
	// whose transport trusts it.
	HTTP *http.Client
	// Sleep waits between retries; nil means the wall clock. It exists so
	// that tests of rate limiting and retries do not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Connector calls one firewall. It is safe for concurrent use.
type Connector struct {
	api   *restapi.Client
	alias string
}

// aliasRE is an OPNsense alias name: letters, digits and underscores, at
// most 32 characters. It also keeps the name a single path segment.
var aliasRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// New checks c and returns a connector. It makes no request.
func New(c Config) (*Connector, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{{"url", c.URL}, {"key", c.Key}, {"secret", c.Secret}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("opnsense: missing %s", strings.Join(missing, ", "))
	}
	if _, err := restapi.BaseURL(c.URL, ""); err != nil {
		return nil, fmt.Errorf("opnsense: url %w", err)
	}
	if c.Alias != "" && !aliasRE.MatchString(c.Alias) {
		return nil, fmt.Errorf("opnsense: alias %q is not an alias name (letters, digits, _)", c.Alias)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Key+":"+c.Secret))
	return &Connector{alias: c.Alias, api: &restapi.Client{
		BaseURL: c.URL,
		HTTP:    c.HTTP,
		Sleep:   c.Sleep,
		Auth:    restapi.HeaderAuth("Authorization", basic),
	}}, nil
}

// Actions returns opnsense.block_ip and opnsense.unblock_ip.
func (c *Connector) Actions() []connectors.Action {
	return []connectors.Action{&aliasAction{c: c, op: "add"}, &aliasAction{c: c, op: "delete"}}
}

// aliasAction is opnsense.block_ip (op add) or opnsense.unblock_ip (op
// delete).
type aliasAction struct {
	c  *Connector
	op string // alias_util operation
}

// Spec declares the action's inputs and outputs.
func (a *aliasAction) Spec() connectors.Spec {
	s := connectors.Spec{
		Name: "opnsense.block_ip",
		Doc:  "Block an address or network by adding it to an OPNsense firewall alias. Private, loopback and link-local ranges are refused unless allow_private is true.",
		Inputs: []connectors.Field{
			{Name: "ip", Type: connectors.String, Required: true, Doc: "IPv4 or IPv6 address, or network in CIDR notation."},
			{Name: "alias", Type: connectors.String, Doc: "Alias to change; empty means the configured one."},
		},
		Outputs: []connectors.Field{
			{Name: "ip", Type: connectors.String, Doc: "The address or network, in canonical form."},
			{Name: "alias", Type: connectors.String, Doc: "The alias changed."},
			{Name: "status", Type: connectors.String, Doc: "OPNsense's answer: done."},
		},
		Destructive: true,
		// Adding an address the alias holds, or deleting one it does
		// not, changes nothing.
		Idempotent: true,
	}
	if a.op == "delete" {
		s.Name = "opnsense.unblock_ip"
		s.Doc = "Unblock an address or network by removing it from an OPNsense firewall alias."
		s.Destructive = false
		return s
	}
	s.Inputs = append(s.Inputs, connectors.AllowPrivateInput)
	return s
}

// Run checks the address and changes the alias.
func (a *aliasAction) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	ip, alias, err := a.parse(call.With)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string `json:"status"`
	}
	err = a.c.api.Do(ctx, restapi.Request{
		Method:     http.MethodPost,
		Path:       "/api/firewall/alias_util/" + a.op + "/" + alias,
		JSON:       map[string]string{"address": ip},
		Idempotent: true,
	}, &resp)
	verb := "add " + ip + " to"
	if a.op == "delete" {
		verb = "remove " + ip + " from"
	}
	if err != nil {
		return nil, fmt.Errorf("%s alias %s: %w", verb, alias, err)
	}
	if resp.Status != "done" {
		return nil, fmt.Errorf("%s alias %s: OPNsense answered status %q (does the alias exist?)", verb, alias, resp.Status)
	}
	return map[string]any{"ip": ip, "alias": alias, "status": resp.Status}, nil
}

// parse checks the inputs and returns the address in canonical form and
// the alias.
func (a *aliasAction) parse(with map[string]any) (ip, alias string, err error) {
	p, err := connectors.BlockTarget(with, a.op == "add")
	if err != nil {
		return "", "", err
	}
	if alias, err = connectors.Text(with, "alias"); err != nil {
		return "", "", err
	}
	if alias == "" {
		alias = a.c.alias
	}
	switch {
	case alias == "":
		return "", "", errors.New("with.alias: required: no default alias is configured")
	case !aliasRE.MatchString(alias):
		return "", "", fmt.Errorf("with.alias: %q is not an alias name (letters, digits, _)", alias)
	}
	return connectors.FormatNetwork(p), alias, nil
}
