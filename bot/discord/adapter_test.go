package discord_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/warroom-bot/warroom/bot"
	"github.com/warroom-bot/warroom/bot/discord"
	"github.com/warroom-bot/warroom/bot/discord/fakediscord"
)

// stubHandler answers every command with what reply returns, and every
// click with what click returns (nothing if click is nil).
type stubHandler struct {
	reply func(req bot.Request) bot.Reply
	click func(c bot.Click) bot.Reply
	got   chan bot.Request
}

func (s stubHandler) Command(_ context.Context, r bot.Request) bot.Reply {
	if s.got != nil {
		s.got <- r
	}
	return s.reply(r)
}

func (s stubHandler) Click(_ context.Context, c bot.Click) bot.Reply {
	if s.click == nil {
		return bot.Reply{}
	}
	return s.click(c)
}

func TestNewValidatesConfig(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	good := discord.Config{BotToken: "t", ApplicationID: "1", Handler: stubHandler{}}
	tests := []struct {
		name   string
		change func(c *discord.Config)
		want   string // substring of the error; "" means valid
	}{
		{"gateway needs no key", func(c *discord.Config) {}, ""},
		{"http with key", func(c *discord.Config) { c.Transport, c.PublicKey = "http", hex.EncodeToString(pub) }, ""},
		{"http without key", func(c *discord.Config) { c.Transport = "http" }, "public_key"},
		{"key not hex", func(c *discord.Config) { c.Transport, c.PublicKey = "http", "zz" }, "public_key"},
		{"key too short", func(c *discord.Config) { c.PublicKey = "abcd" }, "public_key"},
		{"unknown transport", func(c *discord.Config) { c.Transport = "socket" }, "transport"},
		{"no token", func(c *discord.Config) { c.BotToken = "" }, "bot_token"},
		{"bad application id", func(c *discord.Config) { c.ApplicationID = "app" }, "application_id"},
		{"bad guild id", func(c *discord.Config) { c.GuildID = "guild" }, "guild_id"},
		{"bad on_close", func(c *discord.Config) { c.OnClose = "burn" }, "on_close"},
		{"bad api_url", func(c *discord.Config) { c.APIURL = "ftp://x" }, "api_url"},
		{"no handler", func(c *discord.Config) { c.Handler = nil }, "handler"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			_, err := discord.New(c)
			if tc.want == "" && err != nil {
				t.Fatalf("valid config refused: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want one about %s", err, tc.want)
			}
		})
	}
}

