package httpapi

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"authlog/api/internal/ratelimit"
)

// gather scrapes the server's registry: series name{labels} -> value.
func gather(t *testing.T, srv *Server) map[string]float64 {
	t.Helper()
	families, err := srv.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// /metrics reads the database's figures: every counter equals a recount of
// auth_logs, outcomes included; the attacking networks are the top ones of
// each tenant; no label carries a user.
func TestMetricsFigures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// two tenants: a stuffing from one /24 over 14 accounts, a brute force
	// from two addresses against one (locked after 5), and a success after it
	testEnv.sql(t, `SELECT authlog.set_lockout_policy('metrics-a', 5, '1 hour', '1 second')`)
	testEnv.sql(t, `SELECT authlog.record_login('metrics-a', 'finance', 'victim-' || i, false,
	                    ('198.51.100.' || (i % 7 + 1))::inet, 'ua', 'web') FROM generate_series(1, 14) i`)
	testEnv.sql(t, `SELECT authlog.record_login('metrics-a', 'hr', 'cfo', false,
	                    ('203.0.113.' || (i % 2 + 1))::inet, 'ua', 'web') FROM generate_series(1, 7) i`)
	testEnv.sql(t, `SELECT pg_sleep(1.1)`)
	testEnv.sql(t, `SELECT authlog.record_login('metrics-a', 'hr', 'cfo', true, '203.0.113.1', 'ua', 'web')`)
	testEnv.sql(t, `SELECT authlog.reset_lockout('metrics-a', 'finance', 'victim-1', 'helpdesk', 'ticket 9')`)
	testEnv.sql(t, `SELECT authlog.record_login('metrics-b', 'o', 'u' || i, false,
	                    ('192.0.2.' || i)::inet, 'ua', 'web') FROM generate_series(1, 3) i`)

	srv := testEnv.server(ratelimit.New(0, 1))
	got := gather(t, srv)
	if got["authlog_monitor_up{}"] != 1 {
		t.Fatalf("authlog_monitor_up = %v; the scrape failed", got["authlog_monitor_up{}"])
	}

	want := map[string]float64{}
	rows, err := testEnv.admin.Query(ctx, `
		SELECT format('authlog_events_total{event_type=%s,organisation=%s,tenant=%s}',
		              to_json(event_type::text), to_json(organisation_id), to_json(tenant_id)), count(*)
		  FROM authlog.auth_logs WHERE tenant_id LIKE 'metrics-%' GROUP BY tenant_id, organisation_id, event_type
		UNION ALL
		SELECT format('authlog_login_decisions_total{decision=%s,organisation=%s,tenant=%s}',
		              to_json(decision), to_json(organisation_id), to_json(tenant_id)), count(*)
		  FROM authlog.auth_logs WHERE tenant_id LIKE 'metrics-%' AND decision IS NOT NULL
		 GROUP BY tenant_id, organisation_id, decision
		UNION ALL
		SELECT format('authlog_locked_refusals_total{organisation=%s,tenant=%s}', to_json(organisation_id), to_json(tenant_id)), count(*)
		  FROM authlog.auth_logs WHERE tenant_id LIKE 'metrics-%' AND reason = 'account_locked' GROUP BY tenant_id, organisation_id
		UNION ALL
		SELECT format('authlog_helpdesk_unlocks_total{organisation=%s,tenant=%s}', to_json(organisation_id), to_json(tenant_id)), count(*)
		  FROM authlog.auth_logs WHERE tenant_id LIKE 'metrics-%' AND event_type = 'lockout_reset' AND reason = 'admin'
		 GROUP BY tenant_id, organisation_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var series string
		var n int64
		if err := rows.Scan(&series, &n); err != nil {
			t.Fatal(err)
		}
		want[series] = float64(n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want[`authlog_success_after_failures_total{organisation="hr",tenant="metrics-a"}`] = 1
	want[`authlog_attack_network_failures{network="198.51.100.0/24",tenant="metrics-a"}`] = 14
	want[`authlog_attack_network_accounts{network="198.51.100.0/24",tenant="metrics-a"}`] = 14
	want[`authlog_attack_network_addresses{network="198.51.100.0/24",tenant="metrics-a"}`] = 7
	if len(want) < 10 {
		t.Fatalf("the recount found only %d series: %v", len(want), want)
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %v, want %v (a recount of auth_logs)", series, got[series], v)
		}
	}
	// every other series of these tenants is a zero (each pair has all its
	// series, so increase() sees an attack's first events), and no label
	// names a user; the brute force (7 failures) is below min 10
	for _, zero := range []string{
		`authlog_events_total{event_type="account_moved",organisation="hr",tenant="metrics-a"}`,
		`authlog_helpdesk_unlocks_total{organisation="o",tenant="metrics-b"}`,
		`authlog_login_decisions_total{decision="allowed",organisation="o",tenant="metrics-b"}`,
	} {
		if v, ok := got[zero]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want a zero", zero, v, ok)
		}
	}
	for series, v := range got {
		if strings.Contains(series, "metrics-") {
			if _, ok := want[series]; !ok && v != 0 && !strings.HasPrefix(series, "authlog_attack_network_successes") {
				t.Errorf("unexpected series %s = %v", series, v)
			}
		}
		if strings.Contains(series, "victim-") || strings.Contains(series, `"cfo"`) {
			t.Errorf("a user in a label: %s", series)
		}
	}
	for _, series := range []string{`authlog_mirror_lag_seconds{}`, `authlog_mirror_retained_wal_bytes{}`,
		`authlog_seals_written_total{}`, `authlog_seal_links_broken_total{}`} {
		if _, ok := got[series]; !ok {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// A role without grant_monitor: the scrape says so (authlog_monitor_up 0)
// and still serves the API's own figures.
func TestMetricsFiguresRefused(t *testing.T) {
	testEnv.sql(t, `SELECT authlog.revoke_monitor('api')`)
	defer testEnv.sql(t, `SELECT authlog.grant_monitor('api')`)
	srv := testEnv.server(ratelimit.New(0, 1))
	got := gather(t, srv)
	if v, ok := got["authlog_monitor_up{}"]; !ok || v != 0 {
		t.Errorf("authlog_monitor_up = %v (present %v), want 0", v, ok)
	}
	if _, ok := got["go_goroutines{}"]; !ok {
		t.Errorf("the API's own figures are missing")
	}
}
