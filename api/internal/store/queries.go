package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// EventQuery is poll_events' arguments.  Empty strings and nil times are
// "no filter".
type EventQuery struct {
	After        string
	Limit        int
	UserID       string
	Network      string // an address or a CIDR
	Types        []string
	Organisation string
	Since, Until *time.Time
}

// Event is one authlog.polled_event, as PostgreSQL encodes it.
type Event struct {
	Position            string          `json:"position"`
	LogID               string          `json:"log_id"`
	OccurredAt          time.Time       `json:"occurred_at"`
	RecordedAt          time.Time       `json:"recorded_at"`
	EventType           string          `json:"event_type"`
	OrganisationID      string          `json:"organisation_id"`
	UserID              string          `json:"user_id"`
	IPAddress           *string         `json:"ip_address"`
	UserAgent           *string         `json:"user_agent"`
	AuthPath            *string         `json:"auth_path"`
	Decision            *string         `json:"decision"`
	Reason              *string         `json:"reason"`
	Actor               *string         `json:"actor"`
	FailedLoginAttempts *int            `json:"failed_login_attempts"`
	AccountLockedUntil  *time.Time      `json:"account_locked_until"`
	Metadata            json.RawMessage `json:"metadata"`
}

// PollEvents reads the next page of the request tenant's events in commit
// order (authlog.poll_events).
func (t *Tx) PollEvents(ctx context.Context, q EventQuery) ([]Event, error) {
	var types []string
	if len(q.Types) > 0 {
		types = q.Types
	}
	rows, err := t.tx.Query(ctx,
		`SELECT pg_catalog.to_jsonb(e) FROM authlog.poll_events($1, $2, $3, $4, $5::inet,
		        $6::text[]::authlog.event_type[], $7, $8, $9) e`,
		t.ID.TenantID, nullable(q.After), q.Limit, nullable(q.UserID), nullable(q.Network),
		types, nullable(q.Organisation), q.Since, q.Until)
	if err != nil {
		return nil, fmt.Errorf("store: poll_events: %w", err)
	}
	defer rows.Close()
	events := []Event{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("store: poll_events: %w", err)
		}
		var e Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("store: poll_events row: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: poll_events: %w", err)
	}
	return events, nil
}

// Rows runs one of authlog's set-returning reader functions and returns its
// rows as PostgreSQL encodes them (to_jsonb of the function's row type): the
// API's answer is the function's answer.  fn is a fixed name from the
// handler's table, never from the request.
func (t *Tx) Rows(ctx context.Context, fn string, args ...any) ([]json.RawMessage, error) {
	placeholders := ""
	for i := range args {
		if i > 0 {
			placeholders += ", "
		}
		placeholders += fmt.Sprintf("$%d", i+1)
	}
	rows, err := t.tx.Query(ctx, fmt.Sprintf("SELECT pg_catalog.to_jsonb(r) FROM %s(%s) r", fn, placeholders), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", fn, err)
	}
	defer rows.Close()
	out := []json.RawMessage{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("store: %s: %w", fn, err)
		}
		out = append(out, json.RawMessage(raw))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", fn, err)
	}
	return out, nil
}

// ResetLockout unlocks an account as the token's subject; logID is the
// caller's idempotency key (nil: authlog makes one).
func (t *Tx) ResetLockout(ctx context.Context, organisation, userID, reason string, logID *string) (string, error) {
	var id string
	err := t.tx.QueryRow(ctx,
		`SELECT authlog.reset_lockout($1, $2, $3, $4, $5, $6::uuid)::text`,
		t.ID.TenantID, organisation, userID, t.ID.Subject, reason, logID).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("store: reset_lockout: %w", err)
	}
	return id, nil
}

// SetRetention sets how long the request tenant's events are kept (nil:
// back to authlog.default_retention), as the token's subject; returns the
// record's id.
func (t *Tx) SetRetention(ctx context.Context, keep *string) (string, error) {
	var id string
	err := t.tx.QueryRow(ctx, `SELECT authlog.set_retention($1, $2::interval, $3)::text`,
		t.ID.TenantID, keep, t.ID.Subject).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("store: set_retention: %w", err)
	}
	return id, nil
}

// Hold is what a legal hold covers: events of the tenant (of one
// organisation, of one account, when given) in [Since, Until).
type Hold struct {
	Since          time.Time
	Until          *time.Time
	CaseRef        string
	OrganisationID *string
	UserID         *string
}

// PlaceHold places a legal hold on the request tenant's events as the
// token's subject; returns the hold's id.
func (t *Tx) PlaceHold(ctx context.Context, h Hold) (string, error) {
	var id string
	err := t.tx.QueryRow(ctx, `SELECT authlog.place_hold($1, $2, $3, $4, $5, $6, $7)::text`,
		t.ID.TenantID, h.Since, h.Until, h.CaseRef, t.ID.Subject, h.OrganisationID, h.UserID).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("store: place_hold: %w", err)
	}
	return id, nil
}

// ReleaseHold releases one of the request tenant's holds as the token's
// subject.
func (t *Tx) ReleaseHold(ctx context.Context, holdID, reason string) error {
	if _, err := t.tx.Exec(ctx, `SELECT authlog.release_hold($1::uuid, $2, $3)`, holdID, t.ID.Subject, reason); err != nil {
		return fmt.Errorf("store: release_hold: %w", err)
	}
	return nil
}

// SealProofs proves the events of a page against the seals
// (authlog.seal_proofs), in a savepoint: a scope that may not see seals (an
// organisation's reader) gets the database's reason, not a failed request.
func (t *Tx) SealProofs(ctx context.Context, logIDs []string) (proofs []json.RawMessage, refused string, err error) {
	sp, err := t.tx.Begin(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("store: savepoint: %w", err)
	}
	rows, err := sp.Query(ctx,
		`SELECT pg_catalog.to_jsonb(r) FROM authlog.seal_proofs($1, $2::text[]::uuid[]) r`, t.ID.TenantID, logIDs)
	if err == nil {
		proofs = []json.RawMessage{}
		for rows.Next() {
			var raw []byte
			if err = rows.Scan(&raw); err != nil {
				break
			}
			proofs = append(proofs, raw)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		if e := classify(err); e.(*Error).Kind == KindForbidden {
			if rbErr := sp.Rollback(ctx); rbErr != nil {
				return nil, "", fmt.Errorf("store: rollback to savepoint: %w", rbErr)
			}
			return nil, e.(*Error).Message, nil
		}
		return nil, "", fmt.Errorf("store: seal_proofs: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, "", fmt.Errorf("store: release savepoint: %w", err)
	}
	return proofs, "", nil
}
