package defender

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

// machineAction is defender.isolate or defender.unisolate.
type machineAction struct {
	c  *Connector
	op string // "isolate" or "unisolate", as in Defender's URL
}

// Spec declares the action's inputs and outputs.
func (a *machineAction) Spec() connectors.Spec {
	s := connectors.Spec{
		Name: "defender." + a.op,
		Inputs: []connectors.Field{
			{Name: "host", Type: connectors.String, Doc: "Machine's DNS name (computerDnsName); a short name also matches host.domain. Must match exactly one machine."},
			{Name: "machine_id", Type: connectors.String, Doc: "Defender machine id (40 hex digits), instead of host."},
		},
		Outputs: []connectors.Field{
			{Name: "machine_id", Type: connectors.String, Doc: "Defender machine id."},
			{Name: "action_id", Type: connectors.String, Doc: "Id of the machine action, to follow its progress."},
			{Name: "status", Type: connectors.String, Doc: "Status of the machine action: Pending at first."},
		},
		// Isolation is a state: asking twice leaves one isolated machine
		// (Defender refuses the second while the first is pending).
		Idempotent: true,
	}
	if a.op == "isolate" {
		s.Doc = "Isolate a machine in Microsoft Defender for Endpoint. Give host or machine_id."
		s.Inputs = append(s.Inputs,
			connectors.Field{Name: "comment", Type: connectors.String, Default: "Isolated by warroom", Doc: "Comment kept with the action."},
			connectors.Field{Name: "isolation_type", Type: connectors.String, Default: "Full", Doc: "Full, or Selective (Outlook, Teams and Skype keep working)."})
		s.Destructive = true
		return s
	}
	s.Doc = "Release a machine from isolation in Microsoft Defender for Endpoint. Give host or machine_id."
	s.Inputs = append(s.Inputs,
		connectors.Field{Name: "comment", Type: connectors.String, Default: "Released by warroom", Doc: "Comment kept with the action."})
	return s
}

// Run finds the machine (when given a host name) and asks Defender to
// isolate or release it. Defender acts asynchronously: the output status
// is the machine action's, Pending until the machine picks it up.
func (a *machineAction) Run(ctx context.Context, call connectors.Call) (map[string]any, error) {
	in, err := a.parse(call.With)
	if err != nil {
		return nil, err
	}
	id := in.id
	if id == "" {
		if id, err = a.c.machineID(ctx, in.host); err != nil {
			return nil, err
		}
	}
	body := map[string]any{"Comment": in.comment}
	if a.op == "isolate" {
		body["IsolationType"] = in.isolation
	}
	var resp struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	err = a.c.do(ctx, restapi.Request{
		Method:     http.MethodPost,
		Path:       "/api/machines/" + id + "/" + a.op,
		JSON:       body,
		Idempotent: true,
	}, &resp)
	if err != nil {
		return nil, fmt.Errorf("%s machine %s: %w", a.op, id, err)
	}
	return map[string]any{"machine_id": id, "action_id": resp.ID, "status": resp.Status}, nil
}

// machineID finds the one machine called host: by its full DNS name, or,
// for a short name, by host.<any domain>.
func (c *Connector) machineID(ctx context.Context, host string) (string, error) {
	// host is checked to hold no quote, so it cannot leave the OData
	// string.
	filters := []string{"computerDnsName eq '" + host + "'"}
	if !strings.Contains(host, ".") {
		filters = append(filters, "startswith(computerDnsName,'"+host+".')")
	}
	for _, f := range filters {
		var resp struct {
			Value []struct {
				ID              string `json:"id"`
				ComputerDNSName string `json:"computerDnsName"`
			} `json:"value"`
		}
		if err := c.do(ctx, restapi.Request{Path: "/api/machines", Query: url.Values{"$filter": {f}}}, &resp); err != nil {
			return "", fmt.Errorf("look up machine %s: %w", host, err)
		}
		switch len(resp.Value) {
		case 0:
			continue
		case 1:
			return resp.Value[0].ID, nil
		}
		// Reimaged machines keep their name under a new id; isolating
		// the wrong one is worse than asking for the id.
		ids := make([]string, len(resp.Value))
		for i, m := range resp.Value {
			ids[i] = m.ID + " (" + m.ComputerDNSName + ")"
		}
		return "", fmt.Errorf("%d Defender machines are named %s: %s: give machine_id instead", len(ids), host, strings.Join(ids, ", "))
	}
	return "", fmt.Errorf("no Defender machine named %s", host)
}

// inputs are a call's with: values, checked.
type inputs struct {
	host, id, comment, isolation string
}

var (
	// hostRE is a DNS or NetBIOS host name. It keeps quotes and spaces
	// out of the OData filter the name is put in.
	hostRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
	// machineRE is a Defender machine id.
	machineRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
)

func (a *machineAction) parse(with map[string]any) (*inputs, error) {
	in := &inputs{}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"host", &in.host}, {"machine_id", &in.id}, {"comment", &in.comment}, {"isolation_type", &in.isolation}} {
		var err error
		if *f.dst, err = connectors.Text(with, f.name); err != nil {
			return nil, err
		}
	}
	switch {
	case in.host == "" && in.id == "":
		return nil, errors.New("with: give host or machine_id")
	case in.host != "" && in.id != "":
		return nil, errors.New("with: give host or machine_id, not both")
	case in.id != "" && !machineRE.MatchString(in.id):
		return nil, fmt.Errorf("with.machine_id: %q is not a Defender machine id (40 hex digits)", in.id)
	case in.host != "" && !hostRE.MatchString(in.host):
		return nil, fmt.Errorf("with.host: %q is not a host name", in.host)
	}
	in.id = strings.ToLower(in.id)
	if in.comment == "" {
		in.comment = "Isolated by warroom"
		if a.op == "unisolate" {
			in.comment = "Released by warroom"
		}
	}
	switch strings.ToLower(in.isolation) {
	case "", "full":
		in.isolation = "Full"
	case "selective":
		in.isolation = "Selective"
	default:
		return nil, fmt.Errorf("with.isolation_type: %q is not Full or Selective", in.isolation)
	}
	return in, nil
}
