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

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
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

// stepTimeout bounds one step of the browser test. It is generous because
// the test shares the machine with the race detector and whatever else is
// running; a step that works takes well under a second.
const stepTimeout = 45 * time.Second

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives the web room in headless Chromium as two leads would:
// alice logs in, opens an incident from the command box and sees it, and
// one opened by someone else, appear in the list without reloading; she
// runs /contain, is refused when she tries to approve it herself, and
// watches her room's timeline update when bob approves it from the
// approval queue. On the way every page is checked for labels, names and
// contrast (light and dark), the keyboard focus is checked to be visible
// and to survive live updates, the room and the list are read on a phone's
// width, and the room is read with JavaScript off.
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

	// The browser lives without a deadline, so that a step that times out
	// still leaves it running for the failure's screenshots; each step has
	// a deadline of its own.
	alloc, stopAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	defer stopAlloc()
	aliceCtx, stopAlice := chromedp.NewContext(alloc)
	defer stopAlice()
	alice := openTab(t, "alice", s.base, aliceCtx, stopAlloc)
	var bob *tab
	stopBob := func() {}
	// Deferred, not a Cleanup: the browser must still be running.
	defer func() {
		if t.Failed() {
			saveFailureShots(t, alice, bob)
		}
		stopBob()
	}()

	alice.login("alice", true)
	alice.eval(`window.__notReloaded = "yes"`)
	alice.do("press Tab", chromedp.KeyEvent(kb.Tab))
	if problem := alice.eval(fmt.Sprintf(`(() => { %s; return focusProblem(); })()`, a11yJS)); problem != "" {
		t.Errorf("keyboard focus on the dashboard: %s", problem)
	}
	alice.command("/incident new Beaconing from host-42 --severity high")
	alice.waitFor("the reply", contains("#reply", "Opening INC-"))
	alice.waitFor("the new incident in the list", contains("#incident-list", "Beaconing from host-42"))
	if alice.eval(`window.__notReloaded || "reloaded"`) != "yes" {
		t.Fatal("the list updated by reloading the page, not live")
	}

	// An incident opened elsewhere appears too, pushed by the server, and
	// the keyboard focus stays on the link it was on, though the list was
	// swapped and the link moved down a row.
	href := alice.eval(`[...document.querySelectorAll("#incident-list a")].find(a => a.innerText.includes("Beaconing from host-42")).getAttribute("href")`)
	alice.eval(fmt.Sprintf(`document.querySelector('#incident-list a[href=%q]').focus(); ""`, href))
	if status, body := call(t, s.base, "POST", "/api/commands", leadToken,
		`{"text": "/incident new Phishing wave reported by finance --severity medium"}`); status != 200 {
		t.Fatalf("open an incident through the API: %d %s", status, body)
	}
	alice.waitFor("the incident opened elsewhere in the list", contains("#incident-list", "Phishing wave reported by finance"))
	if alice.eval(`window.__notReloaded || "reloaded"`) != "yes" {
		t.Fatal("the list updated by reloading the page, not live")
	}
	if got := alice.eval(`document.activeElement.getAttribute("href") || document.activeElement.outerHTML.slice(0, 80)`); got != href {
		t.Errorf("after a live update the focus is on %s, want the link to %s", got, href)
	}
	alice.checkPage("the dashboard")
	screenshot(t, alice, "dashboard.png")

	alice.click("open the incident", "#incident-list a", "Beaconing from host-42")
	alice.do("the room opens", chromedp.WaitVisible(chromedp.ID("timeline")))
	alice.waitFor("the room's live updates", `document.body.getAttribute("data-live-ready") === "1"`)
	alice.waitFor("the pinned summary", contains("#pinned", "Beaconing from host-42"))
	alice.command("/contain host-42 suspicious beacon")
	alice.waitFor("the run to start", contains("#reply", "Started contain"))
	alice.waitFor("the approval buttons", contains("#room-approvals", "Approve"))

	alice.acceptConfirms()
	alice.click("alice approves her own request", "#room-approvals button.btn.primary", "Approve")
	alice.waitFor("the four-eyes refusal", contains("#reply", "four-eyes"))
	if q := alice.eval(`window.__asked`); !strings.Contains(q, "Isolate host-42?") {
		t.Errorf("the confirmation asked %q", q)
	}
	alice.waitFor("the refusal in the timeline", contains("#timeline", "approval.refused"))
	if hosts := e.isolated(); len(hosts) != 0 {
		t.Fatalf("the EDR was called before a second lead approved: %v", hosts)
	}

	// bob gets a browser context of his own: his own cookies, his own session.
	bobCtx, cancelBob := chromedp.NewContext(aliceCtx, chromedp.WithNewBrowserContext())
	stopBob = cancelBob
	bob = openTab(t, "bob", s.base, bobCtx, cancelBob)
	bob.login("bob", false)
	bob.do("bob opens the approval queue",
		chromedp.Navigate(s.base+"/approvals"),
		chromedp.WaitVisible(chromedp.CSS(`#approval-queue button.btn.primary`)),
	)
	bob.checkPage("the approval queue")
	bob.do("switch to the dark colour scheme", setColorScheme("dark"))
	bob.checkPage("the approval queue in the dark colour scheme")
	bob.do("switch back to the light colour scheme", setColorScheme(""))
	bob.acceptConfirms()
	bob.click("bob approves", "#approval-queue button.btn.primary", "Approve")
	bob.waitFor("bob's approval", contains("#reply", "Approved: contain goes on."))

	alice.waitFor("the approval in alice's timeline", contains("#timeline", "approval.approved"))
	alice.waitFor("the run to succeed", contains("#runs", "run 1 · succeeded"))
	alice.waitFor("the approval message to show the decision", contains("#messages", "Approved · contain"))
	alice.waitFor("the approval to leave the room", `!document.querySelector("#room-approvals button")`)
	if hosts := e.isolated(); len(hosts) != 1 || hosts[0] != "host-42" {
		t.Errorf("EDR calls = %v, want host-42 once", hosts)
	}
	alice.eval(`window.scrollTo(0, 0); ""`)
	screenshot(t, alice, "incident-room.png")
	alice.checkPage("the incident room")
	room := alice.eval(`location.pathname`)

	alice.do("switch to the dark colour scheme", setColorScheme("dark"))
	alice.checkPage("the incident room in the dark colour scheme")
	alice.do("switch back to the light colour scheme", setColorScheme(""))

	for _, path := range []string{"/playbooks", "/audit"} {
		alice.do("open "+path, chromedp.Navigate(s.base+path), chromedp.WaitVisible(chromedp.ID("main")))
		alice.checkPage(path)
	}

	// A phone: nothing wider than the screen, on the list and in the room.
	alice.do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, path := range []string{"/", room} {
		alice.do("open "+path+" on a phone", chromedp.Navigate(s.base+path), chromedp.WaitVisible(chromedp.ID("main")))
		if wide := alice.eval(fmt.Sprintf(`(() => { %s; return tooWide(); })()`, a11yJS)); wide != "" {
			t.Errorf("%s on a phone: %s", path, wide)
		}
	}

	// Reading needs no JavaScript: bob turns it off and reads the room.
	bob.do("turn JavaScript off", chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tt, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	bob.do("read the room without JavaScript", chromedp.Navigate(s.base+room), chromedp.WaitReady(chromedp.ID("timeline")))
	if ran := bob.eval(`String(document.body.hasAttribute("data-live-ready"))`); ran != "false" {
		t.Fatal("the page script ran with JavaScript turned off")
	}
	text, err := runStep(bob, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatalf("read the room without JavaScript: %v", err)
	}
	for _, want := range []string{"Beaconing from host-42", "approval.approved", "run 1 · succeeded", "Approved · contain", "Isolate host-42"} {
		if !strings.Contains(text, want) {
			t.Errorf("the room without JavaScript lacks %q:\n%s", want, text)
		}
	}
}

