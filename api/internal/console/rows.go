package console

import (
	"encoding/json"
	"fmt"
	"time"
)

// The SQL functions' row types, as PostgreSQL encodes them (to_jsonb): the
// console shows their columns, and computes nothing they do not say.

type timelineEntry struct {
	OccurredAt          time.Time  `json:"occurred_at"`
	EventType           string     `json:"event_type"`
	UserID              string     `json:"user_id"`
	OrganisationID      string     `json:"organisation_id"`
	IPAddress           *string    `json:"ip_address"`
	UserAgent           *string    `json:"user_agent"`
	AuthPath            *string    `json:"auth_path"`
	Decision            *string    `json:"decision"`
	Reason              *string    `json:"reason"`
	Actor               *string    `json:"actor"`
	FailedLoginAttempts *int       `json:"failed_login_attempts"`
	AccountLockedUntil  *time.Time `json:"account_locked_until"`
	Locked              *bool      `json:"locked"`
	LogID               string     `json:"log_id"`
	Metadata            struct {
		Authlog struct {
			Note string `json:"note"`
		} `json:"authlog"`
	} `json:"metadata"`
}

// Note is the help desk's reason of a lockout_reset (authlog.note in its metadata).
func (e timelineEntry) Note() string { return e.Metadata.Authlog.Note }

type targetedAccount struct {
	UserID               string    `json:"user_id"`
	OrganisationID       string    `json:"organisation_id"`
	Failures             int64     `json:"failures"`
	RefusedByLock        int64     `json:"refused_by_lock"`
	DistinctIPs          int64     `json:"distinct_ips"`
	Lockouts             int64     `json:"lockouts"`
	FirstAttempt         time.Time `json:"first_attempt"`
	LastAttempt          time.Time `json:"last_attempt"`
	SuccessAfterFailures bool      `json:"success_after_failures"`
}

type attackingSource struct {
	Kind           string    `json:"kind"`
	Source         string    `json:"source"`
	Addresses      int64     `json:"addresses"`
	Failures       int64     `json:"failures"`
	AccountsTried  int64     `json:"accounts_tried"`
	Successes      int64     `json:"successes"`
	LockoutsCaused int64     `json:"lockouts_caused"`
	FirstSeen      time.Time `json:"first_seen"`
	LastSeen       time.Time `json:"last_seen"`
}

type likelyCompromise struct {
	UserID         string    `json:"user_id"`
	OrganisationID string    `json:"organisation_id"`
	SuccessAt      time.Time `json:"success_at"`
	SuccessIP      *string   `json:"success_ip"`
	SuccessLogID   string    `json:"success_log_id"`
	Failures       int64     `json:"failures"`
	FailureIPs     []string  `json:"failure_ips"`
	FirstFailureAt time.Time `json:"first_failure_at"`
	LastFailureAt  time.Time `json:"last_failure_at"`
	FromFailingIP  bool      `json:"from_failing_ip"`
}

type traceEntry struct {
	Attempt     int        `json:"attempt"`
	OccurredAt  time.Time  `json:"occurred_at"`
	IPAddress   *string    `json:"ip_address"`
	UserAgent   *string    `json:"user_agent"`
	AuthPath    *string    `json:"auth_path"`
	Decision    *string    `json:"decision"`
	LogID       string     `json:"log_id"`
	LockLogID   *string    `json:"lock_log_id"`
	LockedAt    *time.Time `json:"locked_at"`
	LockedUntil *time.Time `json:"locked_until"`
	LockInForce *bool      `json:"lock_in_force"`
}

type lockoutState struct {
	FailedLoginAttempts int        `json:"failed_login_attempts"`
	AccountLockedUntil  *time.Time `json:"account_locked_until"`
	Locked              bool       `json:"locked"`
}

type complianceDay struct {
	Day         string   `json:"day"`
	EventType   *string  `json:"event_type"`
	Events      int64    `json:"events"`
	Users       int64    `json:"users"`
	IPAddresses int64    `json:"ip_addresses"`
	Lockouts    int64    `json:"lockouts"`
	Resets      int64    `json:"resets"`
	AdminResets int64    `json:"admin_resets"`
	ResetBy     []string `json:"reset_by"`
}

type sealCheck struct {
	TenantID   *string    `json:"tenant_id"`
	SealNo     *int64     `json:"seal_no"`
	SealedAt   *time.Time `json:"sealed_at"`
	EventCount *int       `json:"event_count"`
	Status     string     `json:"status"`
	LogID      *string    `json:"log_id"`
	Detail     *string    `json:"detail"`
}

func decodeRows[T any](fn string, raw []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(raw))
	for _, r := range raw {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, fmt.Errorf("console: a row of %s: %w", fn, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// authlog.retention_status, one tenant's (tenant_retention_status)
type retentionRow struct {
	TenantID        string     `json:"tenant_id"`
	Keep            *string    `json:"keep"`
	OldestKeptAt    *time.Time `json:"oldest_kept_at"`
	NextRemovalDue  *time.Time `json:"next_removal_due"`
	HoldsInForce    *int64     `json:"holds_in_force"`
	LastRunStarted  *time.Time `json:"last_run_started"`
	LastRunFinished *time.Time `json:"last_run_finished"`
	RunInProgress   *bool      `json:"run_in_progress"`
	LastResult      *string    `json:"last_result"`
}

// authlog.legal_holds, one tenant's (tenant_legal_holds)
type holdRow struct {
	HoldID         string     `json:"hold_id"`
	OrganisationID *string    `json:"organisation_id"`
	UserID         *string    `json:"user_id"`
	Since          time.Time  `json:"since"`
	Until          *time.Time `json:"until"`
	CaseRef        string     `json:"case_ref"`
	PlacedBy       string     `json:"placed_by"`
	PlacedAt       time.Time  `json:"placed_at"`
}
