package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseIncident(t *testing.T) {
	tests := []struct {
		text string
		want IncidentCmd
	}{
		{"new Phishing wave at finance --sev high", IncidentCmd{Sub: "new", Title: "Phishing wave at finance", Severity: "high"}},
		{"new --severity=critical Ransomware on FS01", IncidentCmd{Sub: "new", Title: "Ransomware on FS01", Severity: "critical"}},
		{"open Leaked key --private", IncidentCmd{Sub: "new", Title: "Leaked key", Private: true}},
		{"new <!channel> <@U123> <https://evil.example|click>", IncidentCmd{Sub: "new", Title: "<!channel> <@U123> <https://evil.example|click>"}},
		{"", IncidentCmd{Sub: "help"}},
		{"list", IncidentCmd{Sub: "list"}},
		{"list --all", IncidentCmd{Sub: "list", All: true}},
		{"show", IncidentCmd{Sub: "show"}},
		{"show INC-12", IncidentCmd{Sub: "show", Ref: 12}},
		{"status contained", IncidentCmd{Sub: "status", Status: "contained"}},
		{"STATUS inc-3 Investigating", IncidentCmd{Sub: "status", Ref: 3, Status: "investigating"}},
		{"severity critical", IncidentCmd{Sub: "severity", Severity: "critical"}},
		{"sev INC-2 p2", IncidentCmd{Sub: "severity", Ref: 2, Severity: "high"}},
		{"assign <@U0G9QF9C6|alice>", IncidentCmd{Sub: "assign", User: "U0G9QF9C6"}},
		{"assign INC-4 <@U0G9QF9C6>", IncidentCmd{Sub: "assign", Ref: 4, User: "U0G9QF9C6"}},
		{"assign <@!80351110224678912>", IncidentCmd{Sub: "assign", User: "80351110224678912"}},
		{"assign me", IncidentCmd{Sub: "assign", User: "me"}},
		{"assign @alice", IncidentCmd{Sub: "assign", User: "@alice"}},
		{"note beacon to 203.0.113.7   every 60s", IncidentCmd{Sub: "note", Text: "beacon to 203.0.113.7   every 60s"}},
		{"note INC-9 seen on host-42", IncidentCmd{Sub: "note", Ref: 9, Text: "seen on host-42"}},
		{"timeline", IncidentCmd{Sub: "timeline"}},
		{"close", IncidentCmd{Sub: "close"}},
		{"close false positive: scanner", IncidentCmd{Sub: "close", Text: "false positive: scanner"}},
		{"reopen INC-7", IncidentCmd{Sub: "reopen", Ref: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			got, err := ParseIncident(tc.text)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseIncidentUsage(t *testing.T) {
	tests := []struct {
		text, problem, usage string
	}{
		{"new", "needs a title", "/incident new TITLE"},
		{"new --sev", "needs a severity", "/incident new TITLE"},
		{"new Title --sev extreme", `unknown severity "extreme"`, "/incident new"},
		{"new Title --color red", `unknown option "--color"`, "/incident new"},
		{"status", "exactly one status", "/incident status [INC-N]"},
		{"status done", `unknown status "done"`, "/incident status"},
		{"status closed", "/incident close", "/incident close"},
		{"status contained resolved", "exactly one status", "/incident status"},
		{"severity", "exactly one severity", "/incident severity"},
		{"assign", "exactly one user", "/incident assign"},
		{"assign bob", `"bob" is not a user`, "/incident assign"},
		{"note", "needs text", "/incident note"},
		{"note INC-3", "needs text", "/incident note"},
		{"show INC-x", `"INC-x" is not an incident id`, "/incident show"},
		{"list everything", `unexpected "everything"`, "/incident list"},
		{"timeline now", `unexpected "now"`, "/incident timeline"},
		{"explode", `unknown subcommand "explode"`, "/incident new"},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := ParseIncident(tc.text)
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if !strings.Contains(ue.Problem, tc.problem) || !strings.Contains(ue.Usage, tc.usage) {
				t.Fatalf("got problem %q usage %q, want %q and %q", ue.Problem, ue.Usage, tc.problem, tc.usage)
			}
		})
	}
}

func FuzzParseIncident(f *testing.F) {
	for _, s := range []string{"new Phishing --sev high", "status INC-1 contained", "assign <@U1|a>", "note x", "close", "new \"quoted\" --sev=low --private", "sev inc-99999999999999999999 low"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := ParseIncident(text)
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) || ue.Usage == "" {
				t.Fatalf("error without usage: %v", err)
			}
			return
		}
		if _, ok := incidentUsage[cmd.Sub]; !ok && cmd.Sub != "help" {
			t.Fatalf("parsed to unknown subcommand %q", cmd.Sub)
		}
		if cmd.Sub == "new" && strings.TrimSpace(cmd.Title) == "" {
			t.Fatal("new without title accepted")
		}
		if cmd.Ref < 0 {
			t.Fatalf("negative ref %d", cmd.Ref)
		}
	})
}
