package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"authlog/api/internal/bearer"
	"authlog/api/internal/ratelimit"
)

// A real OIDC provider, Ory Hydra v2 (test/hydra.sh builds it), issues
// client-credentials JWT access tokens whose scope values carry authlog's
// scope (authlog:tenant:…, authlog:org:…, authlog:role:…).  The API fetches
// the provider's JWKS from its URL; the superuser registers the same keys
// with trust_issuer(…, claims => 'scope'); PostgreSQL scopes the answers.
func TestHydraTokens(t *testing.T) {
	seed(t)
	e := testEnv
	issuerURL, admin := startHydra(t, "hydra")
	discovery := trustHydra(t, issuerURL, "scope")

	token := func(scope string) string {
		body, _ := json.Marshal(map[string]any{"grant_types": []string{"client_credentials"}, "scope": scope,
			"audience": []string{"authlog"}, "token_endpoint_auth_method": "client_secret_basic"})
		res, err := http.Post(admin+"/admin/clients", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		var client struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		decode(t, res, &client)
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "audience": {"authlog"}}
		req, _ := http.NewRequest("POST", issuerURL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client.ID, client.Secret)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		decode(t, res, &tok)
		return tok.AccessToken
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := bearer.New(ctx, bearer.Config{Issuer: discovery.Issuer, JWKSURL: discovery.JWKSURI})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(New(Config{Version: "test", MaxRows: 500}, e.store, v, ratelimit.New(0, 1),
		slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer api.Close()
	get := func(path, token string) (int, string) {
		r, err := bearerGet(api.URL+path, token)
		if err != nil {
			t.Fatal(err)
		}
		return r.status, string(r.body)
	}

	finance := token("authlog:tenant:acme authlog:org:finance authlog:role:reader")
	status, body := get("/v1/events?limit=1000", finance)
	if status != 200 || !strings.Contains(body, `"fred"`) || strings.Contains(body, "hana") || strings.Contains(body, "gus") {
		t.Fatalf("a Hydra token for acme/finance: %d %s", status, body)
	}
	status, body = get("/v1/events?limit=1000", token("authlog:tenant:globex authlog:role:reader"))
	if status != 200 || strings.Contains(body, "fred") || !strings.Contains(body, "gus") {
		t.Fatalf("a Hydra token for globex: %d %s", status, body)
	}
	// no authlog role: the API's check passes it, PostgreSQL refuses it
	if status, body = get("/v1/events", token("authlog:tenant:acme")); status != http.StatusUnauthorized ||
		!strings.Contains(body, "no authlog role") {
		t.Fatalf("a token without a role: %d %s", status, body)
	}
	parts := strings.Split(finance, ".")
	sig := []byte(parts[2])
	sig[10] ^= 1
	if status, _ = get("/v1/events", parts[0]+"."+parts[1]+"."+string(sig)); status != http.StatusUnauthorized {
		t.Fatalf("a tampered Hydra token: %d", status)
	}
}

// startHydra runs a real Hydra over a database of its own in the test
// cluster until the test ends; extra environment (Hydra's configuration)
// follows the defaults.  It returns the public (issuer) and admin URLs.
func startHydra(t *testing.T, database string, extraEnv ...string) (issuerURL, adminURL string) {
	t.Helper()
	e := testEnv
	bin := filepath.Join(top(), "build/bin/hydra")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Hydra is not built (bash test/hydra.sh build; make test does it): %v", err)
	}
	e.sql(t, `CREATE DATABASE `+database)
	public, admin := freePort(t), freePort(t)
	issuerURL = "http://127.0.0.1:" + public
	env := append(os.Environ(),
		"DSN=postgres://postgres@/"+database+"?host="+url.QueryEscape(filepath.Join(e.dir, "pg"))+"&port="+e.port+"&sslmode=disable",
		"URLS_SELF_ISSUER="+issuerURL, "SECRETS_SYSTEM=authlog-test-secret-of-32-characters",
		"STRATEGIES_ACCESS_TOKEN=jwt", "STRATEGIES_JWT_SCOPE_CLAIM=string",
		"SERVE_PUBLIC_HOST=127.0.0.1", "SERVE_PUBLIC_PORT="+public,
		"SERVE_ADMIN_HOST=127.0.0.1", "SERVE_ADMIN_PORT="+admin, "LOG_LEVEL=warn")
	env = append(env, extraEnv...)
	migrate := exec.Command(bin, "migrate", "sql", "-e", "--yes")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("hydra migrate: %v\n%s", err, out)
	}
	logPath := filepath.Join(e.dir, database+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(bin, "serve", "all", "--dev")
	serve.Env, serve.Stdout, serve.Stderr = env, logFile, logFile
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = serve.Process.Kill()
		_ = serve.Wait()
		logFile.Close()
	})
	waitFor(t, issuerURL+"/health/ready", logPath)
	return issuerURL, "http://127.0.0.1:" + admin
}

// hydraDiscovery is what the tests read of Hydra's discovery document.
type hydraDiscovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// trustHydra registers Hydra's keys with authlog, its tokens' authlog scope
// in their claims or their scope values (trust_issuer's claims argument).
func trustHydra(t *testing.T, issuerURL, claims string) hydraDiscovery {
	t.Helper()
	var discovery hydraDiscovery
	getJSON(t, issuerURL+"/.well-known/openid-configuration", &discovery)
	var jwks json.RawMessage
	getJSON(t, discovery.JWKSURI, &jwks)
	testEnv.sql(t, `SELECT authlog.trust_issuer($1, $2::jsonb, 'authlog', $3)`, discovery.Issuer, string(jwks), claims)
	return discovery
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func waitFor(t *testing.T, u, logPath string) {
	for i := 0; i < 200; i++ {
		if res, err := http.Get(u); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(logPath)
	t.Fatalf("%s did not answer:\n%s", u, out)
}

func getJSON(t *testing.T, u string, v any) {
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, res, v)
}

func decode(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s: %d %s", res.Request.URL, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v: %s", res.Request.URL, err, body)
	}
}
