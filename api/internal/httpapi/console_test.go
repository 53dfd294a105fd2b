package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"authlog/api/internal/bearer"
	"authlog/api/internal/console"
	"authlog/api/internal/evidence"
	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
)

// consoleEnv is the admin console over the test cluster, signing people in
// through a real Hydra whose login and consent app is test/idp-login.
type consoleEnv struct {
	base     string
	pub      ed25519.PublicKey
	personas map[string]bool
}

func startConsole(t *testing.T) *consoleEnv {
	t.Helper()
	e := testEnv
	idpBin := filepath.Join(top(), "build/bin/idp-login")
	if _, err := os.Stat(idpBin); err != nil {
		t.Fatalf("test/idp-login is not built (make api): %v", err)
	}
	idpPort := freePort(t)
	idp := "http://127.0.0.1:" + idpPort
	issuer, admin := startHydra(t, "hydra_"+strings.ToLower(regexp.MustCompile(`\W`).ReplaceAllString(t.Name(), "_")),
		"URLS_LOGIN="+idp+"/login", "URLS_CONSENT="+idp+"/consent",
		"OAUTH2_ALLOWED_TOP_LEVEL_CLAIMS=tenant,roles,organisations", "TTL_ACCESS_TOKEN=15s")
	// the people of the test identity provider (the demo's too)
	personas := filepath.Join(top(), "test/console_personas.json")
	login := exec.Command(idpBin, "-listen", "127.0.0.1:"+idpPort, "-hydra-admin", admin, "-personas", personas)
	login.Stderr = os.Stderr
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = login.Process.Kill(); _ = login.Wait() })
	waitFor(t, idp+"/health", personas)

	discovery := trustHydra(t, issuer, "claims")

	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	body, _ := json.Marshal(map[string]any{"grant_types": []string{"authorization_code"},
		"response_types": []string{"code"}, "redirect_uris": []string{base + "/console/callback"},
		"scope": "openid", "audience": []string{"authlog"}, "token_endpoint_auth_method": "client_secret_basic"})
	res, err := http.Post(admin+"/admin/clients", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	decode(t, res, &client)

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Version: "test", MaxRows: 500, EvidenceKey: priv, Figures: &FiguresConfig{
		Attacks: store.AttackWindow{Recent: 5 * time.Minute, Top: 2, MinFailures: 10}}}
	v, err := bearer.New(context.Background(), bearer.Config{Issuer: discovery.Issuer, JWKSURL: discovery.JWKSURI})
	if err != nil {
		t.Fatal(err)
	}
	api := New(cfg, e.store, v, ratelimit.New(0, 1), log)
	c, err := console.New(console.Config{Issuer: issuer, ClientID: client.ID, ClientSecret: client.Secret,
		BaseURL: base, EvidenceKey: priv, MaxEvents: 500, Limiter: ratelimit.New(10, 20),
		Figures: func(ctx context.Context) (*store.Figures, error) {
			return e.store.Figures(ctx, cfg.Figures.Attacks)
		}}, e.store, log)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = c.With(api.Handler())
	ts.Start()
	t.Cleanup(ts.Close)
	return &consoleEnv{base: base, pub: pub}
}

// page is one answer of the console.
type page struct {
	status int
	header http.Header
	body   string
	url    string
}

// session is a person's cookie jar, signed in as a persona.
type session struct {
	t      *testing.T
	c      *consoleEnv
	client *http.Client
}

var challengeInput = regexp.MustCompile(`name="login_challenge" value="([^"]+)"`)
var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *consoleEnv) signIn(t *testing.T, persona string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &session{t: t, c: c, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	p := b.get("/console/incident")
	m := challengeInput.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the console did not lead to the provider's login page: %d %s\n%s", p.status, p.url, p.body)
	}
	p = b.do(http.MethodPost, p.url, url.Values{"login_challenge": {m[1]}, "persona": {persona}})
	if p.status != 200 || !strings.Contains(p.body, "Signed in") {
		t.Fatalf("sign-in as %s: %d %s\n%s", persona, p.status, p.url, p.body)
	}
	return b
}

func (b *session) do(method, target string, form url.Values) page {
	b.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = b.c.base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, header: res.Header, body: string(raw), url: res.Request.URL.String()}
}

func (b *session) get(path string) page { return b.do(http.MethodGet, path, nil) }

// post submits a form of the console with the page's CSRF token.
func (b *session) post(path, from string, form url.Values) page {
	b.t.Helper()
	m := csrfInput.FindStringSubmatch(b.get(from).body)
	if m == nil {
		b.t.Fatalf("%s has no CSRF token", from)
	}
	form.Set("csrf", m[1])
	return b.do(http.MethodPost, path, form)
}

