package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"authlog/api/internal/bearer"
	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
)

// The tests run against a throwaway cluster that test/cluster.sh starts
// (authlog installed by make; as root, make test runs them as postgres),
// with keys made by this run.

const issuer = "https://idp.authlog.test"

type env struct {
	dir, port string
	keys      map[string]ed25519.PrivateKey // kid -> key; "stranger" is not registered
	jwksFile  string
	api       *httptest.Server
	store     *store.Store
	admin     *pgx.Conn
}

var testEnv *env

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() == 0 {
		fmt.Fprintln(os.Stderr, "httpapi tests: PostgreSQL refuses root; run them through make test (which runs them as postgres)")
		return 1
	}
	e, err := startEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpapi tests:", err)
		if e != nil {
			e.stop()
		}
		return 1
	}
	testEnv = e
	defer e.stop()
	return m.Run()
}

func top() string {
	if t := os.Getenv("AUTHLOG_TOP"); t != "" {
		return t
	}
	abs, _ := filepath.Abs("../../..")
	return abs
}

func startEnv() (*env, error) {
	dir, err := os.MkdirTemp("", "authlog-api-test.")
	if err != nil {
		return nil, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(20000))
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, port: fmt.Sprint(40000 + n.Int64()), keys: map[string]ed25519.PrivateKey{}}
	out, err := exec.Command("bash", filepath.Join(top(), "test/cluster.sh"), "start", filepath.Join(dir, "pg"), e.port,
		"authlog.seal_interval = '1s'").CombinedOutput()
	if err != nil {
		return e, fmt.Errorf("cluster.sh start: %w: %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if e.admin, err = pgx.Connect(ctx, e.dsn("postgres")); err != nil {
		return e, err
	}

	jwks := map[string]any{"keys": []any{}}
	for _, kid := range []string{"ed-1", "ed-2", "stranger"} {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return e, err
		}
		e.keys[kid] = key
		if kid != "stranger" {
			jwks["keys"] = append(jwks["keys"].([]any), map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid,
				"alg": "EdDSA", "use": "sig", "x": b64(key.Public().(ed25519.PublicKey))})
		}
	}
	body, err := json.Marshal(jwks)
	if err != nil {
		return e, err
	}
	e.jwksFile = filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(e.jwksFile, body, 0o600); err != nil {
		return e, err
	}
	if _, err := e.admin.Exec(ctx, `
		CREATE EXTENSION authlog;
		CREATE ROLE api LOGIN;
		SELECT authlog.grant_gateway('api');
		SELECT authlog.grant_monitor('api');`); err != nil {
		return e, fmt.Errorf("setup: %w", err)
	}
	if _, err := e.admin.Exec(ctx, `SELECT authlog.trust_issuer($1, $2::jsonb)`, issuer, string(body)); err != nil {
		return e, fmt.Errorf("trust_issuer: %w", err)
	}
	if e.store, err = store.Open(ctx, e.dsn("api"), 10*time.Second); err != nil {
		return e, err
	}
	e.api = httptest.NewServer(e.server(ratelimit.New(0, 1)).Handler())
	return e, nil
}

func (e *env) dsn(user string) string {
	return fmt.Sprintf("host=%s port=%s user=%s dbname=postgres", filepath.Join(e.dir, "pg"), e.port, user)
}

func (e *env) server(limiter *ratelimit.Limiter) *Server {
	v, err := bearer.New(context.Background(), bearer.Config{Issuer: issuer, Audience: "authlog", JWKSFile: e.jwksFile})
	if err != nil {
		panic(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Config{Version: "test", MaxRows: 500, Figures: &FiguresConfig{
		Attacks: store.AttackWindow{Recent: 5 * time.Minute, Top: 2, MinFailures: 10}}},
		e.store, v, limiter, log)
}

func (e *env) stop() {
	if e.api != nil {
		e.api.Close()
	}
	if e.store != nil {
		e.store.Close()
	}
	if e.admin != nil {
		_ = e.admin.Close(context.Background())
	}
	if out, err := exec.Command("bash", filepath.Join(top(), "test/cluster.sh"), "stop", filepath.Join(e.dir, "pg")).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cluster.sh stop: %v: %s\n", err, out)
		if log, err := os.ReadFile(filepath.Join(e.dir, "pg", "server.log")); err == nil {
			fmt.Fprintf(os.Stderr, "%s\n", log)
		}
	}
	_ = os.RemoveAll(e.dir)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// claims of a valid token: ann, reader of acme/finance
func claims(overrides map[string]any) map[string]any {
	now := time.Now().Unix()
	c := map[string]any{"iss": issuer, "sub": "ann@acme", "aud": "authlog", "iat": now, "exp": now + 600,
		"tenant": "acme", "organisations": []string{"finance"}, "roles": []string{"reader"}}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign makes a compact JWS: alg EdDSA with kid's key, or "none".
func (e *env) sign(t testing.TB, kid, alg string, c map[string]any) string {
	t.Helper()
	header, err := json.Marshal(map[string]string{"alg": alg, "kid": kid, "typ": "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(header) + "." + b64(payload)
	if alg == "none" {
		return input + "."
	}
	return input + "." + b64(ed25519.Sign(e.keys[kid], []byte(input)))
}

func (e *env) token(t testing.TB, overrides map[string]any) string {
	return e.sign(t, "ed-1", "EdDSA", claims(overrides))
}

// sql runs statements as the superuser (the auth service's part).
func (e *env) sql(t testing.TB, query string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.admin.Exec(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return v
}

func (e *env) do(t testing.TB, method, path, token string, body string, headers ...string) response {
	t.Helper()
	var rdr io.Reader
	if body != "" {
		rdr = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.api.URL+path, rdr)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// bearerGet is a GET of url with a bearer token; it fails no test itself,
// so goroutines may use it.
func bearerGet(url, token string) (response, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}, err
}
