package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"authlog/api/internal/bearer"
	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
)

// Through pgbouncer 1.18 in transaction pooling, one server connection
// shared by every client: the same answers as a direct connection, and no
// request's identity reaches another's transaction.
func TestThroughPgbouncer(t *testing.T) {
	seed(t)
	e := testEnv
	e.sql(t, `SELECT authlog.seal_now('60s')`) // nothing changes while the answers are compared
	dir := filepath.Join(e.dir, "pgbouncer")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	port := e.port // its own socket directory
	ini := fmt.Sprintf(`[databases]
postgres = host=%s port=%s dbname=postgres
[pgbouncer]
listen_addr =
unix_socket_dir = %s
listen_port = %s
auth_type = trust
auth_file = %s/users.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 100
logfile = %s/pgbouncer.log
`, filepath.Join(e.dir, "pg"), e.port, dir, port, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(`"api" ""`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bouncer := exec.Command("/usr/sbin/pgbouncer", filepath.Join(dir, "pgbouncer.ini"))
	if err := bouncer.Start(); err != nil {
		t.Fatalf("pgbouncer: %v", err)
	}
	defer func() {
		_ = bouncer.Process.Kill()
		_ = bouncer.Wait()
	}()
	socket := filepath.Join(dir, ".s.PGSQL."+port)
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pooled, err := store.Open(ctx, fmt.Sprintf("host=%s port=%s user=api dbname=postgres", dir, port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pooled.Close()
	v, err := bearer.New(ctx, bearer.Config{Issuer: issuer, JWKSFile: e.jwksFile})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(New(Config{Version: "test", MaxRows: 500}, pooled, v, ratelimit.New(0, 1),
		slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer api.Close()

	get := func(base, path, token string) (int, string) {
		r, err := bearerGet(base+path, token)
		if err != nil {
			t.Error(err)
		}
		return r.status, string(r.body)
	}
	period := "since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z"
	tokens := map[string]string{
		"acme/finance": e.token(t, nil),
		"acme":         e.token(t, map[string]any{"organisations": nil}),
		"globex":       e.token(t, map[string]any{"tenant": "globex", "organisations": nil}),
	}
	paths := []string{"/v1/events?limit=1000", "/v1/investigation/timeline?" + period,
		"/v1/investigation/targeted-accounts?" + period, "/v1/accounts/fred/lockout"}
	type ask struct{ who, path string }
	var asks []ask
	for i := 0; i < 5; i++ {
		for who := range tokens {
			for _, p := range paths {
				asks = append(asks, ask{who, p})
			}
		}
	}
	// every answer through the pool equals the direct answer, with the
	// requests of the three scopes racing for one server connection
	var wg sync.WaitGroup
	for _, a := range asks {
		wg.Add(1)
		go func(a ask) {
			defer wg.Done()
			ds, direct := get(e.api.URL, a.path, tokens[a.who])
			ps, pooledBody := get(api.URL, a.path, tokens[a.who])
			if ds != 200 || ps != ds || pooledBody != direct {
				t.Errorf("%s %s: direct %d, through pgbouncer %d:\n%s\n%s", a.who, a.path, ds, ps, direct, pooledBody)
			}
		}(a)
	}
	wg.Wait()
	// a bare transaction on the pooled connection after all that acts for nobody
	var n int
	if err := pooled.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pooledConn(ctx, dir, port)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM authlog.incident_timeline('acme', '-infinity', 'infinity')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a transaction without begin_request read %d events through the pool", n)
	}
}

func pooledConn(ctx context.Context, dir, port string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s user=api dbname=postgres", dir, port))
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	return pgx.ConnectConfig(ctx, cfg)
}
