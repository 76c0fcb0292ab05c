package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/warroom-bot/warroom/bot"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestBlocksGolden(t *testing.T) {
	room := &bot.RoomRef{Platform: "slack", ID: "C0123ABC", Name: "inc-7-ransomware"}
	tests := map[string]bot.Message{
		"summary": {
			Title: "INC-7 · Ransomware on FS01", Severity: "critical",
			Fields: []bot.Field{
				{Label: "Severity", Value: "critical"}, {Label: "Status", Value: "investigating"},
				{Label: "Commander", User: "slack:ULEAD"}, {Label: "Opened by", User: "local:alice"},
			},
			Buttons: []bot.Button{
				{ID: bot.ActionTakeCommand, Label: "Take command", Value: "7", Style: bot.StylePrimary},
				{ID: bot.ActionClose, Label: "Close", Value: "7", Style: bot.StyleDanger, Confirm: "Close INC-7 and archive this channel?"},
			},
		},
		"announcement": {Actor: "slack:UANALYST", Text: "handed command to", Mentions: []string{"slack:ULEAD"}},
		"untrusted": {
			Title: "<!channel> pwned", Text: "<@U123> <https://evil.example|click> & more",
			Fields: []bot.Field{{Label: "<b>", Value: "<!here>"}},
			Links:  []bot.Link{{Text: "evil|label", URL: "javascript:alert(1)"}, {Text: "ok", URL: "https://example.com/a?b=1&c=2"}, {Text: "room", Room: room}},
			Footer: "<!everyone>",
		},
	}
	// The enrichment message as the enrichment package renders it (mixed
	// verdicts, a failing source, a withheld TLP:RED answer, a button).
	raw, err := os.ReadFile(filepath.Join("..", "..", "enrichment", "testdata", "enrichment.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var enrichment bot.Message
	if err := json.Unmarshal(raw, &enrichment); err != nil {
		t.Fatal(err)
	}
	tests["enrichment"] = enrichment
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			blocks, text := Blocks(msg)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep the golden files readable: <, > and & as they are sent
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"text": text, "blocks": blocks}); err != nil {
				t.Fatal(err)
			}
			got := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				os.MkdirAll("testdata", 0o755)
				if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if string(want) != string(got)+"\n" {
				t.Errorf("Block Kit for %s changed:\n%s\nwant:\n%s", name, got, want)
			}
		})
	}
}

func TestTopicText(t *testing.T) {
	got := TopicText(bot.Topic{Ref: "INC-3", Severity: "high", Status: "contained", Commander: "slack:ULEAD"})
	if want := "🟠 HIGH · contained · commander <@ULEAD> · INC-3"; got != want {
		t.Fatalf("topic %q, want %q", got, want)
	}
}
