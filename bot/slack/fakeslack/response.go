package fakeslack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// NewResponseURL returns a fresh response_url on the fake that records what
// is posted to it (see Responses). Use it in slash command and interaction
// payloads; SendSlashCommand does so automatically.
func (s *Server) NewResponseURL() string {
	return s.NewMessageResponseURL("", "")
}

// NewMessageResponseURL returns a response_url tied to an existing message,
// as Slack issues for interactions on a message: posts with
// replace_original replace that message's text and blocks, and posts with
// delete_original delete it, so tests can assert on the resulting channel
// state as well as on Responses.
func (s *Server) NewMessageResponseURL(channelID, ts string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.hs.URL + "/response/" + strconv.FormatUint(s.st.nextSeq(), 10)
	s.st.responseURLs[u] = &responseURL{channel: channelID, ts: ts}
	return u
}

// serveResponseURL accepts the JSON body slack-go's PostWebhookContext and
// MsgOptionResponseURL send. Calls are recorded under ResponseURLMethod and
// honour faults queued for it.
func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return
	}
	u := s.hs.URL + r.URL.Path
	call := Call{Method: ResponseURLMethod, Time: time.Now()}
	var msg map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	decodeErr := dec.Decode(&msg)
	if decodeErr == nil {
		call.JSON = msg
		call.Form = map[string][]string{}
		for k, v := range msg {
			call.Form.Set(k, flatten(v))
		}
	}

	s.mu.Lock()
	if f, ok := s.popFaultLocked(ResponseURLMethod); ok {
		call.Fault = &f
		if f.Kind == FaultSlackError {
			call.Error = f.Error
		}
		s.st.calls = append(s.st.calls, call)
		s.notifyLocked()
		s.mu.Unlock()
		if f.Kind == FaultHang {
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
			return
		}
		f.write(w)
		return
	}
	ru, known := s.st.responseURLs[u]
	status, code := http.StatusOK, ""
	switch {
	case !known:
		status, code = http.StatusNotFound, "invalid_url"
	case decodeErr != nil || msg == nil:
		status, code = http.StatusBadRequest, "invalid_payload"
	default:
		resp := Response{URL: u, Raw: compact(string(body)), Time: call.Time}
		resp.ResponseType, _ = msg["response_type"].(string)
		resp.Text, _ = msg["text"].(string)
		resp.ThreadTS, _ = msg["thread_ts"].(string)
		resp.ReplaceOriginal, _ = msg["replace_original"].(bool)
		resp.DeleteOriginal, _ = msg["delete_original"].(bool)
		if b, ok := msg["blocks"].([]any); ok && len(b) > 0 {
			resp.Blocks = compact(flatten(b))
		}
		ru.posts = append(ru.posts, resp)
		s.applyToOriginalLocked(ru, resp)
	}
	call.Error = code
	s.st.calls = append(s.st.calls, call)
	s.notifyLocked()
	s.mu.Unlock()
	if code != "" {
		writeJSON(w, status, reply{"ok": false, "error": code})
		return
	}
	writeJSON(w, http.StatusOK, reply{"ok": true})
}

func (s *Server) applyToOriginalLocked(ru *responseURL, resp Response) {
	if ru.ts == "" {
		return
	}
	c, ok := s.st.channels[ru.channel]
	if !ok {
		return
	}
	switch {
	case resp.DeleteOriginal:
		s.deleteMessageLocked(c, ru.ts)
	case resp.ReplaceOriginal:
		m, _ := c.message(ru.ts)
		if m == nil {
			return
		}
		// Slack replaces the whole message, so blocks not sent are dropped.
		m.Text = resp.Text
		m.Blocks = resp.Blocks
		m.Edits++
		m.editedTS = s.nextTSLocked()
	}
}
