package main

import (
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/crowdstrike"
	"github.com/warroom-bot/warroom/connectors/defender"
	"github.com/warroom-bot/warroom/connectors/execrun"
	"github.com/warroom-bot/warroom/connectors/httpreq"
	"github.com/warroom-bot/warroom/connectors/jira"
	"github.com/warroom-bot/warroom/connectors/okta"
	"github.com/warroom-bot/warroom/connectors/opnsense"
	"github.com/warroom-bot/warroom/connectors/pagerduty"
	"github.com/warroom-bot/warroom/connectors/thehive"
	"github.com/warroom-bot/warroom/connectors/wait"
)

// responders build the response connectors from their config blocks. A
// connector is only registered when it is configured, so a playbook that
// names crowdstrike.contain without connectors.crowdstrike fails
// validation instead of failing mid-incident.
var responders = map[string]func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error){
	"crowdstrike": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
		c, err := crowdstrike.New(crowdstrike.Config{ClientID: cc.ClientID, ClientSecret: cc.ClientSecret.Reveal(), APIURL: cc.APIURL, HTTP: hc})
		if err != nil {
			return nil, err
		}
		return c.Actions(), nil
	},
	"defender": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
		c, err := defender.New(defender.Config{TenantID: cc.Options["tenant_id"], ClientID: cc.ClientID,
			ClientSecret: cc.ClientSecret.Reveal(), APIURL: cc.APIURL, LoginURL: cc.Options["login_url"], HTTP: hc})
		if err != nil {
			return nil, err
		}
		return c.Actions(), nil
	},
	"okta": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
		c, err := okta.New(okta.Config{OrgURL: cc.APIURL, Token: cc.APIKey.Reveal(), HTTP: hc})
		if err != nil {
			return nil, err
		}
		return c.Actions(), nil
	},
	"opnsense": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
		c, err := opnsense.New(opnsense.Config{URL: cc.APIURL, Key: cc.APIKey.Reveal(), Secret: cc.APISecret.Reveal(),
			Alias: cc.Options["alias"], HTTP: hc})
		if err != nil {
			return nil, err
		}
		return c.Actions(), nil
	},
	"jira": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
		jc := jira.Config{BaseURL: cc.APIURL, Email: cc.Options["email"], Project: cc.Options["project"],
			IssueType: cc.Options["issue_type"], HTTP: hc}
		if jc.Email != "" {
			jc.APIToken = cc.APIKey.Reveal() // Jira Cloud: e-mail and API token
		} else {
			jc.PAT = cc.APIKey.Reveal() // Jira Server / Data Center: personal access token
		}
		c, err := jira.New(jc)
		if err != nil {
			return nil, err
		}
		return c.Actions(), nil
	},
	"thehive": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
		c, err := thehive.New(thehive.Config{URL: cc.APIURL, APIKey: cc.APIKey.Reveal(), HTTP: hc})
		if err != nil {
			return nil, err
		}
		return c.Actions(), nil
	},
	"pagerduty": func(cc config.ConnectorConfig, hc *http.Client) ([]connectors.Action, error) {
		c, err := pagerduty.New(pagerduty.Config{RoutingKey: cc.APIKey.Reveal(), EventsURL: cc.APIURL, HTTP: hc})
		if err != nil {
			return nil, err
		}
		return c.Actions(), nil
	},
}

// actionRegistry is the one place where connector actions are registered:
// the built-in ones, then every configured and enabled response connector.
func actionRegistry(cfg *config.Config) (*connectors.Registry, error) {
	r := connectors.NewRegistry()
	r.Register(httpreq.New(httpreq.Options{}))
	r.Register(execrun.New(cfg.Exec.Allow))
	r.Register(wait.New(nil))
	names := make([]string, 0, len(cfg.Connectors))
	for name := range cfg.Connectors {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems []error
	for _, name := range names {
		build, ok := responders[name]
		cc := cfg.Connectors[name]
		if !ok || !cc.Enabled {
			continue
		}
		actions, err := build(cc, &http.Client{})
		if err != nil {
			problems = append(problems, fmt.Errorf("connectors.%s: %w", name, err))
			continue
		}
		for _, a := range actions {
			r.Register(a)
		}
	}
	return r, errors.Join(problems...)
}