// tab is one browser tab driven by the test, as one person.
type tab struct {
	t    *testing.T
	name string
	base string
	ctx  context.Context
}

// openTab starts the tab's browser (or its tab in a running browser). The
// first action on a chromedp context starts it and must run without a
// deadline, which would end the browser with it; stop is called instead
// if the start takes too long.
func openTab(t *testing.T, name, base string, ctx context.Context, stop func()) *tab {
	t.Helper()
	watchdog := time.AfterFunc(stepTimeout, stop)
	err := chromedp.Do(ctx)
	watchdog.Stop()
	if err != nil {
		t.Fatalf("start %s's browser tab: %v", name, err)
	}
	return &tab{t: t, name: name, base: base, ctx: ctx}
}

// runStep runs one action with the step deadline.
func runStep[T any](b *tab, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// waitFor waits until js is true in the page. It polls on a timer, not on
// animation frames, so that a tab the browser does not paint still gets
// looked at.
func (b *tab) waitFor(what, js string) {
	b.t.Helper()
	if _, err := runStep(b, chromedp.Poll[bool](js,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout-time.Second))); err != nil {
		b.t.Fatalf("%s: wait for %s: %v", b.name, what, err)
	}
}

// eval evaluates js, which must give a string.
func (b *tab) eval(js string) string {
	b.t.Helper()
	v, err := runStep(b, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, js, err)
	}
	return v
}

