package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	discordbot "github.com/warroom-bot/warroom/bot/discord"
	"github.com/warroom-bot/warroom/bot/discord/fakediscord"
	"github.com/warroom-bot/warroom/config"
)

// TestServeWithDiscord: with a discord block, serve registers the
// interactions endpoint, verifies signatures with public_key, and a slash
// command opens an incident whose channel appears under the category with
// its summary.
func TestServeWithDiscord(t *testing.T) {
	fake := fakediscord.NewT(t)
	fake.SetBotPermissions(discordbot.InvitePermissions) // what the README's invite URL grants
	category := fake.AddCategory("Incidents")
	fake.AddCategory("Closed incidents")
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, `
listen: 127.0.0.1:0
database: `+filepath.Join(t.TempDir(), "w.db")+`
discord:
  bot_token: `+fakediscord.BotToken+`
  application_id: "`+fakediscord.AppID+`"
  public_key: `+hex.EncodeToString(pub)+`
  guild_id: "`+fakediscord.GuildID+`"
  api_url: `+fake.URL()+`
  transport: http
  incident_category: Incidents
  archive_category: Closed incidents
`)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := startApp(t, cfg)

	send := func(body string, key ed25519.PrivateKey) *http.Response {
		t.Helper()
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, s.base+"/discord/interactions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Signature-Timestamp", ts)
		req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(key, []byte(ts+body))))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	_, forger, _ := ed25519.GenerateKey(nil)
	if res := send(`{"type":1}`, forger); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged PING: %d, want 401", res.StatusCode)
	}
	res := send(`{"type":1}`, priv)
	var pong bytes.Buffer
	pong.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(pong.String(), `"type":1`) {
		t.Fatalf("PING: %d %s", res.StatusCode, pong.String())
	}

	cmd := `{"id":"3000000000000000001","application_id":"` + fakediscord.AppID + `","type":2,"token":"tok-1","version":1,
		"guild_id":"` + fakediscord.GuildID + `","channel_id":"1000000000000000001",
		"member":{"user":{"id":"400000000000000001","username":"ana"},"roles":[]},
		"data":{"id":"1","name":"incident","type":1,"options":[{"name":"new","type":1,"options":[{"name":"title","type":3,"value":"Ransomware on FS01"}]}]}}`
	if res := send(cmd, priv); res.StatusCode != 200 {
		t.Fatalf("/incident new: %d", res.StatusCode)
	}
	eventually(t, "a channel under the category with the summary pinned", func() bool {
		ch, ok := fake.ChannelByName("inc-1-ransomware-on-fs01")
		if !ok || ch.ParentID != category {
			return false
		}
		for _, m := range fake.Messages(ch.ID) {
			for _, e := range m.Embeds {
				if strings.Contains(e.Title, "INC-1 · Ransomware on FS01") && slices.Contains(ch.Pins, m.ID) {
					return true
				}
			}
		}
		return false
	})
}
