package crowdstrike

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/restapi"
)

// deviceAction is crowdstrike.contain or crowdstrike.lift_containment: the
// same call with a different action_name.
type deviceAction struct {
	c      *Connector
	action string // Falcon's action_name
}

// Spec declares the action's inputs and outputs.
func (a *deviceAction) Spec() connectors.Spec {
	doc := "Contain a host in CrowdStrike Falcon: only its link to the Falcon cloud stays open."
	if a.action != "contain" {
		doc = "Lift the network containment of a host in CrowdStrike Falcon."
	}
	return connectors.Spec{
		Name: "crowdstrike." + a.action,
		Doc:  doc + " Give host or device_id.",
		Inputs: []connectors.Field{
			{Name: "host", Type: connectors.String, Doc: "Host name as Falcon knows it; must match exactly one device."},
			{Name: "device_id", Type: connectors.String, Doc: "Falcon device id (32 hex digits), instead of host."},
		},
		Outputs: []connectors.Field{
			{Name: "device_id", Type: connectors.String, Doc: "Falcon device id."},
			{Name: "hostname", Type: connectors.String, Doc: "Host name given, or empty when device_id was."},
			{Name: "action", Type: connectors.String, Doc: "Falcon action requested: contain or lift_containment."},
		},
		Destructive: a.action == "contain",
		// Containment is a state: asking for it twice leaves one
		// contained host.
		Idempotent: true,
	}
}

// Run finds the device (when given a host name) and asks Falcon to contain
// it or to lift its containment. Falcon acts asynchronously: success means
// the request was accepted, not that the host is already cut off.
func (a *deviceAction) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	host, id, err := parseTarget(call.With)
	if err != nil {
		return nil, err
	}
	if id == "" {
		if id, err = a.c.deviceID(ctx, host); err != nil {
			return nil, err
		}
	}
	var resp struct {
		Resources []struct {
			ID string `json:"id"`
		} `json:"resources"`
		Errors []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	err = a.c.do(ctx, restapi.Request{
		Method:     http.MethodPost,
		Path:       "/devices/entities/devices-actions/v2",
		Query:      url.Values{"action_name": {a.action}},
		JSON:       map[string]any{"ids": []string{id}},
		Idempotent: true,
	}, &resp)
	if err != nil {
		return nil, fmt.Errorf("%s device %s: %w", a.verb(), id, err)
	}
	// Falcon may answer 2xx and still list a per-device failure.
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("%s device %s: Falcon error %d: %s", a.verb(), id, resp.Errors[0].Code, resp.Errors[0].Message)
	}
	return map[string]any{"device_id": id, "hostname": host, "action": a.action}, nil
}

func (a *deviceAction) verb() string {
	if a.action == "contain" {
		return "contain"
	}
	return "lift containment of"
}

// deviceID finds the one Falcon device called host.
func (c *Connector) deviceID(ctx context.Context, host string) (string, error) {
	var resp struct {
		Resources []string `json:"resources"`
	}
	err := c.do(ctx, restapi.Request{
		Path: "/devices/queries/devices/v1",
		// host is checked to hold no quote, so it cannot leave the
		// FQL string.
		Query: url.Values{"filter": {"hostname:'" + host + "'"}},
	}, &resp)
	if err != nil {
		return "", fmt.Errorf("look up device %s: %w", host, err)
	}
	switch len(resp.Resources) {
	case 0:
		return "", fmt.Errorf("no Falcon device named %s", host)
	case 1:
		return resp.Resources[0], nil
	}
	// Reinstalled or cloned hosts share a name; containing the wrong
	// one is worse than asking for the id.
	return "", fmt.Errorf("%d Falcon devices are named %s (%s): give device_id instead",
		len(resp.Resources), host, strings.Join(resp.Resources, ", "))
}

var (
	// hostRE is a DNS or NetBIOS host name. It keeps quotes and spaces
	// out of the FQL filter the name is put in.
	hostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
	// deviceRE is a Falcon device id (an agent id).
	deviceRE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

// parseTarget reads host and device_id, exactly one of which is given.
func parseTarget(with map[string]any) (host, id string, err error) {
	if host, err = connectors.Text(with, "host"); err != nil {
		return "", "", err
	}
	if id, err = connectors.Text(with, "device_id"); err != nil {
		return "", "", err
	}
	switch {
	case host == "" && id == "":
		return "", "", errors.New("with: give host or device_id")
	case host != "" && id != "":
		return "", "", errors.New("with: give host or device_id, not both")
	case id != "" && !deviceRE.MatchString(id):
		return "", "", fmt.Errorf("with.device_id: %q is not a Falcon device id (32 hex digits)", id)
	case host != "" && !hostRE.MatchString(host):
		return "", "", fmt.Errorf("with.host: %q is not a host name", host)
	}
	return host, strings.ToLower(id), nil
}
