package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/warroom-bot/warroom/config"
	"github.com/warroom-bot/warroom/connectors/alerts"
)

// cmdAlerts runs `warroom alerts replay FILE --source S [--dry-run]`: it
// parses a saved webhook body exactly as intake would and prints the alerts
// it yields, then (unless --dry-run) posts it to the running server through
// the same authenticated endpoint, for testing a mapping end to end.
func cmdAlerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: warroom alerts replay FILE --source SOURCE [--dry-run] [--config FILE]"
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	fs, cfgPath := flags("alerts replay", stderr)
	source := fs.String("source", "", "alert source: alertmanager, splunk, elastic, grafana, wazuh, suricata or generic/NAME")
	dry := fs.Bool("dry-run", false, "only parse and print; send nothing")
	pos, err := parse(fs, args[1:])
	if err != nil || len(pos) != 1 || *source == "" {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	parsers, err := alertParsers(cfg)
	if err != nil {
		return err
	}
	parser, ok := parsers[*source]
	if !ok {
		return fmt.Errorf("unknown source %q", *source)
	}
	batch, err := parser.Parse(body)
	if err != nil {
		return err
	}
	batch.Observe()
	for i := range batch.Alerts {
		batch.Alerts[i].GroupKey = alerts.GroupKey(batch.Alerts[i], cfg.Alerts.GroupBy)
		batch.Alerts[i].Raw = nil
	}
	if err := writeJSON(stdout, map[string]any{"alerts": batch.Alerts, "rejected": batch.Rejected}); err != nil {
		return err
	}
	if *dry {
		return nil
	}
	return replay(ctx, cfg, *source, body, stdout)
}

// replay posts body to the local server as the source would.
func replay(ctx context.Context, cfg *config.Config, source string, body []byte, stdout io.Writer) error {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort(host, port)+"/alerts/"+source, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	key, _, _ := strings.Cut(source, "/")
	auth, ok := cfg.Alerts.Sources[key]
	switch {
	case ok && auth.HMACSecret != "":
		mac := hmac.New(sha256.New, []byte(auth.HMACSecret.Reveal()))
		mac.Write(body)
		header := auth.HMACHeader
		if header == "" {
			header = "X-Warroom-Signature"
		}
		req.Header.Set(header, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	case ok && auth.Token != "":
		req.Header.Set("Authorization", "Bearer "+auth.Token.Reveal())
	case cfg.Alerts.Token != "":
		req.Header.Set("Authorization", "Bearer "+cfg.Alerts.Token.Reveal())
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("replay to the server: %w", err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	fmt.Fprintf(stdout, "server answered %s: %s", res.Status, answer)
	if res.StatusCode != http.StatusAccepted {
		return exitError{code: 1}
	}
	return nil
}