// login logs in through the login form with the keyboard, and waits for
// the dashboard and its live updates. check checks the login page too.
func (b *tab) login(name string, check bool) {
	b.t.Helper()
	b.do("open the login page", chromedp.Navigate(b.base+"/"), chromedp.WaitVisible(chromedp.ID("name")))
	if check {
		b.checkPage("the login page")
	}
	b.do("log in",
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), testPassword+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("incident-list")),
	)
	b.waitFor("live updates", `document.body.getAttribute("data-live-ready") === "1"`)
}

// command types text into the command box and presses Enter, as people
// do. A key press goes to the focused box wherever it is on the page; a
// mouse click would aim at where the button was, and live updates above
// the box move it.
func (b *tab) command(text string) {
	b.t.Helper()
	b.eval(`document.getElementById("command-text").value = ""`)
	b.do("type "+text, chromedp.SendKeys(chromedp.ID("command-text"), text+kb.Enter))
}

// click clicks the first element matching sel whose text contains text,
// in one step inside the page: live updates swap whole regions, so a node
// found by one protocol call may be gone by the next.
func (b *tab) click(what, sel, text string) {
	b.t.Helper()
	b.waitFor(what, fmt.Sprintf(`(() => {
		const el = [...document.querySelectorAll(%q)].find(e => e.innerText.includes(%q));
		if (!el) return false;
		el.click();
		return true;
	})()`, sel, text))
}

// acceptConfirms answers OK to the page's confirmation questions (Approve
// asks first), as the person clicking would. The question itself is kept
// in window.__asked, to be checked: it must say what is being approved.
func (b *tab) acceptConfirms() {
	b.t.Helper()
	b.eval(`window.__asked = ""; window.confirm = function (q) { window.__asked = q; return true; }; ""`)
}

// checkPage reports what the page gets wrong for people who use a screen
// reader or cannot tell low contrast apart.
func (b *tab) checkPage(what string) {
	b.t.Helper()
	if problems := b.eval(fmt.Sprintf(`(() => { %s; return pageProblems().join("\n"); })()`, a11yJS)); problems != "" {
		b.t.Errorf("%s: %s:\n%s", b.name, what, problems)
	}
}

