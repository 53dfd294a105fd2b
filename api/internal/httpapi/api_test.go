package httpapi

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"authlog/api/internal/ratelimit"
	"authlog/api/openapi"
)

// the events every test reads: acme/finance (fred), acme/hr (hana), globex
var seedOnce sync.Once

func seed(t *testing.T) {
	seedOnce.Do(func() {
		testEnv.sql(t, `SELECT authlog.record_login(t, o, u, s, ip::inet, 'ua', 'web')
			FROM (VALUES ('acme', 'finance', 'fred', false, '192.0.2.10'), ('acme', 'finance', 'fred', false, '192.0.2.10'),
			             ('acme', 'finance', 'fred', true, '192.0.2.10'), ('acme', 'hr', 'hana', false, '198.51.100.7'),
			             ('acme', 'hr', 'hana', false, '198.51.100.7'), ('globex', 'finance', 'gus', false, '203.0.113.5'))
			     v(t, o, u, s, ip)`)
	})
}

func isProblem(t *testing.T, r response, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	p := r.json(t)
	if p["status"] != float64(status) || p["title"] == "" || !strings.HasPrefix(p["type"].(string), "https://") {
		t.Fatalf("not an RFC 9457 problem: %s", r.body)
	}
	return p
}

func TestTokensRefused(t *testing.T) {
	e := testEnv
	valid := e.token(t, nil)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + b64([]byte(strings.Replace(mustDecode(t, parts[1]), `"finance"`, `"hr"`, 1))) + "." + parts[2]
	// a stranger's key signs, the header names a registered kid
	h, _ := json.Marshal(map[string]string{"alg": "EdDSA", "kid": "ed-1", "typ": "JWT"})
	input := b64(h) + "." + strings.Split(valid, ".")[1]
	forged := input + "." + b64(ed25519.Sign(e.keys["stranger"], []byte(input)))
	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"not a JWS", "not-a-token"},
		{"tampered claims", tampered},
		{"expired", e.token(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})},
		{"wrong audience", e.token(t, map[string]any{"aud": "someone-else"})},
		{"wrong issuer", e.token(t, map[string]any{"iss": "https://evil.test"})},
		{"alg none", e.sign(t, "ed-1", "none", claims(nil))},
		{"unknown kid", e.sign(t, "stranger", "EdDSA", claims(nil))},
		{"signed by a stranger's key under a known kid", forged},
		// the API's early check passes it; PostgreSQL refuses it (no tenant)
		{"no tenant claim", e.token(t, map[string]any{"tenant": nil})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "GET", "/v1/events", tt.token, "")
			isProblem(t, r, http.StatusUnauthorized)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("no WWW-Authenticate: Bearer challenge")
			}
		})
	}
	if r := e.do(t, "GET", "/v1/events", valid, ""); r.status != http.StatusOK {
		t.Fatalf("the valid token: %d %s", r.status, r.body)
	}
}

