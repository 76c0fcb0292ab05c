// Command warroom-bench measures a running warroom from the outside.
//
//	warroom-bench alerts [--alerts 20000] [--fingerprints 200] [--clients 16] [--per-request 1]
//	warroom-bench alertmanager --bin PATH [the same flags]
//
// It builds warroom (or uses --bin), starts it against a fake Slack on
// 127.0.0.1 with a fresh database, sends an Alertmanager alert storm through
// POST /alerts/alertmanager, and reports accepted alerts per second and the
// p50/p99 time to a durable 202. Then it checks what a user would: exactly
// one incident per fingerprint, and one channel each, none duplicated.
//
// The alertmanager command sends the same storm, with the same client, to a
// Prometheus Alertmanager binary (POST /api/v2/alerts), which keeps alerts
// in memory only: the baseline a durable intake is held against.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warroom-bot/warroom/bot/slack/fakeslack"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "alerts" && os.Args[1] != "alertmanager") {
		fmt.Fprintln(os.Stderr, "usage: warroom-bench alerts|alertmanager [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	o := options{}
	fs.IntVar(&o.alerts, "alerts", 20000, "alerts to send")
	fs.IntVar(&o.fingerprints, "fingerprints", 200, "distinct alert fingerprints (incidents expected)")
	fs.IntVar(&o.clients, "clients", 16, "concurrent HTTP clients")
	fs.IntVar(&o.perRequest, "per-request", 1, "alerts per webhook request")
	fs.StringVar(&o.bin, "bin", "", "warroom binary (default: build ./cmd/warroom); for alertmanager, its binary")
	fs.StringVar(&o.sync, "database-sync", "full", "database_sync of the server: full or normal")
	fs.DurationVar(&o.wait, "wait-channels", 30*time.Second, "how long to wait for channels after the storm (Slack's tier 2 allows 20 a minute)")
	fs.Parse(os.Args[2:])
	run := runAlerts
	if os.Args[1] == "alertmanager" {
		run = runAlertmanager
	}
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "warroom-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	alerts, fingerprints, clients, perRequest int
	bin, sync                                 string
	wait                                      time.Duration
}

const token = "bench-token-0123456789"

func runAlerts(ctx context.Context, o options, out io.Writer) error {
	dir, err := os.MkdirTemp("", "warroom-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(dir, "warroom")
		build := exec.Command("go", "build", "-o", bin, "./cmd/warroom")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build warroom: %w", err)
		}
	}
	fake := fakeslack.New()
	defer fake.Close()
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg := filepath.Join(dir, "warroom.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: %s
database: %s
database_sync: %s
log_level: warn
slack: {bot_token: %s, signing_secret: bench, api_url: %s}
alerts: {token: %s}
roles: {lead: [UBENCH]}
api: {tokens: [{name: bench, token: %s, role: lead}]}
`, addr, filepath.Join(dir, "warroom.db"), o.sync, fake.BotToken(), fake.APIURL(), token, token)), 0o600)
	srv := exec.CommandContext(ctx, bin, "serve", "--config", cfg)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	base := "http://" + addr
	if err := waitReady(ctx, base+"/readyz"); err != nil {
		return err
	}

	res := storm(o, addr, "/alerts/alertmanager", http.StatusAccepted, payload)
	fmt.Fprintf(out, "alerts: %d in %d requests (%d per request), %d clients, %d fingerprints, database_sync %s\n", o.alerts, res.requests, o.perRequest, o.clients, o.fingerprints, o.sync)
	res.print(out, o, "accepted durably")
	if res.failed > 0 {
		return fmt.Errorf("%d requests were not accepted (first: %v)", res.failed, res.firstErr)
	}

	incidents, err := countIncidents(bin, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "incidents: %d (want %d)\n", incidents, o.fingerprints)
	deadline := time.Now().Add(o.wait)
	channels := 0
	for time.Now().Before(deadline) {
		if channels = len(fake.Channels()); channels >= o.fingerprints {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Channel names start inc-N-: two channels for one N is a duplicate.
	seen := map[string]string{}
	for _, ch := range fake.Channels() {
		parts := strings.SplitN(ch.Name, "-", 3)
		if len(parts) < 2 {
			continue
		}
		if other, dup := seen[parts[1]]; dup {
			return fmt.Errorf("duplicate channels for incident %s: %s and %s", parts[1], other, ch.Name)
		}
		seen[parts[1]] = ch.Name
	}
	rest := ""
	if channels < o.fingerprints {
		rest = fmt.Sprintf("; the other %d wait in the outbox under Slack's tier-2 pace (--wait-channels 12m sees them all)", o.fingerprints-channels)
	}
	fmt.Fprintf(out, "channels: %d created within %s, none duplicated%s\n", channels, o.wait, rest)
	if incidents != o.fingerprints {
		return fmt.Errorf("incidents = %d, want %d", incidents, o.fingerprints)
	}
	return nil
}

// runAlertmanager sends the storm to Prometheus Alertmanager's API.
func runAlertmanager(ctx context.Context, o options, out io.Writer) error {
	if o.bin == "" {
		return errors.New("alertmanager needs --bin: the path of an alertmanager binary")
	}
	dir, err := os.MkdirTemp("", "warroom-bench-am")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route: {receiver: none}\nreceivers: [{name: none}]\n"), 0o600); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	srv := exec.CommandContext(ctx, o.bin, "--config.file="+cfg, "--storage.path="+dir,
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	if err := waitReady(ctx, "http://"+addr+"/-/ready"); err != nil {
		return err
	}
	res := storm(o, addr, "/api/v2/alerts", http.StatusOK, amAPIPayload)
	fmt.Fprintf(out, "alertmanager: %d alerts in %d requests (%d per request), %d clients, %d fingerprints\n", o.alerts, res.requests, o.perRequest, o.clients, o.fingerprints)
	res.print(out, o, "accepted in memory")
	if res.failed > 0 {
		return fmt.Errorf("%d requests were not accepted (first: %v)", res.failed, res.firstErr)
	}
	return nil
}

// amAPIPayload is the alerts of payload as Alertmanager's API takes them.
func amAPIPayload(k, n, fingerprints int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for j := range n {
		fp := (k + j) % fingerprints
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"labels":{"alertname":"Beacon%d","host":"host-%d","severity":"high"},"annotations":{"summary":"Beaconing from host-%d to 203.0.113.%d"},"startsAt":"2026-11-22T09:00:00Z","generatorURL":"http://prometheus.example.com/graph"}`,
			fp, fp, fp, fp%250)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// stormResult is what a storm measured.