func contains(sel, text string) string {
	return fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText.includes(%q)`, sel, text)
}

// setColorScheme emulates prefers-color-scheme ("" for the default).
func setColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := emulation.SetEmulatedMediaParams{}
		if scheme != "" {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return err
	})
}

// a11yJS defines the page checks the browser test runs:
//   - pageProblems(): form controls without a label, buttons and links
//     without a name, and text below WCAG AA contrast (4.5:1, or 3:1 for
//     large text) against the background it is drawn on;
//   - focusProblem(): the focused element's outline is missing, off
//     screen, or below 3:1 against what surrounds it;
//   - tooWide(): elements that make the page, or a box in it, scroll
//     sideways.
//
// Each returns "" or an empty list when all is well.
const a11yJS = `
const short = el => el.outerHTML.replace(/\s+/g, " ").slice(0, 120);
const parse = c => {
	const m = /^rgba?\(([^)]*)\)$/.exec(c);
	if (!m) return null;
	const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
	return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
};
const over = (top, under) => ({r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1});
const background = el => {
	const layers = [];
	for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
		const c = parse(getComputedStyle(n).backgroundColor);
		if (c && c.a > 0) {
			layers.push(c);
			if (c.a === 1) break;
		}
	}
	let bg = {r: 255, g: 255, b: 255, a: 1};
	for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
	return bg;
};
const lum = c => {
	const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
	return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
};
const ratio = (x, y) => { const a = lum(x), b = lum(y); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
const rgb = c => "rgb(" + [c.r, c.g, c.b].map(Math.round).join(", ") + ")";
function pageProblems() {
	const out = new Set();
	for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
		const label = el.getAttribute("aria-label") || [...(el.labels || [])].map(l => l.innerText).join(" ");
		if (!label.trim()) out.add("no label: " + short(el));
	}
	for (const el of document.querySelectorAll("button, a[href]")) {
		if (!(el.getAttribute("aria-label") || el.textContent).trim()) out.add("no name: " + short(el));
	}
	for (const el of document.querySelectorAll("body *")) {
		if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
		if (!el.getClientRects().length || el.closest(".sr-only, :disabled")) continue;
		const st = getComputedStyle(el);
		if (st.visibility === "hidden") continue;
		const color = parse(st.color);
		if (!color) { out.add("cannot read the colour " + st.color + " of " + short(el)); continue; }
		const bg = background(el), fg = over(color, bg);
		const size = parseFloat(st.fontSize), large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
		const need = large ? 3 : 4.5, got = ratio(fg, bg);
		if (got < need) out.add("contrast " + got.toFixed(2) + " < " + need + ": " + rgb(fg) + " on " + rgb(bg) + " in " + short(el));
	}
	return [...out];
}
function focusProblem() {
	const el = document.activeElement;
	if (!el || el === document.body) return "nothing has the focus";
	const r = el.getBoundingClientRect();
	if (r.right <= 0 || r.bottom <= 0 || r.left >= innerWidth || r.top >= innerHeight) return "the focused element is off screen: " + short(el);
	const st = getComputedStyle(el);
	if (st.outlineStyle === "none" || parseFloat(st.outlineWidth) < 2) return "no visible focus outline on " + short(el);
	const outline = parse(st.outlineColor), bg = background(el.parentElement);
	const got = outline ? ratio(over(outline, bg), bg) : 0;
	if (got < 3) return "the focus outline " + st.outlineColor + " has contrast " + got.toFixed(2) + " < 3 against " + rgb(bg);
	return "";
}
function tooWide() {
	const out = [], width = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > width) out.push("the page is " + document.documentElement.scrollWidth + "px wide on a " + width + "px screen");
	for (const el of document.querySelectorAll("main *")) {
		const st = getComputedStyle(el);
		if ((st.overflowX === "auto" || st.overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1) out.push("scrolls sideways: " + short(el));
	}
	return out.join("\n");
}
`

// screenshot writes a full-page screenshot for the README when
// WARROOM_SCREENSHOTS names a directory.
func screenshot(t *testing.T, b *tab, name string) {
	t.Helper()
	dir := os.Getenv(screenshotsEnv)
	if dir == "" {
		return
	}
	png, err := runStep(b, chromedp.FullScreenshot(100))
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

// saveFailureShots keeps what each browser tab showed when the test failed.
func saveFailureShots(t *testing.T, tabs ...*tab) {
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "warroom-browser-"); err != nil {
			t.Logf("no artifacts dir: %v", err)
			return
		}
	}
	os.MkdirAll(dir, 0o755)
	for _, b := range tabs {
		if b == nil {
			continue
		}
		shot, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		png, err := chromedp.Run(shot, chromedp.FullScreenshot(100))
		var html string
		if err == nil {
			html, err = chromedp.Run(shot, chromedp.OuterHTML(chromedp.CSS("html")))
		}
		cancel()
		if err != nil {
			t.Logf("screenshot of %s: %v", b.name, err)
			continue
		}
		os.WriteFile(filepath.Join(dir, b.name+".png"), png, 0o644)
		os.WriteFile(filepath.Join(dir, b.name+".html"), []byte(html), 0o644)
	}
	t.Logf("screenshots of the failure are in %s", strings.TrimSpace(dir))
}
