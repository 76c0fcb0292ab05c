package jira_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/connectors"
	"github.com/warroom-bot/warroom/connectors/internal/vendortest"
	"github.com/warroom-bot/warroom/connectors/jira"
)

const (
	email    = "bot@example.com"
	apiToken = "jira-api-token-do-not-leak"
	pat      = "jira-pat-do-not-leak"
)

// site is a fake Jira REST API v2: it creates issues and finds them by
// label. Failures are queued per endpoint; a create failure may be
// answered after the issue was made (acted), as a lost answer would be.
type site struct {
	t *testing.T
	*vendortest.Server

	mu         sync.Mutex
	auth       string // the Authorization header accepted
	issues     []fakeIssue
	createFail []int
	searchFail []int
	acted      bool
	creates    int
	searches   []string // JQL seen
	lastFields map[string]any
}

type fakeIssue struct {
	id, key string
	labels  []string
}

func newSite(t *testing.T, auth string) *site {
	s := &site{t: t, auth: auth}
	s.Server = vendortest.NewServer(t, s.serve)
	return s
}

func failWith(w http.ResponseWriter, status int) {
	vendortest.Fail(w, status, "5", fmt.Sprintf(`{"errorMessages":["failure %d"],"errors":{}}`, status))
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if r.Header.Get("Authorization") != s.auth {
		vendortest.JSON(w, http.StatusUnauthorized, `{"errorMessages":["You are not authenticated. Authentication required to perform this operation."],"errors":{}}`)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/rest/api/2/search":
		jql := r.URL.Query().Get("jql")
		s.searches = append(s.searches, jql)
		if st := vendortest.Pop(&s.searchFail); st != 0 {
			failWith(w, st)
			return
		}
		label, ok := strings.CutPrefix(jql, `labels = "`)
		label = strings.TrimSuffix(label, `"`)
		if !ok || r.URL.Query().Get("maxResults") != "1" {
			s.t.Errorf("search %q", r.URL.RawQuery)
		}
		found := []map[string]any{}
		for _, is := range s.issues {
			if slices.Contains(is.labels, label) {
				found = append(found, map[string]any{"id": is.id, "key": is.key, "self": "x", "fields": map[string]any{}})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"startAt": 0, "maxResults": 1, "total": len(found), "issues": found})
	case r.Method == http.MethodPost && r.URL.Path == "/rest/api/2/issue":
		s.creates++
		var body struct {
			Fields map[string]any `json:"fields"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			s.t.Errorf("create body: %v", err)
		}
		s.lastFields = body.Fields
		st := vendortest.Pop(&s.createFail)
		if st != 0 && !s.acted {
			failWith(w, st)
			return
		}
		var labels []string
		for _, l := range body.Fields["labels"].([]any) {
			labels = append(labels, l.(string))
		}
		is := fakeIssue{id: fmt.Sprint(10000 + len(s.issues)), key: fmt.Sprintf("SEC-%d", 24+len(s.issues)), labels: labels}
		s.issues = append(s.issues, is)
		if st != 0 {
			failWith(w, st)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q,"key":%q,"self":"%s/rest/api/2/issue/%s"}`, is.id, is.key, s.URL, is.id)
	default:
		s.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestCreateIssue(t *testing.T) {
	with := map[string]any{"summary": "Image host-42", "description": "Take a disk image.", "labels": []any{"forensics"}}
	const key = "warroom-run-3-ticket-1"
	tests := []struct {
		name    string
		cfg     func(url string) jira.Config
		with    map[string]any
		key     string
		setup   func(s *site)
		wantErr string
		want    map[string]any // url is checked relative to the site
		check   func(t *testing.T, s *site, sl *vendortest.Sleeps)
	}{
		{
			name: "create with basic auth",
			with: with,
			key:  key,
			want: map[string]any{"key": "SEC-24", "id": "10000", "created": true},
			check: func(t *testing.T, s *site, sl *vendortest.Sleeps) {
				want := map[string]any{"project": map[string]any{"key": "SEC"}, "summary": "Image host-42",
					"description": "Take a disk image.", "issuetype": map[string]any{"name": "Task"},
					"labels": []any{"forensics", "warroom-" + labelHash(t, s)}}
				if !reflect.DeepEqual(s.lastFields, want) {
					t.Errorf("fields = %v\nwant %v", s.lastFields, want)
				}
				if len(s.searches) != 1 {
					t.Errorf("searches %q", s.searches)
				}
			},
		},
		{
			name: "bearer PAT, other project and type, no key",
			cfg: func(u string) jira.Config {
				return jira.Config{BaseURL: u + "/", PAT: pat, Project: "SEC"}
			},
			with: map[string]any{"summary": "x", "project": "IR", "issue_type": "Bug"},
			want: map[string]any{"key": "SEC-24", "id": "10000", "created": true},
			check: func(t *testing.T, s *site, sl *vendortest.Sleeps) {
				if len(s.searches) != 0 {
					t.Errorf("searched without an idempotency key: %q", s.searches)
				}
				if s.lastFields["project"].(map[string]any)["key"] != "IR" || s.lastFields["issuetype"].(map[string]any)["name"] != "Bug" {
					t.Errorf("fields = %v", s.lastFields)
				}
				if l := s.lastFields["labels"].([]any); len(l) != 0 {
					t.Errorf("labels = %v", l)
				}
			},
		},
		{
			name: "repeat finds the earlier issue",
			with: with,
			key:  key,
			setup: func(s *site) {
				s.issues = []fakeIssue{{id: "10007", key: "SEC-7", labels: []string{"x", labelFor(key)}}}
			},
			want: map[string]any{"key": "SEC-7", "id": "10007", "created": false},
			check: func(t *testing.T, s *site, sl *vendortest.Sleeps) {
				if s.creates != 0 {
					t.Errorf("%d creates", s.creates)
				}
			},
		},
		{
			name:  "lost answer: the issue is found",
			with:  with,
			key:   key,
			setup: func(s *site) { s.createFail, s.acted = []int{502}, true },
			want:  map[string]any{"key": "SEC-24", "id": "10000", "created": true},
			check: func(t *testing.T, s *site, sl *vendortest.Sleeps) {
				if s.creates != 1 || len(s.issues) != 1 || len(s.searches) != 2 {
					t.Errorf("%d creates, %d issues, searches %q", s.creates, len(s.issues), s.searches)
				}
			},
		},
		{
			name:    "5xx before creating",
			with:    with,
			key:     key,
			setup:   func(s *site) { s.createFail = []int{500} },
			wantErr: "create issue: HTTP 500",
			check: func(t *testing.T, s *site, sl *vendortest.Sleeps) {
				if s.creates != 1 {
					t.Errorf("a create without a key was repeated: %d creates", s.creates)
				}
			},
		},
		{
			name:  "429 with Retry-After",
			with:  with,
			key:   key,
			setup: func(s *site) { s.createFail = []int{429} },
			want:  map[string]any{"key": "SEC-24", "id": "10000", "created": true},
			check: func(t *testing.T, s *site, sl *vendortest.Sleeps) {
				if !reflect.DeepEqual(sl.Waits(), []time.Duration{5 * time.Second}) || len(s.issues) != 1 {
					t.Errorf("waits %v, %d issues", sl.Waits(), len(s.issues))
				}
			},
		},
		{
			name:  "search 5xx is retried",
			with:  with,
			key:   key,
			setup: func(s *site) { s.searchFail = []int{503} },
			want:  map[string]any{"key": "SEC-24", "id": "10000", "created": true},
		},
		{
			name: "wrong token",
			cfg: func(u string) jira.Config {
				return jira.Config{BaseURL: u, Email: email, APIToken: "wrong-token-xyz", Project: "SEC"}
			},
			with:    with,
			key:     key,
			wantErr: "search for an issue labelled warroom-",
			check: func(t *testing.T, s *site, sl *vendortest.Sleeps) {
				if s.creates != 0 {
					t.Error("created after a failed search")
				}
			},
		},
		{name: "no summary", with: map[string]any{"description": "x"}, wantErr: "with.summary: required", check: noRequest},
		{name: "two-line summary", with: map[string]any{"summary": "a\nb"}, wantErr: "one line", check: noRequest},
		{name: "label with space", with: map[string]any{"summary": "a", "labels": []any{"two words"}}, wantErr: "with.labels[0]", check: noRequest},
		{name: "label not text", with: map[string]any{"summary": "a", "labels": []any{3}}, wantErr: "with.labels[0]: expected text", check: noRequest},
		{
			name:    "no project",
			cfg:     func(u string) jira.Config { return jira.Config{BaseURL: u, Email: email, APIToken: apiToken} },
			with:    map[string]any{"summary": "a"},
			wantErr: "with.project: required",
			check:   noRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgOf := tt.cfg
			if cfgOf == nil {
				cfgOf = func(u string) jira.Config {
					return jira.Config{BaseURL: u, Email: email, APIToken: apiToken, Project: "SEC"}
				}
			}
			auth := basic(email, apiToken)
			if cfgOf("x").PAT != "" {
				auth = "Bearer " + pat
			}
			s := newSite(t, auth)
			if tt.setup != nil {
				tt.setup(s)
			}
			sl := &vendortest.Sleeps{}
			cfg := cfgOf(s.URL)
			cfg.HTTP, cfg.Sleep = s.Client(), sl.Sleep
			c, err := jira.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Actions()[0].Run(context.Background(), connectors.Call{With: tt.with, IdempotencyKey: tt.key})
			vendortest.CheckErr(t, err, tt.wantErr, apiToken, pat, "wrong-token-xyz")
			if tt.want != nil {
				tt.want["url"] = s.URL + "/browse/" + tt.want["key"].(string)
				if !reflect.DeepEqual(out, tt.want) {
					t.Errorf("outputs = %v, want %v", out, tt.want)
				}
			}
			if tt.check != nil {
				s.mu.Lock()
				defer s.mu.Unlock()
				tt.check(t, s, sl)
			}
		})
	}
}

func TestWrongTokenSaysAuthentication(t *testing.T) {
	s := newSite(t, "Bearer "+pat)
	c, err := jira.New(jira.Config{BaseURL: s.URL, PAT: "wrong-pat-value", Project: "SEC", HTTP: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Actions()[0].Run(context.Background(), connectors.Call{With: map[string]any{"summary": "x"}})
	if err == nil || !strings.Contains(err.Error(), "create issue: HTTP 401: authentication failed") {
		t.Errorf("error = %v", err)
	}
}

// labelFor is the label the action derives from key: it must not change,
// or issues created before an upgrade would be filed again.
func labelFor(key string) string {
	if key == "warroom-run-3-ticket-1" {
		return "warroom-91c66725e68f8fb1"
	}
	panic("no label known for " + key)
}

// labelHash returns the hash part of the warroom label of the last
// created issue, checked against labelFor.
func labelHash(t *testing.T, s *site) string {
	t.Helper()
	l := s.lastFields["labels"].([]any)
	got := l[len(l)-1].(string)
	if got != labelFor("warroom-run-3-ticket-1") {
		t.Errorf("label = %s, want %s", got, labelFor("warroom-run-3-ticket-1"))
	}
	return strings.TrimPrefix(got, "warroom-")
}

func noRequest(t *testing.T, s *site, sl *vendortest.Sleeps) {
	t.Helper()
	if s.creates != 0 || len(s.searches) != 0 {
		t.Errorf("%d creates and %d searches for invalid inputs", s.creates, len(s.searches))
	}
}

func TestNewNeedsConfig(t *testing.T) {
	for _, cfg := range []jira.Config{
		{Email: email, APIToken: apiToken},
		{BaseURL: "https://x.atlassian.net"},
		{BaseURL: "https://x.atlassian.net", Email: email},
		{BaseURL: "https://x.atlassian.net", Email: email, APIToken: apiToken, PAT: pat},
		{BaseURL: "x.atlassian.net", PAT: pat},
	} {
		if _, err := jira.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), apiToken) || strings.Contains(err.Error(), pat) {
			t.Errorf("error repeats a secret: %v", err)
		}
	}
}

func TestSpecs(t *testing.T) {
	c, err := jira.New(jira.Config{BaseURL: "https://x.atlassian.net", PAT: pat})
	if err != nil {
		t.Fatal(err)
	}
	vendortest.CheckSpecs(t, c.Actions(), "jira.", map[string]vendortest.Spec{
		"jira.create_issue": {Required: []string{"summary"}, Link: "url"},
	})
}
