package fakeslack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/slack-go/slack"
)

func (s *Server) authTest(*apiRequest) (reply, *apiError) {
	return reply{
		"url":                   "https://warroom-test.slack.com/",
		"team":                  DefaultTeamName,
		"user":                  DefaultBotName,
		"team_id":               DefaultTeamID,
		"user_id":               DefaultBotUser,
		"bot_id":                DefaultBotID,
		"is_enterprise_install": false,
	}, nil
}

func (s *Server) usersInfo(r *apiRequest) (reply, *apiError) {
	// slack-go's GetUsersInfo sends a comma-separated "users" parameter to
	// the same method and expects a "users" array back.
	if r.has("users") && !r.has("user") {
		var out []slack.User
		for id := range strings.SplitSeq(r.get("users"), ",") {
			u, ok := s.st.users[strings.TrimSpace(id)]
			if !ok {
				return nil, errCode("user_not_found")
			}
			out = append(out, u)
		}
		return reply{"users": out}, nil
	}
	u, ok := s.st.users[r.get("user")]
	if !ok {
		return nil, errCode("user_not_found")
	}
	return reply{"user": u}, nil
}

func (s *Server) usergroupsUsersList(r *apiRequest) (reply, *apiError) {
	users, ok := s.st.userGroups[r.get("usergroup")]
	if !ok {
		return nil, errCode("no_such_subteam")
	}
	return reply{"users": slices.Clone(users)}, nil
}

// viewsOpen accepts the JSON body slack-go sends and, for other clients, a
// form with the view as a JSON string. Trigger IDs are single use, as in
// Slack, which catches adapters that retry views.open with a spent trigger.
func (s *Server) viewsOpen(r *apiRequest) (reply, *apiError) {
	trigger := r.get("trigger_id")
	if trigger == "" {
		return nil, errCode("invalid_arguments")
	}
	if s.st.usedTriggers[trigger] {
		return nil, errCode("exchanged_trigger_id")
	}
	raw := json.RawMessage(r.get("view"))
	var view map[string]any
	if err := json.Unmarshal(raw, &view); err != nil || view == nil {
		return nil, errCode("invalid_arguments")
	}
	if view["type"] != "modal" {
		return nil, errCode("invalid_arguments")
	}
	if blocks, ok := view["blocks"].([]any); ok && len(blocks) > 100 {
		return nil, errCode("invalid_arguments")
	}
	s.st.usedTriggers[trigger] = true

	v := View{
		ID:        s.newIDLocked("V"),
		TriggerID: trigger,
		Type:      "modal",
		Raw:       compact(string(raw)),
	}
	v.CallbackID, _ = view["callback_id"].(string)
	v.PrivateMetadata, _ = view["private_metadata"].(string)
	v.ExternalID, _ = view["external_id"].(string)
	s.st.views = append(s.st.views, v)

	out := reply{}
	for k, val := range view {
		out[k] = val
	}
	for k, def := range map[string]any{
		"private_metadata": "", "callback_id": "", "external_id": "",
		"clear_on_close": false, "notify_on_close": false, "blocks": []any{},
	} {
		if _, ok := out[k]; !ok {
			out[k] = def
		}
	}
	out["id"] = v.ID
	out["team_id"] = DefaultTeamID
	out["state"] = reply{"values": reply{}}
	out["hash"] = fmt.Sprintf("%d.%s", 1700000000, v.ID)
	out["root_view_id"] = v.ID
	out["previous_view_id"] = nil
	out["app_id"] = DefaultAppID
	out["app_installed_team_id"] = DefaultTeamID
	out["bot_id"] = DefaultBotID
	return reply{"view": out}, nil
}

// appsConnectionsOpen hands out a single-use ticket URL on the fake's own
// WebSocket endpoint, mirroring Slack's wss://…/link/?ticket=… URLs.
func (s *Server) appsConnectionsOpen(*apiRequest) (reply, *apiError) {
	ticket := newUUID()
	s.st.tickets[ticket] = true
	u := strings.Replace(s.hs.URL, "http://", "ws://", 1) + "/link/?ticket=" + ticket + "&app_id=" + DefaultAppID
	return reply{"url": u}, nil
}
