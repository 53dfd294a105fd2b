package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"authlog/api/internal/evidence"
)

// The console in a real browser (Debian's chromium, headless, driven by
// chromedp), over the demo's campaign (test/demo_campaign.sql): sign in
// through Hydra as the security team, the incident page, the CFO's account
// page, the treasurer's unlock done by keyboard alone, the evidence page
// and its package downloaded and verified; what each page shows is checked
// against the SQL functions' answers, and each page is saved as a
// screenshot under test/output/console/.  Times show in the browser's zone.
// make test-long runs it (AUTHLOG_BROWSER names the browser).
func TestConsoleBrowser(t *testing.T) {
	chromium := os.Getenv("AUTHLOG_BROWSER")
	if chromium == "" {
		t.Skip("AUTHLOG_BROWSER is not set: make test-long runs the browser walk")
	}
	seed(t)
	c := startConsole(t)
	// paced as make demo paces it, so its minutes show on the chart
	psql := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "pace=0.3", "-h", filepath.Join(testEnv.dir, "pg"),
		"-p", testEnv.port, "-U", "postgres", "-d", "postgres", "-f", filepath.Join(top(), "test/demo_campaign.sql"))
	if out, err := psql.CombinedOutput(); err != nil {
		t.Fatalf("the demo campaign: %v\n%s", err, out)
	}
	shots := filepath.Join(top(), "test/output/console")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.WindowSize(1280, 800),
		chromedp.Flag("lang", "en-US"))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	// a page's script error or CSP violation fails the walk
	var violations []string
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			violations = append(violations, e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				violations = append(violations, fmt.Sprint(e.Args))
			}
		}
	})
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		var png []byte
		run("screenshot "+name, chromedp.FullScreenshot(&png, 100))
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
		return s
	}

	// the viewer is in New York: times show there, UTC on hover
	run("sign in as the security team",
		emulation.SetTimezoneOverride("America/New_York"),
		chromedp.Navigate(c.base+"/console/incident?range=15m"),
		chromedp.WaitVisible("#persona-security", chromedp.ByID),
		chromedp.Click("#persona-security", chromedp.ByID),
		chromedp.WaitVisible(`svg.chart`, chromedp.ByQuery))

	// the incident page against attacking_ips, targeted_accounts, success_after_failures
	page := text("main")
	for _, want := range []string{"203.0.113.0/24", "198.51.100.66", "cfo", "treasurer", "intern"} {
		if !strings.Contains(page, want) {
			t.Errorf("the incident page lacks %s", want)
		}
	}
	var sources, compromises string
	if err := testEnv.admin.QueryRow(ctx, `SELECT string_agg(format('%s %s', source, failures), ', ' ORDER BY failures DESC, source)
		FROM authlog.attacking_ips('acme', now() - interval '1 day', now(), 5)`).Scan(&sources); err != nil {
		t.Fatal(err)
	}
	var shown string
	run("read the sources", chromedp.Evaluate(`Array.from(document.querySelectorAll('#sources-h ~ table tbody tr'))
		.map(r => r.cells[0].textContent + ' ' + r.cells[2].textContent).join(', ')`, &shown))
	if shown != sources {
		t.Errorf("the attacking sources shown: %q; attacking_ips: %q", shown, sources)
	}
	if err := testEnv.admin.QueryRow(ctx, `SELECT string_agg(user_id, ', ' ORDER BY success_at)
		FROM authlog.success_after_failures('acme', now() - interval '1 day', now())`).Scan(&compromises); err != nil {
		t.Fatal(err)
	}
	run("read the compromises", chromedp.Evaluate(`Array.from(document.querySelectorAll('table.compromises tbody tr'))
		.map(r => r.cells[0].textContent).join(', ')`, &shown))
	if shown != compromises || compromises == "" {
		t.Errorf("the likely compromises shown: %q; success_after_failures: %q", shown, compromises)
	}
	var zoned, hover string
	run("read a time", chromedp.Text("main time", &zoned, chromedp.ByQuery),
		chromedp.AttributeValue("main time", "title", &hover, nil, chromedp.ByQuery))
	if strings.Contains(zoned, "UTC") || !strings.Contains(zoned, "EST") || !strings.HasSuffix(hover, "UTC") {
		t.Errorf("a time reads %q (hover %q); want New York's zone, UTC on hover", zoned, hover)
	}
	shot("incident")
	run("the incident page on a narrow screen", emulation.SetDeviceMetricsOverride(390, 844, 2, true))
	shot("incident-narrow")
	run("back to 1280x800", emulation.ClearDeviceMetricsOverride())

	// the CFO's account: why it was locked, and the help desk's unlock
	run("open the CFO's account", chromedp.Click(`//a[text()="cfo"]`, chromedp.BySearch),
		chromedp.WaitVisible(`#trace-h`, chromedp.ByID))
	var traced int
	if err := testEnv.admin.QueryRow(ctx, `SELECT count(*) FROM authlog.lockout_trace('acme', 'cfo')`).Scan(&traced); err != nil {
		t.Fatal(err)
	}
	var rows int
	run("count the trace", chromedp.Evaluate(`document.querySelectorAll('#trace-h ~ table tbody tr').length`, &rows))
	if rows != traced || traced == 0 {
		t.Errorf("the CFO's trace shows %d failures; lockout_trace answers %d", rows, traced)
	}
	if !strings.Contains(text("main"), "helpdesk:anna") {
		t.Errorf("the CFO's history lacks the help desk's reset")
	}
	shot("account-cfo")

	// the treasurer is still locked: unlocked with the keyboard alone
	run("open the treasurer's account", chromedp.Navigate(c.base+"/console/accounts/treasurer"),
		chromedp.WaitVisible(`#unlock-h`, chromedp.ByID))
	if !strings.Contains(text("main"), "Locked") {
		t.Fatalf("the treasurer is not shown locked")
	}
	tabTo := func(id string) {
		t.Helper()
		for i := 0; i < 80; i++ {
			var active string
			run("tab", chromedp.KeyEvent(kb.Tab), chromedp.Evaluate(`document.activeElement.id`, &active))
			if active == id {
				return
			}
		}
		t.Fatalf("Tab never reached #%s", id)
	}
	tabTo("reason")
	run("type the reason", chromedp.KeyEvent("ticket 4712: identity verified by phone"))
	tabTo("unlock-submit")
	run("press Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(`#reset`, chromedp.ByID))
	if reset := text("#reset"); !strings.Contains(reset, "analyst@acme") || !strings.Contains(reset, "ticket 4712") ||
		!strings.Contains(text("[role=status]"), "Unlocked") {
		t.Errorf("the unlock's lockout_reset is not shown: %q", text("#reset"))
	}
	var locked bool
	if err := testEnv.admin.QueryRow(ctx, `SELECT locked FROM authlog.lockout_status('acme', 'treasurer')`).Scan(&locked); err != nil || locked {
		t.Errorf("the treasurer is still locked (%v)", err)
	}
	shot("unlock")

	// evidence: the verdicts, and the package its link serves, fetched by
	// the page itself (with the page's cookie) and verified
	run("the evidence page", chromedp.Navigate(c.base+"/console/evidence"),
		chromedp.WaitVisible(`#verdict-h`, chromedp.ByID))
	if !strings.Contains(text("main"), "PostgreSQL: intact") {
		t.Errorf("the evidence page's verdict: %s", text(".verdict"))
	}
	shot("evidence")
	var pkg string
	run("fetch the package", chromedp.Evaluate(`(async () => {
		const res = await fetch(document.querySelector('a.button').href, {credentials: 'same-origin'});
		if (!res.ok) return 'HTTP ' + res.status;
		const bytes = new Uint8Array(await res.arrayBuffer());
		let s = '';
		for (const b of bytes) s += String.fromCharCode(b);
		return btoa(s);
	})()`, &pkg, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	raw, err := base64.StdEncoding.DecodeString(pkg)
	if err != nil {
		t.Fatalf("the package: %.80s", pkg)
	}
	report, err := evidence.Verify(bytes.NewReader(raw), c.pub)
	if err != nil || len(report.Problems) > 0 {
		t.Errorf("the package its link serves does not verify: %v %v", err, report)
	}

	run("the events page", chromedp.Navigate(c.base+"/console/events?user=cfo"),
		chromedp.WaitVisible(`#events`, chromedp.ByID))
	shot("events")
	if len(violations) > 0 {
		t.Errorf("the pages logged errors (a CSP violation?): %v", violations)
	}
}