func mustDecode(t *testing.T, s string) string {
	b, err := b64dec(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A token for acme/finance reads nothing of acme/hr or globex, on every
// endpoint.
func TestScopeOnEveryEndpoint(t *testing.T) {
	seed(t)
	e := testEnv
	finance := e.token(t, nil)
	period := "since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z"
	endpoints := []string{
		"/v1/events?limit=1000",
		"/v1/events?limit=1000&format=ndjson",
		"/v1/events?limit=1000&format=ocsf",
		"/v1/events?limit=1000&" + period,
		"/v1/events?organisation=hr",
		"/v1/investigation/timeline?" + period,
		"/v1/investigation/targeted-accounts?" + period,
		"/v1/investigation/attacking-sources?min_failures=1&" + period,
		"/v1/investigation/success-after-failures?min_failures=1&" + period,
		"/v1/investigation/lockout-trace?user=hana",
		"/v1/investigation/compliance-report?" + period,
		"/v1/accounts/hana/lockout",
		"/v1/accounts/gus/lockout",
		"/v1/seals/verification",
		"/v1/seals/verification?copy=store",
	}
	for _, path := range endpoints {
		t.Run(path, func(t *testing.T) {
			r := e.do(t, "GET", path, finance, "")
			if r.status != http.StatusOK && r.status != http.StatusForbidden {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			for _, foreign := range []string{"hana", "198.51.100", "globex", "gus", "203.0.113", `"hr"`} {
				if strings.Contains(string(r.body), foreign) {
					t.Fatalf("the acme/finance token read %s: %s", foreign, r.body)
				}
			}
		})
	}
	// and it does read its own
	r := e.do(t, "GET", "/v1/events?limit=1000&user=fred&type=login_failed,login_success", finance, "")
	page := r.json(t)
	if n := len(page["events"].([]any)); n != 3 {
		t.Fatalf("fred's events: %d, want 3: %s", n, r.body)
	}
	if page["tenant_id"] != "acme" {
		t.Fatalf("tenant_id %v", page["tenant_id"])
	}
	// a token of globex reads none of acme
	r = e.do(t, "GET", "/v1/events?limit=1000", e.token(t, map[string]any{"tenant": "globex", "organisations": nil}), "")
	for _, ev := range r.json(t)["events"].([]any) {
		if ev.(map[string]any)["user_id"] != "gus" {
			t.Fatalf("globex read %v", ev)
		}
	}
}

// The poll: a transaction holding an earlier event stays open across two
// pages; the poller receives every event exactly once.
func TestPollSkipsNothing(t *testing.T) {
	e := testEnv
	token := e.token(t, map[string]any{"tenant": "poll", "organisations": nil})
	e.sql(t, `SELECT authlog.record_login('poll', 'o1', 'early-' || n, false, '192.0.2.1', 'ua', 'web') FROM generate_series(1, 3) n`)

	received := map[string]int{}
	next := "/v1/events?limit=2"
	poll := func() int {
		got := 0
		for {
			r := e.do(t, "GET", next, token, "")
			if r.status != http.StatusOK {
				t.Fatalf("poll: %d %s", r.status, r.body)
			}
			page := r.json(t)
			link := r.header.Get("Link")
			if page["next"] == nil || !strings.Contains(link, `rel="next"`) {
				t.Fatalf("a poll always has a next page: %s / %q", r.body, link)
			}
			next = page["next"].(string)
			events := page["events"].([]any)
			for _, ev := range events {
				received[ev.(map[string]any)["user_id"].(string)]++
				got++
			}
			if len(events) == 0 {
				return got
			}
		}
	}
	if n := poll(); n != 3 {
		t.Fatalf("first poll: %d events, want 3", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	late, err := pgx.Connect(ctx, e.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close(ctx)
	tx, err := late.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT authlog.record_login('poll', 'o1', 'late', false, '192.0.2.9', 'ua', 'web')`); err != nil {
		t.Fatal(err)
	}
	e.sql(t, `SELECT authlog.record_login('poll', 'o1', 'after-' || n, false, '192.0.2.1', 'ua', 'web') FROM generate_series(1, 4) n`)
	if n := poll(); n != 0 {
		t.Fatalf("while an older transaction is open: %d events, want 0", n)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := poll(); n != 5 {
		t.Fatalf("after the late commit: %d events, want 5", n)
	}
	if n := poll(); n != 0 {
		t.Fatalf("and then: %d, want 0", n)
	}
	want := []string{"early-1", "early-2", "early-3", "late", "after-1", "after-2", "after-3", "after-4"}
	for _, u := range want {
		if received[u] != 1 {
			t.Fatalf("%s received %d times: %v", u, received[u], received)
		}
	}
	if len(received) != len(want) {
		t.Fatalf("received %v", received)
	}
}

// A bounded period ends: no next link after a short page.
func TestEventsPeriodEnds(t *testing.T) {
	seed(t)
	r := testEnv.do(t, "GET", "/v1/events?limit=100&since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", testEnv.token(t, nil), "")
	if r.status != http.StatusOK || r.header.Get("Link") != "" || r.json(t)["next"] != nil {
		t.Fatalf("a short page of a bounded period has no next: %d %q %s", r.status, r.header.Get("Link"), r.body)
	}
}

func TestUnlock(t *testing.T) {
	e := testEnv
	e.sql(t, `SELECT authlog.set_lockout_policy('desk', 3, '15 minutes', '15 minutes')`)
	e.sql(t, `SELECT authlog.record_login('desk', o, u, false, '192.0.2.1', 'ua', 'web')
		FROM (VALUES ('finance', 'fran'), ('hr', 'hank')) v(o, u), generate_series(1, 3)`)
	helpdesk := e.token(t, map[string]any{"tenant": "desk", "sub": "jane@helpdesk", "roles": []string{"helpdesk"}})
	reader := e.token(t, map[string]any{"tenant": "desk", "roles": []string{"reader"}})
	key := "6f1c1f3e-8c55-4a5e-9f1e-2a0c9d5b7e01"
	body := `{"organisation_id": "finance", "reason": "identity checked by phone, ticket 4711"}`

	r := e.do(t, "GET", "/v1/accounts/fran/lockout", helpdesk, "")
	if !strings.Contains(string(r.body), `"locked":true`) {
		t.Fatalf("fran is locked: %s", r.body)
	}
	r = e.do(t, "POST", "/v1/accounts/fran/unlock", helpdesk, body, "Idempotency-Key", key)
	if r.status != http.StatusOK {
		t.Fatalf("unlock: %d %s", r.status, r.body)
	}
	answer := r.json(t)
	if answer["log_id"] != key || answer["actor"] != "jane@helpdesk" || !strings.Contains(string(r.body), `"locked":false`) {
		t.Fatalf("unlock answer: %s", r.body)
	}
	var actor, reason string
	if err := e.admin.QueryRow(context.Background(),
		`SELECT actor, metadata->'authlog'->>'note' FROM authlog.auth_logs WHERE log_id = $1::uuid`, key).Scan(&actor, &reason); err != nil {
		t.Fatalf("the lockout_reset event: %v", err)
	}
	if actor != "jane@helpdesk" || reason != "identity checked by phone, ticket 4711" {
		t.Fatalf("actor %q, note %q: want the token's subject and the reason", actor, reason)
	}

	tests := []struct {
		name   string
		token  string
		user   string
		body   string
		key    string
		status int
	}{
		{"the same key and body again: the same event", helpdesk, "fran", body, key, http.StatusOK},
		{"the same key, another reason", helpdesk, "fran", `{"organisation_id": "finance", "reason": "other"}`, key, http.StatusUnprocessableEntity},
		{"another organisation's account", helpdesk, "hank", `{"organisation_id": "hr", "reason": "r"}`, "", http.StatusForbidden},
		{"a reader is not the help desk", reader, "fran", body, "", http.StatusForbidden},
		{"no reason", helpdesk, "fran", `{"organisation_id": "finance"}`, "", http.StatusBadRequest},
		{"an unknown member", helpdesk, "fran", `{"organisation_id": "finance", "reason": "r", "actor": "x"}`, "", http.StatusBadRequest},
		{"a key that is not a UUID", helpdesk, "fran", body, "42", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{}
			if tt.key != "" {
				headers = append(headers, "Idempotency-Key", tt.key)
			}
			r := e.do(t, "POST", "/v1/accounts/"+tt.user+"/unlock", tt.token, tt.body, headers...)
			if tt.status == http.StatusOK {
				if r.status != 200 || r.json(t)["log_id"] != key {
					t.Fatalf("%d %s", r.status, r.body)
				}
				return
			}
			isProblem(t, r, tt.status)
		})
	}
	var n int
	if err := e.admin.QueryRow(context.Background(),
		`SELECT count(*) FROM authlog.auth_logs WHERE tenant_id = 'desk' AND event_type = 'lockout_reset'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d lockout_reset events, want 1 (retries and refusals write nothing)", n)
	}
}

func TestBadParameters(t *testing.T) {
	token := testEnv.token(t, nil)
	for _, path := range []string{
		"/v1/events?since=yesterday",
		"/v1/events?colour=red",
		"/v1/events?ip=not-an-ip",
		"/v1/events?limit=0",
		"/v1/events?limit=1&limit=2",
		"/v1/events?format=xml",
		"/v1/events?type=login_maybe",
		"/v1/events?after=garbage",
		"/v1/events?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
		"/v1/investigation/timeline",
		"/v1/investigation/lockout-trace",
		"/v1/seals/verification?copy=elsewhere",
		"/v1/investigation/success-after-failures?since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z&within=P1X",
	} {
		t.Run(path, func(t *testing.T) {
			isProblem(t, testEnv.do(t, "GET", path, token, ""), http.StatusBadRequest)
		})
	}
	isProblem(t, testEnv.do(t, "GET", "/v1/nothing-here", token, ""), http.StatusNotFound)
	r := testEnv.do(t, "DELETE", "/v1/events", token, "")
	isProblem(t, r, http.StatusMethodNotAllowed)
	if r.header.Get("Allow") != "GET" {
		t.Fatalf("Allow: %q", r.header.Get("Allow"))
	}
}

func TestOCSF(t *testing.T) {
	seed(t)
	r := testEnv.do(t, "GET", "/v1/events?limit=1000&user=fred&type=login_failed&type=login_success&format=ocsf", testEnv.token(t, nil), "")
	var page struct {
		Events []map[string]any `json:"events"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Events) != 3 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	statuses := map[float64]int{}
	for _, ev := range page.Events {
		if ev["class_uid"] != float64(3002) || ev["category_uid"] != float64(3) || ev["activity_id"] != float64(1) ||
			ev["type_uid"] != float64(300201) {
			t.Fatalf("not an OCSF Authentication logon: %v", ev)
		}
		if ev["src_endpoint"].(map[string]any)["ip"] != "192.0.2.10" || ev["user"].(map[string]any)["name"] != "fred" ||
			ev["http_request"].(map[string]any)["user_agent"] != "ua" || ev["metadata"].(map[string]any)["product"] == nil {
			t.Fatalf("attributes: %v", ev)
		}
		statuses[ev["status_id"].(float64)]++
	}
	if statuses[1] != 1 || statuses[2] != 2 {
		t.Fatalf("status_id: %v, want one success and two failures", statuses)
	}
	r = testEnv.do(t, "GET", "/v1/events?limit=1000&user=fred&type=login_failed,login_success&format=ocsf-ndjson", testEnv.token(t, nil), "")
	if lines := strings.Count(string(r.body), "\n"); lines != 3 || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("ocsf-ndjson: %d lines, %q", lines, r.header.Get("Content-Type"))
	}
}

func TestSealProofsFollowTheScope(t *testing.T) {
	seed(t)
	testEnv.sql(t, `SELECT authlog.seal_now('60s')`)
	whole := testEnv.token(t, map[string]any{"organisations": nil})
	page := testEnv.do(t, "GET", "/v1/events?limit=1000&user=fred&type=login_failed,login_success", whole, "").json(t)
	proofs, _ := page["seal_proofs"].([]any)
	if len(proofs) != 3 {
		t.Fatalf("a tenant-wide page carries a proof per event: %v", page)
	}
	for _, p := range proofs {
		if p.(map[string]any)["status"] != "sealed" || p.(map[string]any)["seal_digest"] == nil {
			t.Fatalf("proof: %v", p)
		}
	}
	page = testEnv.do(t, "GET", "/v1/events?limit=1000&user=fred", testEnv.token(t, nil), "").json(t)
	if page["seal_proofs"] != nil || page["seal_proofs_unavailable"] == nil {
		t.Fatalf("an organisation's page says why it has no proof: %v", page)
	}
	r := testEnv.do(t, "GET", "/v1/seals/verification", whole, "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"rows"`) {
		t.Fatalf("verification: %d %s", r.status, r.body)
	}
	// this cluster mirrors to no store: the store's copy cannot be checked
	p := isProblem(t, testEnv.do(t, "GET", "/v1/seals/verification?copy=store", whole, ""), http.StatusServiceUnavailable)
	if p["sqlstate"] != "55000" || !strings.Contains(p["detail"].(string), "mirror_uri") {
		t.Fatalf("copy=store without a store: %v", p)
	}
}

func TestRateLimit(t *testing.T) {
	srv := httptest.NewServer(testEnv.server(ratelimit.New(0.5, 2)).Handler())
	defer srv.Close()
	token := testEnv.token(t, map[string]any{"sub": "rate-limited"})
	var last response
	for i := 0; i < 3; i++ {
		res, err := bearerGet(srv.URL+"/v1/accounts/fred/lockout", token)
		if err != nil {
			t.Fatal(err)
		}
		if res.header.Get("RateLimit-Limit") != "2" || res.header.Get("RateLimit-Remaining") == "" {
			t.Fatalf("request %d: RateLimit headers %v", i, res.header)
		}
		if i < 2 && res.status != http.StatusOK {
			t.Fatalf("request %d: %d", i, res.status)
		}
		last = res
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("past the limit: %d, Retry-After %q", last.status, last.header.Get("Retry-After"))
	}
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			described[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, rt := range testEnv.server(ratelimit.New(0, 1)).routes() {
		if !described[rt.method+" "+rt.path] {
			t.Errorf("%s %s is not in openapi.json", rt.method, rt.path)
		}
		delete(described, rt.method+" "+rt.path)
	}
	for _, extra := range []string{"GET /v1/openapi.json", "GET /healthz", "GET /readyz"} {
		delete(described, extra)
	}
	if len(described) > 0 {
		t.Errorf("openapi.json describes routes the server does not have: %v", described)
	}
	r := testEnv.do(t, "GET", "/v1/openapi.json", "", "")
	if r.status != 200 || string(r.body) != string(openapi.Document) {
		t.Fatalf("/v1/openapi.json: %d", r.status)
	}
}

func TestHealth(t *testing.T) {
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := testEnv.do(t, "GET", path, "", ""); r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	}
}

// /metrics counts requests by endpoint, method and status.
func TestMetrics(t *testing.T) {
	srv := testEnv.server(ratelimit.New(0, 1))
	api := httptest.NewServer(srv.Handler())
	defer api.Close()
	metrics := httptest.NewServer(srv.MetricsHandler())
	defer metrics.Close()
	for _, token := range []string{testEnv.token(t, nil), testEnv.token(t, nil), "forged"} {
		if _, err := bearerGet(api.URL+"/v1/accounts/fred/lockout", token); err != nil {
			t.Fatal(err)
		}
	}
	res, err := http.Get(metrics.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, want := range []string{
		`authlog_api_requests_total{endpoint="lockout_status",method="GET",status="200"} 2`,
		`authlog_api_requests_total{endpoint="lockout_status",method="GET",status="401"} 1`,
		`authlog_api_request_duration_seconds_count{endpoint="lockout_status"} 3`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// The row schemas of openapi.json name the columns of the SQL row types
// (api/openapi/generate.py holds them): a column added or renamed in
// schema/ fails here until the document follows.
func TestOpenAPIRowSchemasMatchTheDatabase(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	schemaOf := map[string]string{"SealProof": "seal_proof"}
	for _, typ := range []string{"timeline_entry", "targeted_account", "attacking_source", "likely_compromise",
		"lockout_trace_entry", "compliance_day", "seal_check", "access_log"} {
		schemaOf[typ] = typ
	}
	schemaOf["Event"] = "polled_event"
	schemaOf["retention_status"] = "retention_status"
	schemaOf["legal_hold"] = "legal_holds"
	for schema, typ := range schemaOf {
		var cols []string
		err := testEnv.admin.QueryRow(context.Background(), `
			SELECT array_agg(a.attname::text ORDER BY a.attname)
			FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
			WHERE t.typnamespace = 'authlog'::regnamespace AND t.typname = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
			typ).Scan(&cols)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		props := doc.Components.Schemas[schema].Properties
		for _, c := range cols {
			if _, ok := props[c]; !ok {
				t.Errorf("authlog.%s has %s; openapi.json's %s does not", typ, c, schema)
			}
		}
		if len(props) != len(cols) {
			t.Errorf("openapi.json's %s has %d properties, authlog.%s %d columns", schema, len(props), typ, len(cols))
		}
	}
}

// Every read through the API is in the access log, under the request id the
// API answered with; only a compliance token of the whole tenant reads it.
func TestAccessLog(t *testing.T) {
	seed(t)
	e := testEnv
	reader := e.token(t, map[string]any{"sub": "watcher@acme"})
	r := e.do(t, "GET", "/v1/investigation/targeted-accounts?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z",
		reader, "", "X-Request-Id", "watched-1")
	if r.status != 200 || r.header.Get("X-Request-Id") != "watched-1" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	compliance := e.token(t, map[string]any{"organisations": nil, "roles": []string{"compliance"}})
	r = e.do(t, "GET", "/v1/access-log?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", compliance, "")
	var answer struct {
		Rows []struct {
			Subject   string          `json:"subject"`
			RequestID string          `json:"request_id"`
			Function  string          `json:"function_name"`
			RowCount  int             `json:"row_count"`
			Orgs      []string        `json:"organisations"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(r.body, &answer); err != nil || r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	found := false
	for _, row := range answer.Rows {
		if row.Subject == "watcher@acme" {
			found = row.RequestID == "watched-1" && row.Function == "targeted_accounts" && row.RowCount == 1 &&
				len(row.Orgs) == 1 && row.Orgs[0] == "finance" && strings.Contains(string(row.Arguments), "2000-01-01")
			if !found {
				t.Fatalf("the entry: %+v", row)
			}
		}
	}
	if !found {
		t.Fatalf("the read is not in the access log: %s", r.body)
	}
	isProblem(t, e.do(t, "GET", "/v1/access-log?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", reader, ""),
		http.StatusForbidden)
}
