package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment of the browser test.
const (
	// skipBrowserEnv=1 skips the browser test on machines without Chromium.
	skipBrowserEnv = "WARROOM_SKIP_BROWSER"
	// screenshotsEnv names a directory to write the README screenshots to
	// (make screenshots sets it to docs/img).
	screenshotsEnv = "WARROOM_SCREENSHOTS"
	// artifactsEnv names a directory for screenshots of a failed run;
	// without it they go to a new directory under the system temp dir.
	artifactsEnv = "WARROOM_ARTIFACTS"
)

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives the web room in headless Chromium as two leads would:
// alice logs in, opens an incident from the command box and sees it appear
// in the list without reloading, runs /contain, is refused when she tries
// to approve it herself, and watches her room's timeline update when bob
// approves it from the approval queue.
func TestBrowser(t *testing.T) {
	if os.Getenv(skipBrowserEnv) == "1" {
		t.Skip(skipBrowserEnv + "=1: browser test skipped")
	}
	chromium := chromiumPath()
	if chromium == "" {
		t.Fatal("the browser test needs Chromium: install it with `apt-get install -y chromium` " +
			"(Debian), or set " + skipBrowserEnv + "=1 to skip this test")
	}
	e := newEDR(t)
	s := startApp(t, webConfig(t, e))
	if err := loadDemo(context.Background(), s.app, filepath.Join("..", "..", demoDir)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alloc, stopAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	defer stopAlloc()
	aliceCtx, stopAlice := chromedp.NewContext(alloc)
	defer stopAlice()
	var bobCtx context.Context
	// Deferred, not a Cleanup: the browser must still be running.
	defer func() {
		if t.Failed() {
			saveFailureShots(t, map[string]context.Context{"alice": aliceCtx, "bob": bobCtx})
		}
	}()

	do := func(c context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitFor := func(c context.Context, what, js string) {
		t.Helper()
		if _, err := chromedp.Run(c, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("wait for %s: %v", what, err)
		}
	}
	eval := func(c context.Context, js string) string {
		t.Helper()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	login := func(c context.Context, name string) {
		t.Helper()
		do(c, name+" logs in",
			chromedp.Navigate(s.base+"/"),
			chromedp.WaitVisible(chromedp.ID("name")),
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.SendKeys(chromedp.ID("password"), testPassword),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
			chromedp.WaitVisible(chromedp.ID("incident-list")),
		)
		waitFor(c, name+"'s live updates", `document.body.getAttribute("data-live-ready") === "1"`)
	}
	command := func(c context.Context, text string) {
		t.Helper()
		eval(c, `document.getElementById("command-text").value = ""`)
		do(c, "type "+text,
			chromedp.SendKeys(chromedp.ID("command-text"), text),
			chromedp.Click(chromedp.CSS(`form.command button`)),
		)
	}
	// click clicks the first element matching sel whose text contains text,
	// in one step inside the page: live updates swap whole regions, so a
	// node found by one protocol call may be gone by the next.
	click := func(c context.Context, what, sel, text string) {
		t.Helper()
		waitFor(c, what, fmt.Sprintf(`(() => {
			const el = [...document.querySelectorAll(%q)].find(e => e.innerText.includes(%q));
			if (!el) return false;
			el.click();
			return true;
		})()`, sel, text))
	}
	contains := func(sel, text string) string {
		return fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText.includes(%q)`, sel, text)
	}

	login(aliceCtx, "alice")
	eval(aliceCtx, `window.__notReloaded = "yes"`)
	command(aliceCtx, "/incident new Beaconing from host-42 --severity high")
	waitFor(aliceCtx, "the reply", contains("#reply", "Opening INC-"))
	waitFor(aliceCtx, "the new incident in the list", contains("#incident-list", "Beaconing from host-42"))
	if eval(aliceCtx, `window.__notReloaded || "reloaded"`) != "yes" {
		t.Fatal("the list updated by reloading the page, not live")
	}
	screenshot(t, aliceCtx, "dashboard.png")

	click(aliceCtx, "open the incident", "#incident-list a", "Beaconing from host-42")
	do(aliceCtx, "the room opens", chromedp.WaitVisible(chromedp.ID("timeline")))
	waitFor(aliceCtx, "the room's live updates", `document.body.getAttribute("data-live-ready") === "1"`)
	waitFor(aliceCtx, "the pinned summary", contains("#pinned", "Beaconing from host-42"))
	command(aliceCtx, "/contain host-42 suspicious beacon")
	waitFor(aliceCtx, "the run to start", contains("#reply", "Started contain"))
	waitFor(aliceCtx, "the approval buttons", contains("#room-approvals", "Approve"))

	acceptConfirms(t, eval, aliceCtx)
	click(aliceCtx, "alice approves her own request", "#room-approvals button.btn.primary", "Approve")
	waitFor(aliceCtx, "the four-eyes refusal", contains("#reply", "four-eyes"))
	if q := eval(aliceCtx, `window.__asked`); !strings.Contains(q, "Isolate host-42?") {
		t.Errorf("the confirmation asked %q", q)
	}
	waitFor(aliceCtx, "the refusal in the timeline", contains("#timeline", "approval.refused"))
	if hosts := e.isolated(); len(hosts) != 0 {
		t.Fatalf("the EDR was called before a second lead approved: %v", hosts)
	}

	// bob gets a browser context of his own: his own cookies, his own session.
	var stopBob context.CancelFunc
	bobCtx, stopBob = chromedp.NewContext(aliceCtx, chromedp.WithNewBrowserContext())
	defer stopBob()
	login(bobCtx, "bob")
	do(bobCtx, "bob opens the approval queue",
		chromedp.Navigate(s.base+"/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`#approval-queue button.btn.primary`)),
	)
	acceptConfirms(t, eval, bobCtx)
	click(bobCtx, "bob approves", "#approval-queue button.btn.primary", "Approve")
	waitFor(bobCtx, "bob's approval", contains("#reply", "Approved: contain goes on."))

	waitFor(aliceCtx, "the approval in alice's timeline", contains("#timeline", "approval.approved"))
	waitFor(aliceCtx, "the run to succeed", contains("#runs", "run 1 · succeeded"))
	waitFor(aliceCtx, "the approval message to show the decision", contains("#messages", "Approved · contain"))
	waitFor(aliceCtx, "the approval to leave the room", `!document.querySelector("#room-approvals button")`)
	if hosts := e.isolated(); len(hosts) != 1 || hosts[0] != "host-42" {
		t.Errorf("EDR calls = %v, want host-42 once", hosts)
	}
	eval(aliceCtx, `window.scrollTo(0, 0); "ok"`)
	screenshot(t, aliceCtx, "incident-room.png")
}

// acceptConfirms answers OK to the page's confirmation questions (Approve
// asks first), as the person clicking would. The question itself is
// checked: it must say what is being approved.
func acceptConfirms(t *testing.T, eval func(context.Context, string) string, ctx context.Context) {
	t.Helper()
	eval(ctx, `window.__asked = ""; window.confirm = function (q) { window.__asked = q; return true; }; "ok"`)
}

// screenshot writes a full-page screenshot for the README when
// WARROOM_SCREENSHOTS names a directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// saveFailureShots keeps what each browser showed when the test failed.
func saveFailureShots(t *testing.T, tabs map[string]context.Context) {
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "warroom-browser-"); err != nil {
			t.Logf("no artifacts dir: %v", err)
			return
		}
	}
	os.MkdirAll(dir, 0o755)
	for name, c := range tabs {
		if c == nil {
			continue
		}
		shot, cancel := context.WithTimeout(c, 10*time.Second)
		png, err := chromedp.Run(shot, chromedp.FullScreenshot(100))
		var html string
		if err == nil {
			html, err = chromedp.Run(shot, chromedp.OuterHTML(chromedp.CSS("html")))
		}
		cancel()
		if err != nil {
			t.Logf("screenshot of %s: %v", name, err)
			continue
		}
		os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		os.WriteFile(filepath.Join(dir, name+".html"), []byte(html), 0o644)
	}
	t.Logf("screenshots of the failure are in %s", strings.TrimSpace(dir))
}