type stormResult struct {
	requests, failed int
	firstErr         error
	elapsed          time.Duration
	lat              []time.Duration // sorted
}

func (r stormResult) print(out io.Writer, o options, what string) {
	fmt.Fprintf(out, "%s: %.0f alerts/s (%.0f requests/s) in %s\n", what, float64(o.alerts)/r.elapsed.Seconds(), float64(r.requests)/r.elapsed.Seconds(), r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "latency: p50 %s  p99 %s  max %s\n", pct(r.lat, .5), pct(r.lat, .99), r.lat[len(r.lat)-1].Round(time.Microsecond))
}

// storm sends o.alerts alerts to path on addr from o.clients connections,
// o.perRequest at a time, body(k, n, fingerprints) making each request's
// body, and counts every answer other than want as a failure.
func storm(o options, addr, path string, want int, body func(k, n, fingerprints int) []byte) stormResult {
	requests := (o.alerts + o.perRequest - 1) / o.perRequest
	lat := make([]time.Duration, requests)
	var next, failed atomic.Int64
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range o.clients {
		wg.Go(func() {
			c, err := dial(addr)
			if err != nil {
				fail(err)
				return
			}
			defer func() { c.close() }()
			for {
				i := int(next.Add(1) - 1)
				if i >= requests {
					return
				}
				b := body(i*o.perRequest, min(o.perRequest, o.alerts-i*o.perRequest), o.fingerprints)
				t0 := time.Now()
				status, err := c.post(path, b)
				lat[i] = time.Since(t0)
				if err != nil || status != want {
					if err == nil {
						err = fmt.Errorf("status %d", status)
					}
					fail(err)
					c.close()
					if c, err = dial(addr); err != nil {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	r := stormResult{requests: requests, failed: int(failed.Load()), firstErr: firstErr, elapsed: time.Since(start), lat: lat}
	slices.Sort(r.lat)
	return r
}

// conn is one client's keep-alive connection. It writes each request in
// one call and reads the answer with net/http's parser, without the
// transport's connection pool and goroutines: the load generator shares
// the machine with the server it measures, so the less CPU it spends per
// request the more of the figure is the server's.
type conn struct {
	nc  net.Conn
	r   *bufio.Reader
	buf bytes.Buffer
}

func dial(addr string) (*conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 16<<10)}, nil
}

func (c *conn) close() { c.nc.Close() }

// post sends one webhook and returns the status once the whole answer is
// read.
func (c *conn) post(path string, body []byte) (int, error) {
	c.buf.Reset()
	fmt.Fprintf(&c.buf, "POST %s HTTP/1.1\r\nHost: warroom\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, token, len(body))
	c.buf.Write(body)
	if _, err := c.nc.Write(c.buf.Bytes()); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, err
}

// payload is an Alertmanager webhook with n alerts starting at alert k.
func payload(k, n, fingerprints int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"version":"4","groupKey":"bench","status":"firing","receiver":"warroom","groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager.example.com","alerts":[`)
	for j := range n {
		fp := (k + j) % fingerprints
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","labels":{"alertname":"Beacon%d","host":"host-%d","severity":"high"},"annotations":{"summary":"Beaconing from host-%d to 203.0.113.%d"},"startsAt":"2026-11-22T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example.com/graph","fingerprint":"%016x"}`,
			fp, fp, fp, fp%250, fp+1)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func pct(lat []time.Duration, p float64) time.Duration {
	return lat[int(float64(len(lat)-1)*p)].Round(time.Microsecond)
}

func countIncidents(bin, cfg string) (int, error) {
	out, err := exec.Command(bin, "incident", "list", "--all", "--json", "--config", cfg).Output()
	if err != nil {
		return 0, fmt.Errorf("incident list: %w", err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(out, &list); err != nil {
		return 0, err
	}
	return len(list), nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New(url + " did not become ready")
}
