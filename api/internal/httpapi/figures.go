package httpapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"authlog/api/internal/store"
)

// FiguresConfig is what /metrics asks the database for at each scrape.
type FiguresConfig struct {
	Timeout time.Duration      // the longest one scrape's reading may take
	Attacks store.AttackWindow // the attacking networks' window and bound
}

// figuresCollector turns the database's figures into metrics at scrape
// time: the counters live in PostgreSQL's shared memory, so they survive an
// API restart and every API instance reports the same values.  Labels are
// bounded by tenants x organisations x a few values; no user is ever a
// label, and the one address label is the top-N networks per tenant.
type figuresCollector struct {
	store *store.Store
	cfg   FiguresConfig
	log   *slog.Logger

	up, scrapeSeconds                                   *prometheus.Desc
	events, decisions, refusals, unlocks, afterFailures *prometheus.Desc
	uncounted                                           *prometheus.Desc
	mirrorState, mirrorLag, mirrorLagBytes, mirrorWAL   *prometheus.Desc
	mirrorWritten, mirrorRefused                        *prometheus.Desc
	sealerState, sealerLag, seals, eventsSealed         *prometheus.Desc
	anchorsFailed, linksChecked, linksBroken            *prometheus.Desc
	verifiedAt, verifiedSeals, verifyFindings           *prometheus.Desc
	attackFailures, attackAccounts, attackAddresses     *prometheus.Desc
	attackSuccesses                                     *prometheus.Desc
}

func newFiguresCollector(st *store.Store, cfg FiguresConfig, log *slog.Logger) *figuresCollector {
	to := []string{"tenant", "organisation"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &figuresCollector{
		store: st, cfg: cfg, log: log,
		up:            d("authlog_monitor_up", "1 if the last scrape read authlog's figures from PostgreSQL, 0 if it failed (see the API's log)."),
		scrapeSeconds: d("authlog_monitor_scrape_duration_seconds", "Time the scrape took to read authlog's figures."),
		events:        d("authlog_events_total", "Committed auth_logs events since the server started (authlog.stat_events); lockouts are event_type=\"account_locked\".", append(to, "event_type")...),
		decisions:     d("authlog_login_decisions_total", "record_login decisions of committed attempts (authlog.stat_outcomes): allowed, failed, locked.", append(to, "decision")...),
		refusals:      d("authlog_locked_refusals_total", "Attempts refused because a lock was in force (the attacker kept trying).", to...),
		unlocks:       d("authlog_helpdesk_unlocks_total", "Lockouts reset by the help desk (reset_lockout).", to...),
		afterFailures: d("authlog_success_after_failures_total", "Successful logins after at least authlog.success_after_failures_min failures or an expired lock: likely compromises.", to...),
		uncounted:     d("authlog_stats_overflow_total", "Counts of tenant/organisation pairs beyond authlog.stat_max_entries, by event type or outcome.", "kind"),

		mirrorState:    d("authlog_mirror_state", "The mirror worker's state: 1 for the current one.", "state"),
		mirrorLag:      d("authlog_mirror_lag_seconds", "How far the document store lags PostgreSQL's commits (0 when caught up)."),
		mirrorLagBytes: d("authlog_mirror_lag_bytes", "WAL the mirror has not yet confirmed."),
		mirrorWAL:      d("authlog_mirror_retained_wal_bytes", "WAL the mirror's slot retains."),
		mirrorWritten:  d("authlog_mirror_documents_written_total", "Documents the mirror wrote to the store since the worker started."),
		mirrorRefused:  d("authlog_mirror_documents_refused_total", "Documents the store refused (dead letters) since the worker started."),

		sealerState:    d("authlog_sealer_state", "The sealer's state: 1 for the current one.", "state"),
		sealerLag:      d("authlog_sealer_lag_seconds", "Seconds since the sealer's last cut: every event committed before that is sealed."),
		seals:          d("authlog_seals_written_total", "Seals written since the sealer started."),
		eventsSealed:   d("authlog_events_sealed_total", "Events sealed since the sealer started."),
		anchorsFailed:  d("authlog_seal_anchors_failed_total", "Cuts whose NOTIFY authlog_seal anchor could not be sent."),
		linksChecked:   d("authlog_seal_links_checked_total", "Chain links the sealer checked as its cuts extended a tenant's chain."),
		linksBroken:    d("authlog_seal_links_broken_total", "Chain links found broken: a seal no longer matching its digest, or not naming its predecessor's."),
		verifiedAt:     d("authlog_seal_verification_timestamp_seconds", "When the sealer's scheduled full verification last finished (authlog.seal_verify_interval)."),
		verifiedSeals:  d("authlog_seal_verification_seals", "Seals the last scheduled verification checked."),
		verifyFindings: d("authlog_seal_verification_findings", "Findings (rows other than ok) of the last scheduled verification: 0 when every seal is intact."),

		attackFailures:  d("authlog_attack_network_failures", "Failed attempts from a network (IPv4 /24, IPv6 /64) in the recent window: the top networks per tenant only (authlog.attack_sources).", "tenant", "network"),
		attackAccounts:  d("authlog_attack_network_accounts", "Distinct accounts a top network's failures tried in the recent window.", "tenant", "network"),
		attackAddresses: d("authlog_attack_network_addresses", "Distinct addresses of a top network seen in the recent window.", "tenant", "network"),
		attackSuccesses: d("authlog_attack_network_successes", "Successful logins from a top network in the recent window.", "tenant", "network"),
	}
}

func (c *figuresCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.scrapeSeconds, c.events, c.decisions, c.refusals,
		c.unlocks, c.afterFailures, c.uncounted, c.mirrorState, c.mirrorLag, c.mirrorLagBytes,
		c.mirrorWAL, c.mirrorWritten, c.mirrorRefused, c.sealerState, c.sealerLag, c.seals,
		c.eventsSealed, c.anchorsFailed, c.linksChecked, c.linksBroken, c.verifiedAt,
		c.verifiedSeals, c.verifyFindings, c.attackFailures, c.attackAccounts,
		c.attackAddresses, c.attackSuccesses} {
		ch <- d
	}
}

