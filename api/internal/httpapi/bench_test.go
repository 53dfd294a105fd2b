package httpapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
)

// make bench runs these (bench/run.sh, section api) and reports ratios of
// medians of rounds run in one invocation:
//   - an events page of 100 rows over HTTP (ndjson: the same SQL as the
//     pgx case, no seal proofs) against the same poll_events call over pgx
//     with the same begin_request step: the HTTP and encoding overhead;
//   - the API's own token check, per request;
//   - an investigation call's latency at 8 concurrent clients.

var benchOnce sync.Once

func benchSeed(b *testing.B) {
	benchOnce.Do(func() {
		testEnv.sql(b, `SELECT authlog.record_login('bench', 'o' || (n % 4), 'user' || (n % 500), n % 7 = 0,
			('198.51.100.' || (n % 200))::inet, 'bench/1.0', 'web')
			FROM generate_series(1, 10000) n`)
		// as autovacuum would have: fresh tables without statistics get plans
		// that read the whole tenant to sort it
		testEnv.sql(b, `ANALYZE authlog.event_ids, authlog.auth_logs`)
	})
}

func benchToken(b *testing.B) string {
	return testEnv.sign(b, "ed-1", "EdDSA", claims(map[string]any{"tenant": "bench", "organisations": nil,
		"exp": time.Now().Add(time.Hour).Unix()}))
}

func BenchmarkEventsPagePgx(b *testing.B) {
	benchSeed(b)
	token := benchToken(b)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := testEnv.store.Request(context.Background(), token, "", func(ctx context.Context, tx *store.Tx) error {
				events, err := tx.PollEvents(ctx, store.EventQuery{Limit: 100})
				if err == nil && len(events) != 100 {
					b.Errorf("%d events", len(events))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEventsPageHTTP(b *testing.B) {
	benchSeed(b)
	token := benchToken(b)
	api := httptest.NewServer(testEnv.server(ratelimit.New(0, 1)).Handler())
	defer api.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", api.URL+"/v1/events?limit=100&format=ndjson", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || n < 100*200 {
				b.Fatalf("%d, %d bytes", res.StatusCode, n)
			}
		}
	})
}

func BenchmarkTokenCheck(b *testing.B) {
	token := benchToken(b)
	v := testEnv.server(ratelimit.New(0, 1)).verifier
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInvestigationLatency reports the p50 and p99 of
// targeted-accounts over the bench tenant at 8 concurrent clients.
func BenchmarkInvestigationLatency(b *testing.B) {
	benchSeed(b)
	token := benchToken(b)
	api := httptest.NewServer(testEnv.server(ratelimit.New(0, 1)).Handler())
	defer api.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var mu sync.Mutex
	var latencies []time.Duration
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			req, _ := http.NewRequest("GET", api.URL+
				"/v1/investigation/targeted-accounts?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("%d", res.StatusCode)
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	}
}
