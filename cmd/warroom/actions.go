package main

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/crowdstrike"
	"github.com/warroom-bot/warroom/connectors/defender"
	"github.com/warroom-bot/warroom/connectors/execrun"
	"github.com/warroom-bot/warroom/connectors/httpreq"
	"github.com/warroom-bot/warroom/connectors/jira"
	"github.com/warroom-bot/warroom/connectors/nftables"
	"github.com/warroom-bot/warroom/connectors/okta"
	"github.com/warroom-bot/warroom/connectors/opnsense"
	"github.com/warroom-bot/warroom/connectors/pagerduty"
	"github.com/warroom-bot/warroom/connectors/thehive"
	"github.com/warroom-bot/warroom/connectors/wait"
)

// responders build the response connectors from their config blocks. A
// connector is only registered when it is configured, so a playbook that
// names crowdstrike.contain without connectors.crowdstrike fails
// validation instead of failing mid-incident. run is the exec.run action
// (allowed to start the programs in allow), which nftables runs nft with.
func responders(run connectors.Action, allow []string) map[string]func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
	return map[string]func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error){
		"crowdstrike": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
			return actionsOf(crowdstrike.New(crowdstrike.Config{ClientID: cc.ClientID, ClientSecret: cc.ClientSecret.Reveal(), APIURL: cc.APIURL, HTTP: hc}))
		},
		"defender": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
			return actionsOf(defender.New(defender.Config{TenantID: cc.Options["tenant_id"], ClientID: cc.ClientID,
				ClientSecret: cc.ClientSecret.Reveal(), APIURL: cc.APIURL, LoginURL: cc.Options["login_url"], HTTP: hc}))
		},
		"okta": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
			return actionsOf(okta.New(okta.Config{OrgURL: cc.APIURL, Token: cc.APIKey.Reveal(), HTTP: hc}))
		},
		"opnsense": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
			return actionsOf(opnsense.New(opnsense.Config{URL: cc.APIURL, Key: cc.APIKey.Reveal(), Secret: cc.APISecret.Reveal(),
				Alias: cc.Options["alias"], HTTP: hc}))
		},
		"jira": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
			jc := jira.Config{BaseURL: cc.APIURL, Email: cc.Options["email"], Project: cc.Options["project"],
				IssueType: cc.Options["issue_type"], HTTP: hc}
			if jc.Email != "" {
				jc.APIToken = cc.APIKey.Reveal() // Jira Cloud: e-mail and API token
			} else {
				jc.PAT = cc.APIKey.Reveal() // Jira Server / Data Center: personal access token
			}
			return actionsOf(jira.New(jc))
		},
		"thehive": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
			return actionsOf(thehive.New(thehive.Config{URL: cc.APIURL, APIKey: cc.APIKey.Reveal(), HTTP: hc}))
		},
		"pagerduty": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
			return actionsOf(pagerduty.New(pagerduty.Config{RoutingKey: cc.APIKey.Reveal(), EventsURL: cc.APIURL, HTTP: hc}))
		},
		"nftables": func(cc config.ConnectorConfig, _ *http.Client) ([]connectors.Action, error) {
			n, err := nftables.New(nftables.Config{Exec: run, Program: cc.Options["program"], Family: cc.Options["family"],
				Table: cc.Options["table"], Set: cc.Options["set"], Set6: cc.Options["set6"], Timeout: cc.Timeout.Std()})
			if err != nil {
				return nil, err
			}
			// Said at start rather than at the first block, mid-incident.
			if !slices.ContainsFunc(allow, func(a string) bool { return filepath.Clean(a) == filepath.Clean(n.Program()) }) {
				return nil, fmt.Errorf("nftables runs %s through exec.run: add %s to exec.allow", n.Program(), n.Program())
			}
			return n.Actions(), nil
		},
	}
}

// actionsOf lists the actions of a response connector its New built.
func actionsOf[C interface{ Actions() []connectors.Action }](c C, err error) ([]connectors.Action, error) {
	if err != nil {
		return nil, err
	}
	return c.Actions(), nil
}

// actionRegistry is the one place where connector actions are registered:
// the built-in ones, then every configured and enabled response connector.
func actionRegistry(cfg *config.Config) (*connectors.Registry, error) {
	r := connectors.NewRegistry()
	r.Register(httpreq.New(httpreq.Options{}))
	run := execrun.New(cfg.Exec.Allow)
	r.Register(run)
	r.Register(wait.New(nil))
	err := buildEnabled(cfg, responders(run, cfg.Exec.Allow), func(_ string, _ config.ConnectorConfig, actions []connectors.Action) error {
		for _, a := range actions {
			r.Register(a)
		}
		return nil
	})
	return r, err
}

// buildEnabled builds, in name order, every enabled connector of cfg that
// builders knows, and hands each to use. A name no builder knows is an
// error (a typo would otherwise switch a connector off without a word).
// Every failure is reported, each under its connector's name, not just the
// first. A connector's timeout bounds each of its HTTP requests; without
// one, the connector's own default applies.
func buildEnabled[T any](cfg *config.Config, builders map[string]func(config.ConnectorConfig, *http.Client) (T, error),
	use func(name string, cc config.ConnectorConfig, built T) error) error {
	var problems []error
	for _, name := range slices.Sorted(maps.Keys(cfg.Connectors)) {
		build, ok := builders[name]
		cc := cfg.Connectors[name]
		if !ok && !knownConnector(name) {
			problems = append(problems, fmt.Errorf("connectors.%s: unknown connector (known: %s)", name, strings.Join(connectorNames(), ", ")))
		}
		if !ok || !cc.Enabled {
			continue
		}
		var hc *http.Client
		if d := cc.Timeout.Std(); d > 0 {
			hc = &http.Client{Timeout: d}
		}
		built, err := build(cc, hc)
		if err != nil {
			problems = append(problems, fmt.Errorf("connectors.%s: %w", name, err))
			continue
		}
		if err := use(name, cc, built); err != nil {
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}

// knownConnector reports whether name is an enrichment source or a
// response connector.
func knownConnector(name string) bool {
	_, source := sourceBuilders[name]
	_, responder := responders(nil, nil)[name]
	return source || responder
}

// connectorNames lists every connector name the config may use, sorted.
func connectorNames() []string {
	names := slices.Collect(maps.Keys(sourceBuilders))
	names = slices.AppendSeq(names, maps.Keys(responders(nil, nil)))
	slices.Sort(names)
	return names
}
