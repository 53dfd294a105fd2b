// Package store is the API's only way into PostgreSQL: each request is one
// transaction that begins with authlog.begin_request(token) and then calls
// the SQL functions, whose answers PostgreSQL scopes to the token.  The
// store never filters a row itself.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store holds the pool of the gateway role's connections.
type Store struct {
	pool *pgxpool.Pool
	// the longest one request's SQL may run (statement_timeout)
	statementTimeout time.Duration
}

// Identity is who a request acts for, as begin_request decided it.
type Identity struct {
	Subject       string
	TenantID      string
	Organisations []string // nil: every organisation of the tenant
	Roles         []string
	ExpiresAt     time.Time
	RequestID     string
}

// HasRole says whether the token carries an authlog role.
func (id Identity) HasRole(role string) bool {
	for _, r := range id.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Open connects.  Statements run in pgx's exec mode (unnamed prepared
// statements), so the API works behind pgbouncer in transaction pooling.
func Open(ctx context.Context, dsn string, statementTimeout time.Duration) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "authlog-api"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if statementTimeout <= 0 {
		statementTimeout = 30 * time.Second
	}
	return &Store{pool: pool, statementTimeout: statementTimeout}, nil
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Ready says whether the database answers and authlog is installed there.
func (s *Store) Ready(ctx context.Context) error {
	var version string
	err := s.pool.QueryRow(ctx,
		"SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'authlog'").Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return errors.New("store: authlog is not installed in the database")
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Tx is one request's transaction, after begin_request.
type Tx struct {
	tx pgx.Tx
	ID Identity
}

// Request runs fn in one transaction acting for the token.  A refused token
// is an *Error of kind KindUnauthorized (SQLSTATE 28000).  The transaction
// commits only if fn succeeds, and it is read-write even for reads: every
// reader function appends the read to authlog.access_log in it (a read-only
// transaction would read nothing).
func (s *Store) Request(ctx context.Context, token, requestID string,
	fn func(ctx context.Context, tx *Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return classify(fmt.Errorf("store: begin: %w", err))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// one round trip: the identity, and the request's statement_timeout
	// (transaction-local, so it ends with the request, pgbouncer or not)
	var id Identity
	var expires *time.Time
	var reqID *string
	var timeout string
	err = tx.QueryRow(ctx,
		`SELECT b.subject, b.tenant_id, b.organisations, b.roles, b.expires_at, b.request_id,
		        pg_catalog.set_config('statement_timeout', $3, true)
		   FROM authlog.begin_request($1, $2) b`,
		token, nullable(requestID), fmt.Sprintf("%dms", s.statementTimeout.Milliseconds())).
		Scan(&id.Subject, &id.TenantID, &id.Organisations, &id.Roles, &expires, &reqID, &timeout)
	if err != nil {
		return classify(fmt.Errorf("store: begin_request: %w", err))
	}
	if expires != nil {
		id.ExpiresAt = *expires
	}
	if reqID != nil {
		id.RequestID = *reqID
	}
	if err := fn(ctx, &Tx{tx: tx, ID: id}); err != nil {
		return classify(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Kind is what a database error means to an HTTP client.
type Kind int

const (
	KindInternal     Kind = iota
	KindUnauthorized      // 28000: the token was refused
	KindForbidden         // 42501: the scope does not allow it
	KindInvalid           // SQLSTATE class 22: a bad argument
	KindConflict          // LA001/LA002: an id reused for another call, another organisation
	KindUnavailable       // timeouts, shutdown, too many connections: retry later
	KindNotFound          // P0002: what the request names is not there (for its scope)
)

// Error is a database error with what it means.
type Error struct {
	Kind     Kind
	SQLState string
	Message  string
	Hint     string
	err      error
}

func (e *Error) Error() string { return e.err.Error() }
func (e *Error) Unwrap() error { return e.err }

func classify(err error) error {
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
			return &Error{Kind: KindUnavailable, Message: "the request took too long", err: err}
		}
		return &Error{Kind: KindInternal, err: err}
	}
	e := &Error{SQLState: pgErr.Code, Message: pgErr.Message, Hint: pgErr.Hint, err: err}
	switch {
	case pgErr.Code == "28000":
		e.Kind = KindUnauthorized
	case pgErr.Code == "42501":
		e.Kind = KindForbidden
	case pgErr.Code == "LA001" || pgErr.Code == "LA002":
		e.Kind = KindConflict
	case pgErr.Code == "P0002":
		e.Kind = KindNotFound
	case len(pgErr.Code) == 5 && pgErr.Code[:2] == "22":
		e.Kind = KindInvalid
	case pgErr.Code == "55000" || pgErr.Code == "57014" || pgErr.Code == "55P03" || pgErr.Code == "40001" || pgErr.Code == "40P01" ||
		pgErr.Code[:2] == "53" || pgErr.Code[:2] == "08" || pgErr.Code[:3] == "57P":
		e.Kind = KindUnavailable
	default:
		e.Kind = KindInternal
	}
	return e
}
