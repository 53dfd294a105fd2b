package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"authlog/api/internal/problem"
	"authlog/api/internal/store"
)

// The records manager's endpoints: a tenant's retention and legal holds
// (doc/retention.md).  The SQL functions decide: a token needs
// records_manager (to read: or compliance) for its whole tenant, and every
// change is recorded, sealed and mirrored with the token's subject as its
// actor.

// retentionStatus is GET /v1/records/retention: authlog.tenant_retention_status.
func (s *Server) retentionStatus(w http.ResponseWriter, r *http.Request, c *call) {
	s.reader(w, r, c, newParams(r.URL), "authlog.tenant_retention_status")
}

// legalHolds is GET /v1/records/holds: authlog.tenant_legal_holds.
func (s *Server) legalHolds(w http.ResponseWriter, r *http.Request, c *call) {
	s.reader(w, r, c, newParams(r.URL), "authlog.tenant_legal_holds")
}

// retentionRequest is the body of PUT /v1/records/retention: keep is an
// interval ("1 year", "P6Y"), or null for authlog.default_retention.
type retentionRequest struct {
	Keep json.RawMessage `json:"keep"`
}

type recordAnswer struct {
	TenantID string            `json:"tenant_id"`
	RecordID string            `json:"record_id"`
	Actor    string            `json:"actor"`
	Rows     []json.RawMessage `json:"rows"`
}

// setRetention is PUT /v1/records/retention: authlog.set_retention as the
// token's subject; answers the record and the tenant's status after it.
func (s *Server) setRetention(w http.ResponseWriter, r *http.Request, c *call) {
	if p := newParams(r.URL); p.err != nil {
		p.err.Write(w, r)
		return
	}
	var body retentionRequest
	if !decodeBody(w, r, &body, `{"keep": "1 year"} (null: the default retention)`) {
		return
	}
	var keep *string
	switch raw := strings.TrimSpace(string(body.Keep)); {
	case raw == "":
		problem.BadRequest(`keep is required: how long the tenant's events are kept, such as "1 year" or "P6Y", or null for authlog.default_retention`).Write(w, r)
		return
	case raw != "null":
		var k string
		if err := json.Unmarshal(body.Keep, &k); err != nil || strings.TrimSpace(k) == "" {
			problem.BadRequest(`keep is an interval as a string, such as "1 year" or "P6Y", or null`).Write(w, r)
			return
		}
		keep = &k
	}
	answer := recordAnswer{}
	err := s.store.Request(r.Context(), c.token, c.requestID, func(ctx context.Context, tx *store.Tx) error {
		answer.TenantID, answer.Actor = tx.ID.TenantID, tx.ID.Subject
		var err error
		if answer.RecordID, err = tx.SetRetention(ctx, keep); err != nil {
			return err
		}
		answer.Rows, err = tx.Rows(ctx, "authlog.tenant_retention_status", tx.ID.TenantID)
		return err
	})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// holdRequest is the body of POST /v1/records/holds.
type holdRequest struct {
	Since          *time.Time `json:"since"`
	Until          *time.Time `json:"until"`
	CaseRef        string     `json:"case_ref"`
	OrganisationID *string    `json:"organisation_id"`
	UserID         *string    `json:"user_id"`
}

type holdAnswer struct {
	TenantID string            `json:"tenant_id"`
	HoldID   string            `json:"hold_id"`
	Actor    string            `json:"actor"`
	Holds    []json.RawMessage `json:"holds"`
}

// placeHold is POST /v1/records/holds: authlog.place_hold as the token's
// subject; answers 201 with the hold's id and the holds in force.
func (s *Server) placeHold(w http.ResponseWriter, r *http.Request, c *call) {
	if p := newParams(r.URL); p.err != nil {
		p.err.Write(w, r)
		return
	}
	var body holdRequest
	if !decodeBody(w, r, &body, `{"since": RFC 3339, "until": RFC 3339 or null, "case_ref": ..., "organisation_id": ..., "user_id": ...}`) {
		return
	}
	switch {
	case body.Since == nil:
		problem.BadRequest("since is required: the start of the period the case covers (RFC 3339)").Write(w, r)
		return
	case strings.TrimSpace(body.CaseRef) == "":
		problem.BadRequest("case_ref is required: the case or order the hold serves").Write(w, r)
		return
	}
	answer := holdAnswer{}
	err := s.store.Request(r.Context(), c.token, c.requestID, func(ctx context.Context, tx *store.Tx) error {
		answer.TenantID, answer.Actor = tx.ID.TenantID, tx.ID.Subject
		var err error
		answer.HoldID, err = tx.PlaceHold(ctx, store.Hold{Since: *body.Since, Until: body.Until, CaseRef: body.CaseRef,
			OrganisationID: body.OrganisationID, UserID: body.UserID})
		if err != nil {
			return err
		}
		answer.Holds, err = tx.Rows(ctx, "authlog.tenant_legal_holds", tx.ID.TenantID)
		return err
	})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusCreated, answer)
}

// releaseRequest is the body of POST /v1/records/holds/{hold}/release.
type releaseRequest struct {
	Reason string `json:"reason"`
}

// releaseHold is POST /v1/records/holds/{hold}/release: authlog.release_hold
// as the token's subject; a hold not in force (another tenant's, or
// released) is 404.
func (s *Server) releaseHold(w http.ResponseWriter, r *http.Request, c *call) {
	if p := newParams(r.URL); p.err != nil {
		p.err.Write(w, r)
		return
	}
	hold := r.PathValue("hold")
	if !uuidPattern.MatchString(hold) {
		problem.NotFound("A hold's id is a UUID; GET /v1/records/holds lists those in force.").Write(w, r)
		return
	}
	var body releaseRequest
	if !decodeBody(w, r, &body, `{"reason": ...}`) {
		return
	}
	if strings.TrimSpace(body.Reason) == "" {
		problem.BadRequest("reason is required: why the hold ends (the case closed, the order lifted)").Write(w, r)
		return
	}
	answer := holdAnswer{HoldID: strings.ToLower(hold)}
	err := s.store.Request(r.Context(), c.token, c.requestID, func(ctx context.Context, tx *store.Tx) error {
		answer.TenantID, answer.Actor = tx.ID.TenantID, tx.ID.Subject
		if err := tx.ReleaseHold(ctx, hold, body.Reason); err != nil {
			return err
		}
		var err error
		answer.Holds, err = tx.Rows(ctx, "authlog.tenant_legal_holds", tx.ID.TenantID)
		return err
	})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}
