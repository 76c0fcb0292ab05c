package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
)

// TestMain lets the test binary stand in for the warroom binary, so crash
// tests can start it as a child process and kill it for real.
func TestMain(m *testing.M) {
	if os.Getenv("WARROOM_AS_BINARY") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type child struct {
	cmd  *exec.Cmd
	base string
	logs *logBuffer
}

func startChild(t *testing.T, cfgPath, addr string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "WARROOM_AS_BINARY=1")
	logs := &logBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, base: "http://" + addr, logs: logs}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(c.base + "/healthz"); err == nil {
			res.Body.Close()
			return c
		}
	}
	t.Fatalf("child never served /healthz:\n%s", logs)
	return nil
}

func crashConfig(t *testing.T, path, addr, db string, fake *fakeslack.Server) {
	t.Helper()
	body := fmt.Sprintf("listen: %s\ndatabase: %s\nslack: {bot_token: %s, signing_secret: s, api_url: %s}\nalerts: {token: tok-0123456789abcdef}\n",
		addr, db, fake.BotToken(), fake.APIURL())
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAlertSurvivesKillAfterAccept(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfgPath, dbPath := filepath.Join(dir, "warroom.yaml"), filepath.Join(dir, "w.db")

	// Slack is down: nothing can be delivered before the crash.
	down := fakeslack.NewT(t)
	down.FailTimes("conversations.create", 1000, fakeslack.HTTPStatus(503))
	crashConfig(t, cfgPath, addr, dbPath, down)
	c := startChild(t, cfgPath, addr)
	body := `{"version":"4","status":"firing","receiver":"warroom","alerts":[{"status":"firing","labels":{"alertname":"Ransomware","host":"fs01","severity":"critical"},"annotations":{"summary":"Ransomware note on fs01"},"startsAt":"2026-11-22T09:00:00Z","fingerprint":"f00d"}]}`
	req, _ := http.NewRequest(http.MethodPost, c.base+"/alerts/alertmanager", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", res.StatusCode)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()

	// Slack is back; the restarted process opens the incident's channel, once.
	up := fakeslack.NewT(t)
	crashConfig(t, cfgPath, addr, dbPath, up)
	startChild(t, cfgPath, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = up.WaitFor(ctx, func(s *fakeslack.State) bool {
		ch, ok := s.ChannelByName("inc-1-ransomware-note-on-fs01")
		return ok && len(s.Pins(ch.ID)) == 1
	})
	if err != nil {
		t.Fatalf("incident channel never opened after restart: %v", err)
	}
	if n := len(up.Channels()); n != 1 {
		t.Fatalf("channels = %d, want 1", n)
	}
}