func TestAPIURLKeepsThePath(t *testing.T) {
	paths := make(chan string, 10)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case paths <- r.URL.Path:
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"1","username":"bot"}`))
	}))
	defer proxy.Close()
	a, err := discord.New(discord.Config{BotToken: "t", ApplicationID: "1", APIURL: proxy.URL + "/discord/", Handler: stubHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	a.Check(context.Background()) // fails later on; the first request is what matters
	if got := <-paths; got != "/discord/api/v"+discordgo.APIVersion+"/users/@me" {
		t.Fatalf("first request went to %s", got)
	}
	if discordgo.EndpointAPI != "https://discord.com/api/v"+discordgo.APIVersion+"/" {
		t.Fatalf("discordgo's endpoints were changed globally: %s", discordgo.EndpointAPI)
	}
}

func TestCategoriesByNameMustExist(t *testing.T) {
	fake := fakediscord.NewT(t)
	a, err := discord.New(discord.Config{BotToken: fakediscord.BotToken, ApplicationID: fakediscord.AppID, APIURL: fake.URL(),
		IncidentCategory: "Incidents", Handler: stubHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	// No guild_id: the bot's only guild is used.
	if err := a.Check(context.Background()); err == nil || !strings.Contains(err.Error(), `no category "Incidents"`) {
		t.Fatalf("check = %v", err)
	}
	if a.Ready() == nil {
		t.Fatal("ready despite a missing category")
	}
	fake.AddCategory("incidents")
	if err := a.Check(context.Background()); err != nil || a.Ready() != nil {
		t.Fatalf("check = %v, ready = %v", err, a.Ready())
	}
}

func TestHasRole(t *testing.T) {
	fake := fakediscord.NewT(t)
	role := fake.AddRole("leads")
	fake.AddMember("200000000000000001", role)
	fake.AddMember("200000000000000002")
	a, err := discord.New(discord.Config{BotToken: fakediscord.BotToken, ApplicationID: fakediscord.AppID, APIURL: fake.URL(),
		GuildID: fakediscord.GuildID, Handler: stubHandler{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		user, role string
		want       bool
	}{
		{"200000000000000001", role, true},
		{"200000000000000002", role, false},
		{"200000000000000009", role, false}, // not a member
		{"200000000000000002", fakediscord.GuildID, true},
		{"not-an-id", role, false},
	}
	for _, tc := range tests {
		got, err := a.HasRole(ctx, tc.user, tc.role)
		if err != nil || got != tc.want {
			t.Errorf("HasRole(%s, %s) = %v, %v; want %v", tc.user, tc.role, got, err, tc.want)
		}
	}
	calls := len(fake.Calls("GET /guilds/{guild}/members/{user}"))
	a.HasRole(ctx, "200000000000000001", role)
	if n := len(fake.Calls("GET /guilds/{guild}/members/{user}")); n != calls {
		t.Errorf("member roles were not cached: %d lookups after %d", n, calls)
	}
	check := a.HasRoleFunc(map[string][]string{"lead": {"discord:" + role}, "ops": {"slack:S1", "discord:200000000000000002"}})
	if !check(ctx, "discord:200000000000000001", "lead") || check(ctx, "discord:200000000000000002", "lead") || check(ctx, "slack:U1", "lead") {
		t.Error("HasRoleFunc got the lead role wrong")
	}
}

// TestSlowWorkIsDeferred: a command or click that outlasts the
// acknowledgement window gets a deferred private answer at once, edited
// when it is ready.
func TestSlowWorkIsDeferred(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"command", `{"id":"7","application_id":"` + fakediscord.AppID + `","type":2,"token":"slow-token","channel_id":"5","member":{"user":{"id":"200000000000000001"},"roles":[]},"data":{"name":"enrich","type":1,"options":[{"name":"ioc","type":3,"value":"1.2.3.4"}]}}`},
		{"click", `{"id":"8","application_id":"` + fakediscord.AppID + `","type":3,"token":"slow-token","channel_id":"5","member":{"user":{"id":"200000000000000001"},"roles":[]},"message":{"id":"9","channel_id":"5"},"data":{"custom_id":"incident.take|1","component_type":2}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakediscord.NewT(t)
			pub, key, _ := ed25519.GenerateKey(nil)
			release := make(chan struct{})
			slow := func() bot.Reply {
				<-release
				return bot.Reply{Message: bot.Message{Text: "finally done"}}
			}
			a, err := discord.New(discord.Config{BotToken: fakediscord.BotToken, ApplicationID: fakediscord.AppID, APIURL: fake.URL(),
				GuildID: fakediscord.GuildID, Transport: discord.TransportHTTP, PublicKey: hex.EncodeToString(pub), AckTimeout: time.Millisecond,
				Handler: stubHandler{reply: func(bot.Request) bot.Reply { return slow() }, click: func(bot.Click) bot.Reply { return slow() }}})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			a.Routes(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/discord/interactions", strings.NewReader(tc.body))
			fakediscord.Sign(req, key, time.Now(), []byte(tc.body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var got discordgo.InteractionResponse
			json.NewDecoder(res.Body).Decode(&got)
			if got.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || got.Data == nil || got.Data.Flags != discordgo.MessageFlagsEphemeral {
				t.Fatalf("answer = %+v, want a deferred private answer", got)
			}
			close(release)
			a.Wait()
			answers := fake.Answers("slow-token")
			if len(answers) != 1 || answers[0].Kind != "edit" || !strings.Contains(string(answers[0].Body), "finally done") {
				t.Fatalf("late answer = %+v", answers)
			}
		})
	}
}

// TestGatewayCommand serves one command over the gateway transport: the
// bot connects, identifies, receives INTERACTION_CREATE and answers it
// through the callback endpoint.
func TestGatewayCommand(t *testing.T) {
	fake := fakediscord.NewT(t)
	got := make(chan bot.Request, 1)
	a, err := discord.New(discord.Config{BotToken: fakediscord.BotToken, ApplicationID: fakediscord.AppID, APIURL: fake.URL(),
		GuildID: fakediscord.GuildID, Handler: stubHandler{got: got, reply: func(r bot.Request) bot.Reply {
			return bot.Reply{Message: bot.Message{Text: "status is now " + r.Text}}
		}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		a.Wait()
	}()
	wait, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	if err := fake.WaitConnected(wait); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Commands(fakediscord.GuildID)); n != 4 {
		t.Fatalf("commands registered before serving: %d", n)
	}
	in := map[string]any{
		"id": "3000000000000000001", "application_id": fakediscord.AppID, "type": 2, "token": "gw-token", "version": 1,
		"guild_id": fakediscord.GuildID, "channel_id": "5",
		"member": map[string]any{"user": map[string]any{"id": "200000000000000001"}, "roles": []string{}},
		"data": map[string]any{"id": "9", "name": "incident", "type": 1, "options": []any{
			map[string]any{"name": "status", "type": 1, "options": []any{map[string]any{"name": "status", "type": 3, "value": "contained"}}}}},
	}
	if err := fake.Dispatch("INTERACTION_CREATE", in); err != nil {
		t.Fatal(err)
	}
	req := <-got
	if req.Command != "incident" || req.Text != "status contained" || req.User != "200000000000000001" || req.ReplyTo != "gw-token" {
		t.Fatalf("request = %+v", req)
	}
	err = fake.WaitFor(wait, func(s *fakediscord.Server) bool { return len(s.AnswersLocked("gw-token")) == 1 })
	if err != nil {
		t.Fatal(err)
	}
	ans := fake.Answers("gw-token")[0]
	if ans.Kind != "callback" || !strings.Contains(string(ans.Body), "status is now status contained") || !strings.Contains(string(ans.Body), `"flags":64`) {
		t.Fatalf("answer = %s %s", ans.Kind, ans.Body)
	}
}