// outcomeKinds are authlog.stat_outcomes' outcomes (src/stats.c).
var outcomeKinds = []string{"allowed", "failed", "locked", "refused_while_locked",
	"helpdesk_unlock", "success_after_failures"}

// outcomeMetric maps authlog.stat_outcomes' outcomes to their metric and
// label: the decisions share one, the others are counters of their own.
func (c *figuresCollector) outcomeMetric(outcome string) (*prometheus.Desc, []string) {
	switch outcome {
	case "allowed", "failed", "locked":
		return c.decisions, []string{outcome}
	case "refused_while_locked":
		return c.refusals, nil
	case "helpdesk_unlock":
		return c.unlocks, nil
	case "success_after_failures":
		return c.afterFailures, nil
	}
	return nil, nil
}

func (c *figuresCollector) Collect(ch chan<- prometheus.Metric) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	f, err := c.store.Figures(ctx, c.cfg.Attacks)
	ch <- prometheus.MustNewConstMetric(c.scrapeSeconds, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		c.log.Error("metrics: reading authlog's figures", "error", err)
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)

	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	// Every pair that has counted anything gets all its series, zeros
	// included: a series that first appears at 3 hides those 3 from
	// increase(), so an attack's first lockouts would not fire its alert.
	type pair struct{ tenant, organisation string }
	seen := map[pair]bool{}
	events := map[pair]map[string]int64{}
	outcomes := map[pair]map[string]int64{}
	add := func(into map[pair]map[string]int64, counts []store.Count) {
		for _, n := range counts {
			if n.TenantID == "" {
				counter(c.uncounted, n.Total, n.Kind)
				continue
			}
			p := pair{n.TenantID, n.OrganisationID}
			seen[p] = true
			if into[p] == nil {
				into[p] = map[string]int64{}
			}
			into[p][n.Kind] = n.Total
		}
	}
	add(events, f.Events)
	add(outcomes, f.Outcomes)
	for p := range seen {
		for _, kind := range f.EventTypes {
			counter(c.events, events[p][kind], p.tenant, p.organisation, kind)
		}
		for _, outcome := range outcomeKinds {
			d, extra := c.outcomeMetric(outcome)
			counter(d, outcomes[p][outcome], append([]string{p.tenant, p.organisation}, extra...)...)
		}
	}

	m := f.Mirror
	gauge(c.mirrorState, 1, m.State)
	gauge(c.mirrorLag, m.LagSeconds)
	gauge(c.mirrorLagBytes, float64(m.LagBytes))
	gauge(c.mirrorWAL, float64(m.RetainedWALBytes))
	counter(c.mirrorWritten, m.DocumentsWritten)
	counter(c.mirrorRefused, m.DocumentsRefused)

	s := f.Sealer
	gauge(c.sealerState, 1, s.State)
	if s.LagSeconds >= 0 {
		gauge(c.sealerLag, s.LagSeconds)
	}
	counter(c.seals, s.SealsWritten)
	counter(c.eventsSealed, s.EventsSealed)
	counter(c.anchorsFailed, s.AnchorsFailed)
	counter(c.linksChecked, s.LinksChecked)
	counter(c.linksBroken, s.LinksBroken)
	if s.VerifiedAt != nil {
		gauge(c.verifiedAt, float64(s.VerifiedAt.UnixNano())/1e9)
		gauge(c.verifiedSeals, float64(s.VerifiedSeals))
		gauge(c.verifyFindings, float64(s.VerifyFindings))
	}

	for _, a := range f.Attacks {
		gauge(c.attackFailures, float64(a.Failures), a.TenantID, a.Network)
		gauge(c.attackAccounts, float64(a.Accounts), a.TenantID, a.Network)
		gauge(c.attackAddresses, float64(a.Addresses), a.TenantID, a.Network)
		gauge(c.attackSuccesses, float64(a.Successes), a.TenantID, a.Network)
	}
}