var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+=|\sstyle=`)

// strict: the security headers, and no inline script, handler or style.
func strict(t *testing.T, p page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: CSP %q", p.url, csp)
	}
	if loc := inlineScript.FindStringIndex(p.body); loc != nil {
		t.Errorf("%s: inline script or style: %q", p.url, p.body[loc[0]:min(len(p.body), loc[1]+40)])
	}
}

func TestConsole(t *testing.T) {
	seed(t)
	c := startConsole(t)
	// a campaign in acme: tina locked by 5 failures from one address
	testEnv.sql(t, `SELECT authlog.record_login('acme', 'finance', 'tina', false, '198.51.100.23', 'curl', 'web')
	                FROM generate_series(1, 6)`)

	t.Run("incident", func(t *testing.T) {
		b := c.signIn(t, "security")
		p := b.get("/console/incident?min_failures=1")
		if p.status != 200 {
			t.Fatalf("%d %s", p.status, p.body)
		}
		strict(t, p)
		var rows []struct {
			User     string
			Failures int
		}
		r, err := testEnv.admin.Query(context.Background(),
			`SELECT user_id, failures FROM authlog.targeted_accounts('acme', now() - interval '1 day', now())`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var row struct {
				User     string
				Failures int
			}
			_ = r.Scan(&row.User, &row.Failures)
			rows = append(rows, row)
		}
		r.Close()
		if len(rows) < 3 {
			t.Fatalf("targeted_accounts answered %v", rows)
		}
		for _, row := range rows {
			want := regexp.MustCompile(`>` + regexp.QuoteMeta(row.User) + `</a></td><td>[^<]*</td>\s*<td><a [^>]*type=login_failed[^>]*>` +
				strconv.Itoa(row.Failures) + `</a>`)
			if !want.MatchString(p.body) {
				t.Errorf("the incident page does not show %s with %d failures (targeted_accounts)", row.User, row.Failures)
			}
		}
		for _, want := range []string{"198.51.100.23", "<svg", "class=\"failures\"", "class=\"lockouts\""} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the incident page lacks %s", want)
			}
		}
		if strings.Contains(p.body, "globex") || strings.Contains(p.body, "gus") {
			t.Errorf("acme's incident page shows globex")
		}
	})

	t.Run("unlock", func(t *testing.T) {
		b := c.signIn(t, "helpdesk")
		p := b.get("/console/accounts/tina")
		if p.status != 200 || !strings.Contains(p.body, "<strong>Locked</strong>") || !strings.Contains(p.body, "lockout_trace") {
			t.Fatalf("tina's page: %d %s", p.status, p.body)
		}
		strict(t, p)
		locked := func() bool {
			var l bool
			if err := testEnv.admin.QueryRow(context.Background(),
				`SELECT locked FROM authlog.lockout_status('acme', 'tina')`).Scan(&l); err != nil {
				t.Fatal(err)
			}
			return l
		}
		// a forged CSRF token, then a missing reason: refused, nothing written
		if p := b.do(http.MethodPost, "/console/accounts/tina/unlock",
			url.Values{"csrf": {"forged"}, "organisation": {"finance"}, "reason": {"x"}}); p.status != http.StatusForbidden {
			t.Errorf("a forged CSRF token: %d", p.status)
		}
		if p := b.post("/console/accounts/tina/unlock", "/console/accounts/tina",
			url.Values{"organisation": {"finance"}, "reason": {"  "}}); p.status != http.StatusUnprocessableEntity ||
			!strings.Contains(p.body, "needs a reason") {
			t.Errorf("a missing reason: %d %s", p.status, p.body)
		}
		if !locked() {
			t.Fatal("a refused unlock unlocked tina")
		}
		p = b.post("/console/accounts/tina/unlock", "/console/accounts/tina",
			url.Values{"organisation": {"finance"}, "reason": {"ticket 5150: verified by phone"}})
		if p.status != 200 || !strings.Contains(p.url, "reset=") || !strings.Contains(p.body, `id="reset"`) {
			t.Fatalf("the unlock: %d %s\n%s", p.status, p.url, p.body)
		}
		var actor, reason string
		if err := testEnv.admin.QueryRow(context.Background(), `SELECT actor, metadata->'authlog'->>'note' FROM authlog.auth_logs
			WHERE tenant_id = 'acme' AND user_id = 'tina' AND event_type = 'lockout_reset' AND reason = 'admin'`).
			Scan(&actor, &reason); err != nil {
			t.Fatal(err)
		}
		if actor != "desk@acme" || locked() {
			t.Errorf("the reset: actor %q, still locked %v", actor, locked())
		}
		if !strings.Contains(p.body, "desk@acme") {
			t.Errorf("the account page does not show the reset's actor")
		}
	})

	t.Run("another tenant sees nothing", func(t *testing.T) {
		b := c.signIn(t, "globex")
		for _, path := range []string{"/console/incident?min_failures=1", "/console/events", "/console/accounts/fred",
			"/console/accounts/tina", "/console/events/export?format=csv", "/console/events/export?format=ndjson",
			"/console/evidence", "/console/no-such-page", "/console/events?ip=not-an-ip"} {
			p := b.get(path)
			for _, word := range []string{"acme", "192.0.2.10", "198.51.100", "hana", "fred\"", "tina\"", "analyst@acme"} {
				if strings.Contains(p.body, word) {
					t.Errorf("globex's %s (%d) shows %q", path, p.status, word)
				}
			}
		}
		if p := b.get("/console/events"); !strings.Contains(p.body, "gus") {
			t.Errorf("globex's events page does not show its own event")
		}
		// the live tail: acme's new event never arrives, globex's does
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/console/events/tail", nil)
		res, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("tail: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		testEnv.sql(t, `SELECT authlog.record_login('acme', 'finance', 'acme-tail', false, '192.0.2.77', 'ua', 'web')`)
		testEnv.sql(t, `SELECT authlog.record_login('globex', 'finance', 'globex-tail', false, '203.0.113.77', 'ua', 'web')`)
		lines := bufio.NewScanner(res.Body)
		for lines.Scan() {
			line := lines.Text()
			if strings.Contains(line, "acme") {
				t.Fatalf("the tail sent acme's event: %s", line)
			}
			if strings.Contains(line, "globex-tail") {
				return
			}
		}
		t.Fatalf("the tail did not send globex's new event: %v", lines.Err())
	})

	t.Run("exports", func(t *testing.T) {
		b := c.signIn(t, "helpdesk")
		p := b.get("/console/events/export?format=csv-semicolon&type=login_failed")
		if p.status != 200 || !strings.HasPrefix(p.body, "log_id;occurred_at;") || !strings.Contains(p.body, ";fred;") ||
			strings.Contains(p.body, "hana") {
			t.Fatalf("finance's CSV: %d %s", p.status, p.body)
		}
		p = b.get("/console/events/export?format=ndjson&user=fred")
		lines := strings.Split(strings.TrimSpace(p.body), "\n")
		var want int
		_ = testEnv.admin.QueryRow(context.Background(),
			`SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 'acme' AND user_id = 'fred'`).Scan(&want)
		if len(lines) != want {
			t.Errorf("fred's NDJSON: %d lines, auth_logs holds %d", len(lines), want)
		}
		// several users at once, in commit order; an organisation's reader
		// gets its own organisation's only
		for _, tc := range []struct {
			persona, query string
		}{{"security", "tenant_id = 'acme' AND user_id IN ('fred', 'hana')"},
			{"helpdesk", "tenant_id = 'acme' AND user_id IN ('fred', 'hana') AND organisation_id = 'finance'"}} {
			p := c.signIn(t, tc.persona).get("/console/events/export?format=ndjson&user=" + url.QueryEscape("fred, hana"))
			var logIDs []string
			for _, line := range strings.Split(strings.TrimSpace(p.body), "\n") {
				var e struct {
					LogID string `json:"log_id"`
				}
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("%s: %v: %s", tc.persona, err, p.body)
				}
				logIDs = append(logIDs, e.LogID)
			}
			var recount string
			_ = testEnv.admin.QueryRow(context.Background(), `SELECT string_agg(l.log_id::text, ',' ORDER BY p.xact_id, p.log_id)
				FROM authlog.auth_logs l JOIN authlog.event_ids p USING (tenant_id, log_id, recorded_at) WHERE `+tc.query).Scan(&recount)
			if strings.Join(logIDs, ",") != recount {
				t.Errorf("%s: fred and hana exported as %v; in commit order they are %s", tc.persona, logIDs, recount)
			}
		}
	})

	t.Run("evidence", func(t *testing.T) {
		b := c.signIn(t, "security")
		p := b.get("/console/evidence")
		if p.status != 200 || !strings.Contains(p.body, "PostgreSQL: intact") {
			t.Fatalf("the evidence page: %d %s", p.status, p.body)
		}
		strict(t, p)
		p = b.get("/console/evidence/package")
		if p.status != 200 || p.header.Get("Content-Type") != "application/gzip" {
			t.Fatalf("the package: %d %s", p.status, p.body)
		}
		report, err := evidence.Verify(strings.NewReader(p.body), c.pub)
		if err != nil || len(report.Problems) > 0 {
			t.Fatalf("the package does not verify: %v %+v", err, report)
		}
	})

	t.Run("operations", func(t *testing.T) {
		if p := c.signIn(t, "security").get("/console/operations"); p.status != http.StatusForbidden {
			t.Errorf("operations for a reader: %d", p.status)
		}
		p := c.signIn(t, "operator").get("/console/operations")
		if p.status != 200 || !strings.Contains(p.body, "Documents refused") || strings.Contains(p.body, "globex") {
			t.Errorf("operations for an operator: %d %s", p.status, p.body)
		}
	})

	t.Run("records", func(t *testing.T) {
		// a reader sees neither; an auditor sees them but changes nothing
		if p := c.signIn(t, "helpdesk").get("/console/records"); p.status != http.StatusForbidden {
			t.Errorf("records for a help desk: %d", p.status)
		}
		p := c.signIn(t, "security").get("/console/records")
		if p.status != 200 || strings.Contains(p.body, `action="/console/records/holds"`) {
			t.Errorf("records for an auditor (compliance): %d, with the forms: %v", p.status,
				strings.Contains(p.body, `action="/console/records/holds"`))
		}
		b := c.signIn(t, "records")
		p = b.get("/console/records")
		if p.status != 200 || !strings.Contains(p.body, `id="keep"`) {
			t.Fatalf("records for a records manager: %d %s", p.status, p.body)
		}
		strict(t, p)
		p = b.post("/console/records/retention", "/console/records", url.Values{"keep": {"7 years"}})
		if p.status != 200 || !strings.Contains(p.body, "Retention set") || !strings.Contains(p.body, "7 years") {
			t.Fatalf("set retention: %d %s", p.status, p.body)
		}
		p = b.post("/console/records/holds", "/console/records", url.Values{"case_ref": {"CASE 2026-CV-0142"},
			"since": {"2026-01-01T00:00"}, "user": {"tina"}})
		if p.status != 200 || !strings.Contains(p.body, "Legal hold placed") || !strings.Contains(p.body, "CASE 2026-CV-0142") {
			t.Fatalf("place a hold: %d %s", p.status, p.body)
		}
		var actor string
		if err := testEnv.admin.QueryRow(context.Background(), `SELECT actor FROM authlog.records_log
			WHERE tenant_id = 'acme' AND action = 'hold_placed' AND reason = 'CASE 2026-CV-0142'`).Scan(&actor); err != nil ||
			actor != "records@acme" {
			t.Fatalf("the hold's record: %q %v", actor, err)
		}
		if p = b.post("/console/records/holds", "/console/records", url.Values{"since": {"2026-01-01T00:00"}}); p.status != http.StatusUnprocessableEntity ||
			!strings.Contains(p.body, "Nothing was changed") {
			t.Errorf("a hold without its case: %d", p.status)
		}
		hold := regexp.MustCompile(`action="/console/records/holds/([0-9a-f-]{36})/release"`).FindStringSubmatch(p.body)
		if hold == nil {
			t.Fatalf("no release form: %s", p.body)
		}
		p = b.post("/console/records/holds/"+hold[1]+"/release", "/console/records", url.Values{"reason": {"case closed"}})
		if p.status != 200 || !strings.Contains(p.body, "Legal hold released") || strings.Contains(p.body, "CASE 2026-CV-0142") {
			t.Fatalf("release: %d %s", p.status, p.body)
		}
		if p = b.post("/console/records/holds/"+hold[1]+"/release", "/console/records", url.Values{"reason": {"again"}}); p.status != http.StatusNotFound {
			t.Errorf("a released hold released again: %d", p.status)
		}
		// back to the default, so the other subtests' tenant keeps its events
		if p = b.post("/console/records/retention", "/console/records", url.Values{"keep": {""}}); p.status != 200 {
			t.Errorf("back to the default retention: %d", p.status)
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		b := c.signIn(t, "globex")
		var limited page
		for i := 0; i < 40 && limited.status == 0; i++ {
			if p := b.get("/console/events"); p.status == http.StatusTooManyRequests {
				limited = p
			}
		}
		if limited.status == 0 || limited.header.Get("Retry-After") == "" || !strings.Contains(limited.body, "too many requests") {
			t.Errorf("40 pages at once were never refused: %d %v", limited.status, limited.header)
		}
	})

	t.Run("an expired session", func(t *testing.T) {
		b := c.signIn(t, "helpdesk")
		m := csrfInput.FindStringSubmatch(b.get("/console/accounts/tina").body)
		time.Sleep(16 * time.Second) // the tokens live 15 s here
		p := b.do(http.MethodPost, "/console/accounts/tina/unlock",
			url.Values{"csrf": {m[1]}, "organisation": {"finance"}, "reason": {"late"}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "nothing was changed") {
			t.Errorf("a form after the session ended: %d %s", p.status, p.body)
		}
		if p := b.get("/console/incident"); !challengeInput.MatchString(p.body) {
			t.Errorf("a page after the session ended does not lead to the sign-in: %s", p.url)
		}
	})
}
