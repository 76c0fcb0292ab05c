package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/local"
	"github.com/warroom-bot/warroom/commands"
	"github.com/warroom-bot/warroom/playbooks"
	"github.com/warroom-bot/warroom/store"
)

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// incidentID reads the {id} path value: "INC-4" or "4".
func incidentID(r *http.Request) (int64, bool) {
	v := r.PathValue("id")
	if n, ok := store.ParseRef(v); ok {
		return n, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

// incident loads the incident named in the path, answering 400 or 404 itself.
func (s *Server) apiIncidentOf(w http.ResponseWriter, r *http.Request) (store.Incident, bool) {
	id, ok := incidentID(r)
	if !ok {
		apiError(w, http.StatusBadRequest, "the incident id is INC-N or N")
		return store.Incident{}, false
	}
	in, err := s.opts.DB.Incident(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.CanSee(r, in)) {
		apiError(w, http.StatusNotFound, store.FormatRef(id)+" does not exist")
		return store.Incident{}, false
	}
	if err != nil {
		s.internal(w, "read incident", err)
		return store.Incident{}, false
	}
	return in, true
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	ref := randomToken()[:6]
	s.log.Error(what, "ref", ref, "err", err)
	apiError(w, http.StatusInternalServerError, "failed, reference "+ref)
}

// apiIncidents answers GET /api/incidents[?all=true] with what
// `warroom incident list --json [--all]` prints.
func (s *Server) apiIncidents(w http.ResponseWriter, r *http.Request) {
	all, _ := strconv.ParseBool(r.URL.Query().Get("all"))
	var buf bytes.Buffer
	if err := s.opts.IncidentList(r.Context(), &buf, all); err != nil {
		s.internal(w, "list incidents", err)
		return
	}
	hidden, err := s.hidden(r)
	if err != nil {
		s.internal(w, "list incidents", err)
		return
	}
	if len(hidden) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Write(buf.Bytes())
		return
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil {
		s.internal(w, "list incidents", err)
		return
	}
	kept := make([]json.RawMessage, 0, len(rows))
	for _, row := range rows {
		var head struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(row, &head) == nil && !hidden[head.ID] {
			kept = append(kept, row)
		}
	}
	writeJSON(w, http.StatusOK, kept)
}

// hidden lists the refs of the incidents the request's identity may not
// see.
func (s *Server) hidden(r *http.Request) (map[string]bool, error) {
	id := identityOf(r)
	if seesAll(id) {
		return nil, nil
	}
	ins, err := s.opts.DB.Incidents(r.Context(), store.IncidentFilter{})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, in := range ins {
		if !canSee(id, in) {
			out[in.Ref()] = true
		}
	}
	return out, nil
}

// apiIncident answers GET /api/incidents/{id} with what
// `warroom incident show --json` prints.
func (s *Server) apiIncident(w http.ResponseWriter, r *http.Request) {
	id, ok := incidentID(r)
	if !ok {
		apiError(w, http.StatusBadRequest, "the incident id is INC-N or N")
		return
	}
	if in, err := s.opts.DB.Incident(r.Context(), id); err == nil && !s.CanSee(r, in) {
		apiError(w, http.StatusNotFound, store.FormatRef(id)+" does not exist")
		return
	}
	var buf bytes.Buffer
	err := s.opts.IncidentShow(r.Context(), &buf, id)
	if errors.Is(err, store.ErrNotFound) {
		apiError(w, http.StatusNotFound, store.FormatRef(id)+" does not exist")
		return
	}
	if err != nil {
		s.internal(w, "show incident", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// EntryJSON is a case-log entry in the API.
type EntryJSON struct {
	Seq   int64           `json:"seq"`
	At    time.Time       `json:"at"`
	Actor string          `json:"actor"`
	Kind  string          `json:"kind"`
	Body  json.RawMessage `json:"body"`
	// Text is the entry described in one line for people.
	Text string `json:"text"`
	Hash string `json:"hash"`
}

// apiLog answers GET /api/incidents/{id}/log[?after=SEQ]: every case-log
// entry of the incident, oldest first (after SEQ only, for polling).
func (s *Server) apiLog(w http.ResponseWriter, r *http.Request) {
	in, ok := s.apiIncidentOf(w, r)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	entries, err := s.opts.DB.Entries(r.Context(), in.ID, 0)
	if err != nil {
		s.internal(w, "read case log", err)
		return
	}
	out := make([]EntryJSON, 0, len(entries))
	for _, e := range entries {
		if e.Seq > after {
			out = append(out, EntryJSON{Seq: e.Seq, At: e.At, Actor: e.Actor, Kind: e.Kind, Body: e.Body, Text: commands.Describe(e), Hash: e.Hash})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// RunJSON is a playbook run in the API.
type RunJSON struct {
	ID        int64           `json:"id"`
	Incident  string          `json:"incident"`
	Playbook  string          `json:"playbook"`
	Trigger   string          `json:"trigger"`
	StartedBy string          `json:"started_by"`
	Status    string          `json:"status"`
	Error     string          `json:"error,omitempty"`
	Inputs    json.RawMessage `json:"inputs"`
	CreatedAt time.Time       `json:"created_at"`
	Steps     []StepJSON      `json:"steps"`
}

// StepJSON is the state of one step of a run.
type StepJSON struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts,omitempty"`
	Error    string `json:"error,omitempty"`
}

// runsOf returns an incident's runs with their steps in playbook order.
func (s *Server) runsOf(ctx context.Context, incidentID int64, limit int) ([]RunJSON, error) {
	runs, err := s.opts.DB.Runs(ctx, incidentID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RunJSON, 0, len(runs))
	for _, run := range runs {
		steps, err := s.opts.DB.RunSteps(ctx, run.ID)
		if err != nil {
			return nil, err
		}
		j := RunJSON{ID: run.ID, Incident: store.FormatRef(run.IncidentID), Playbook: run.Playbook, Trigger: run.Trigger,
			StartedBy: run.StartedBy, Status: run.Status, Error: run.Error, Inputs: run.Inputs, CreatedAt: run.CreatedAt, Steps: []StepJSON{}}
		var pb *playbooks.Playbook
		if s.opts.Engine != nil {
			pb, _ = s.opts.Engine.Set().ByName(run.Playbook)
		}
		seen := map[string]bool{}
		if pb != nil {
			for _, list := range [][]*playbooks.Step{pb.Steps, pb.OnFailure} {
				for _, st := range list {
					rec, ok := steps[st.ID]
					if st.OnFailure && !ok {
						continue
					}
					status := rec.Status
					if !ok {
						status = "pending"
					}
					seen[st.ID] = true
					j.Steps = append(j.Steps, StepJSON{ID: st.ID, Title: stepTitle(st), Status: status, Attempts: rec.Attempts, Error: rec.Error})
				}
			}
		}
		for id, rec := range steps {
			if !seen[id] { // the playbook changed or is gone since the run
				j.Steps = append(j.Steps, StepJSON{ID: id, Title: id, Status: rec.Status, Attempts: rec.Attempts, Error: rec.Error})
			}
		}
		out = append(out, j)
	}
	return out, nil
}

func stepTitle(st *playbooks.Step) string {
	switch {
	case st.Approval != nil:
		return "Approval"
	case st.Name != nil && !strings.Contains(st.Name.String(), "${{"):
		return st.Name.String()
	case st.Uses != "":
		return st.Uses
	}
	return st.ID
}

// apiRuns answers GET /api/incidents/{id}/runs.
func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	in, ok := s.apiIncidentOf(w, r)
	if !ok {
		return
	}
	runs, err := s.runsOf(r.Context(), in.ID, 0)
	if err != nil {
		s.internal(w, "list runs", err)
		return
	}
	writeJSON(w, http.StatusOK, runs)
}

// MessageJSON is a message the bot posted in an incident's local room.
type MessageJSON struct {
	ID      int64       `json:"id"`
	At      time.Time   `json:"at"`
	Pinned  bool        `json:"pinned,omitempty"`
	Message bot.Message `json:"message"`
}

// apiMessages answers GET /api/incidents/{id}/messages: the neutral
// messages of the incident's room, as every chat platform received them.
func (s *Server) apiMessages(w http.ResponseWriter, r *http.Request) {
	in, ok := s.apiIncidentOf(w, r)
	if !ok {
		return
	}
	out := []MessageJSON{}
	room, ok, err := s.opts.Local.IncidentRoom(r.Context(), in.ID)
	if err == nil && ok {
		var msgs []local.Message
		msgs, err = s.opts.Local.Messages(r.Context(), room.ID)
		for _, m := range msgs {
			out = append(out, MessageJSON{ID: m.ID, At: m.At, Pinned: m.Pinned, Message: m.Message})
		}
	}
	if err != nil {
		s.internal(w, "read room", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ApprovalJSON is a pending approval in the API.
type ApprovalJSON struct {
	ID          int64     `json:"id"`
	Incident    string    `json:"incident"`
	Title       string    `json:"incident_title"`
	Run         int64     `json:"run"`
	Playbook    string    `json:"playbook"`
	Step        string    `json:"step"`
	Message     string    `json:"message"`
	Roles       []string  `json:"roles"`
	Required    int       `json:"required"`
	Votes       []string  `json:"votes"`
	RequestedBy string    `json:"requested_by"`
	Deadline    time.Time `json:"deadline"`
	token       string
}

// pendingApprovals lists every approval waiting for a decision, across incidents.
func (s *Server) pendingApprovals(ctx context.Context, id Identity) ([]ApprovalJSON, error) {
	aps, err := s.opts.DB.PendingApprovals(ctx)
	if err != nil {
		return nil, err
	}
	// Approvals come in runs and runs in incidents: read each once.
	runs := map[int64]store.Run{}
	incidents := map[int64]store.Incident{}
	out := make([]ApprovalJSON, 0, len(aps))
	for _, a := range aps {
		run, ok := runs[a.RunID]
		if !ok {
			if run, err = s.opts.DB.Run(ctx, a.RunID); err != nil {
				return nil, err
			}
			runs[a.RunID] = run
		}
		in, ok := incidents[run.IncidentID]
		if !ok {
			if in, err = s.opts.DB.Incident(ctx, run.IncidentID); err != nil {
				return nil, err
			}
			incidents[run.IncidentID] = in
		}
		if !canSee(id, in) {
			continue
		}
		votes := a.Votes
		if votes == nil {
			votes = []string{}
		}
		out = append(out, ApprovalJSON{ID: a.ID, Incident: in.Ref(), Title: in.Title, Run: run.ID, Playbook: run.Playbook, Step: a.Step,
			Message: a.Message, Roles: a.Roles, Required: a.Required, Votes: votes, RequestedBy: a.RequestedBy, Deadline: a.Deadline, token: a.Token})
	}
	return out, nil
}

// apiApprovals answers GET /api/approvals: the queue of pending approvals.
func (s *Server) apiApprovals(w http.ResponseWriter, r *http.Request) {
	aps, err := s.pendingApprovals(r.Context(), identityOf(r))
	if err != nil {
		s.internal(w, "list approvals", err)
		return
	}
	writeJSON(w, http.StatusOK, aps)
}

// ReplyJSON is the answer to a command or a decision.
type ReplyJSON struct {
	// Text is the reply as plain text.
	Text string `json:"text"`
	// Message is the reply in the neutral form chat platforms render.
	Message bot.Message `json:"message"`
}

// apiDecide answers POST /api/approvals/{id}/approve|deny: the same as
// clicking Approve or Deny, as the caller.
func (s *Server) apiDecide(w http.ResponseWriter, r *http.Request) {
	var action string
	switch r.PathValue("decision") {
	case "approve":
		action = playbooks.ActionApprove
	case "deny":
		action = playbooks.ActionDeny
	default:
		apiError(w, http.StatusNotFound, "decide with /approve or /deny")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		apiError(w, http.StatusBadRequest, "the approval id is a number")
		return
	}
	aps, err := s.pendingApprovals(r.Context(), identityOf(r))
	if err != nil {
		s.internal(w, "list approvals", err)
		return
	}
	for _, a := range aps {
		if a.ID == id {
			reply := s.click(r.Context(), identityOf(r), action, a.token)
			writeJSON(w, http.StatusOK, ReplyJSON{Text: plainText(reply.Message), Message: reply.Message})
			return
		}
	}
	apiError(w, http.StatusNotFound, "no pending approval "+strconv.FormatInt(id, 10))
}

// maxCommand bounds a command's text, as chat platforms do.
const maxCommand = 4000

// apiCommand answers POST /api/commands and /api/incidents/{id}/commands
// with body {"text": "/incident status contained"}: the command runs as the
// caller, in the incident if one is named, and its reply is the answer.
func (s *Server) apiCommand(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxCommand+1024)).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, `the body is JSON: {"text": "/incident status contained"}`)
		return
	}
	var incident int64
	if r.PathValue("id") != "" {
		in, ok := s.apiIncidentOf(w, r)
		if !ok {
			return
		}
		incident = in.ID
	}
	reply, err := s.command(r.Context(), identityOf(r), incident, body.Text)
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, ReplyJSON{Text: plainText(reply.Message), Message: reply.Message})
}

// apiMe answers GET /api/me: who the caller is.
func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	writeJSON(w, http.StatusOK, map[string]string{"actor": id.Actor(), "name": id.Name, "role": id.Role})
}
