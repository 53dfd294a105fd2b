package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Figures are what the monitoring role reads for /metrics: the shared-memory
// counters, the workers' status and the networks attacking each tenant now.
// No request is begun: these are the API role's own (authlog.grant_monitor),
// and they hold no event.
type Figures struct {
	EventTypes []string // the values of authlog.event_type
	Events     []Count  // authlog.stat_events: Kind is the event type
	Outcomes   []Count  // authlog.stat_outcomes: Kind is the outcome
	Mirror     *MirrorFigures
	Sealer     *SealerFigures
	Attacks    []AttackSource
}

// Count is one counter of a tenant and organisation; an empty TenantID is
// the counts of pairs that found no room in shared memory.
type Count struct {
	TenantID, OrganisationID, Kind string
	Total                          int64
}

// MirrorFigures is authlog.mirror_status.
type MirrorFigures struct {
	State                      string
	LagSeconds                 float64
	LagBytes, RetainedWALBytes int64
	DocumentsWritten           int64
	DocumentsRefused           int64
}

// SealerFigures is authlog.sealer_status().
type SealerFigures struct {
	State                      string
	LagSeconds                 float64 // -1: no cut yet
	SealsWritten, EventsSealed int64
	AnchorsFailed              int64
	LinksChecked, LinksBroken  int64
	VerifiedAt                 *time.Time
	VerifiedSeals              int64
	VerifyFindings             int64
}

// AttackSource is one network of authlog.attack_sources.
type AttackSource struct {
	TenantID, Network                        string
	Addresses, Failures, Accounts, Successes int64
}

// AttackWindow is what attack_sources is asked: the last Recent, the Top
// networks per tenant with at least MinFailures failures.
type AttackWindow struct {
	Recent      time.Duration
	Top         int
	MinFailures int
}

// Figures reads them in one read-only transaction under the statement
// timeout.
func (s *Store) Figures(ctx context.Context, w AttackWindow) (*Figures, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, classify(fmt.Errorf("store: begin: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.set_config('statement_timeout', $1, true)",
		fmt.Sprintf("%dms", s.statementTimeout.Milliseconds())); err != nil {
		return nil, classify(fmt.Errorf("store: statement_timeout: %w", err))
	}

	f := &Figures{}
	rows, err := tx.Query(ctx, "SELECT pg_catalog.unnest(pg_catalog.enum_range(NULL::authlog.event_type))::text")
	if err != nil {
		return nil, classify(fmt.Errorf("store: event types: %w", err))
	}
	if f.EventTypes, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, classify(fmt.Errorf("store: event types: %w", err))
	}
	if f.Events, err = counts(ctx, tx, "SELECT coalesce(tenant_id, ''), coalesce(organisation_id, ''), event_type::text, events FROM authlog.stat_events"); err != nil {
		return nil, err
	}
	if f.Outcomes, err = counts(ctx, tx, "SELECT coalesce(tenant_id, ''), coalesce(organisation_id, ''), outcome, total FROM authlog.stat_outcomes"); err != nil {
		return nil, err
	}

	m := &MirrorFigures{}
	err = tx.QueryRow(ctx, `SELECT state, coalesce(lag_seconds, 0), coalesce(lag_bytes, 0),
	        coalesce(retained_wal_bytes, 0), documents_written, documents_refused FROM authlog.mirror_status`).
		Scan(&m.State, &m.LagSeconds, &m.LagBytes, &m.RetainedWALBytes, &m.DocumentsWritten, &m.DocumentsRefused)
	if err != nil {
		return nil, classify(fmt.Errorf("store: mirror_status: %w", err))
	}
	f.Mirror = m

	sl := &SealerFigures{}
	err = tx.QueryRow(ctx, `SELECT state, coalesce(lag_seconds, -1), seals_written, events_sealed, anchors_failed,
	        links_checked, links_broken, verified_at, coalesce(verified_seals, 0), coalesce(verify_findings, 0)
	   FROM authlog.sealer_status()`).
		Scan(&sl.State, &sl.LagSeconds, &sl.SealsWritten, &sl.EventsSealed, &sl.AnchorsFailed,
			&sl.LinksChecked, &sl.LinksBroken, &sl.VerifiedAt, &sl.VerifiedSeals, &sl.VerifyFindings)
	if err != nil {
		return nil, classify(fmt.Errorf("store: sealer_status: %w", err))
	}
	f.Sealer = sl

	rows, err = tx.Query(ctx, `SELECT tenant_id, network::text, addresses, failures, accounts, successes
	   FROM authlog.attack_sources($1::interval, $2, $3)`,
		fmt.Sprintf("%d milliseconds", w.Recent.Milliseconds()), w.Top, w.MinFailures)
	if err != nil {
		return nil, classify(fmt.Errorf("store: attack_sources: %w", err))
	}
	f.Attacks, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (AttackSource, error) {
		var a AttackSource
		err := row.Scan(&a.TenantID, &a.Network, &a.Addresses, &a.Failures, &a.Accounts, &a.Successes)
		return a, err
	})
	if err != nil {
		return nil, classify(fmt.Errorf("store: attack_sources: %w", err))
	}
	return f, nil
}

func counts(ctx context.Context, tx pgx.Tx, query string) ([]Count, error) {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return nil, classify(fmt.Errorf("store: %s: %w", query, err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Count, error) {
		var c Count
		err := row.Scan(&c.TenantID, &c.OrganisationID, &c.Kind, &c.Total)
		return c, err
	})
	if err != nil {
		return nil, classify(fmt.Errorf("store: %s: %w", query, err))
	}
	return out, nil
}
