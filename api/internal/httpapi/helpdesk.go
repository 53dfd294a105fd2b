package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"authlog/api/internal/problem"
	"authlog/api/internal/store"
)

// lockoutStatus is GET /v1/accounts/{user}/lockout: authlog.lockout_status.
func (s *Server) lockoutStatus(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL)
	s.reader(w, r, c, p, "authlog.lockout_status", r.PathValue("user"))
}

// unlockRequest is the body of POST /v1/accounts/{user}/unlock.
type unlockRequest struct {
	OrganisationID string `json:"organisation_id"`
	Reason         string `json:"reason"`
}

type unlockAnswer struct {
	TenantID string            `json:"tenant_id"`
	LogID    string            `json:"log_id"`
	Actor    string            `json:"actor"`
	Lockout  []json.RawMessage `json:"lockout"`
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// unlock is POST /v1/accounts/{user}/unlock: authlog.reset_lockout as the
// token's subject, for a token with helpdesk in the account's scope (the
// database decides).  Idempotency-Key (a UUID) is the event's log_id: the
// same key and body again return the same event; another body with it is
// refused (422, SQLSTATE LA001).
func (s *Server) unlock(w http.ResponseWriter, r *http.Request, c *call) {
	if p := newParams(r.URL); p.err != nil {
		p.err.Write(w, r)
		return
	}
	var body unlockRequest
	if !decodeBody(w, r, &body, `{"organisation_id": ..., "reason": ...}`) {
		return
	}
	switch {
	case strings.TrimSpace(body.Reason) == "":
		problem.BadRequest("reason is required: say why the account is unlocked (e.g. the caller's identity was checked by phone)").Write(w, r)
		return
	case body.OrganisationID == "":
		problem.BadRequest("organisation_id is required: the organisation the account belongs to").Write(w, r)
		return
	}
	var logID *string
	if keys, given := r.Header["Idempotency-Key"]; given {
		key := keys[0]
		if len(keys) != 1 || !uuidPattern.MatchString(key) {
			problem.BadRequest("Idempotency-Key must be a UUID (a new one for each unlock; the same one only to retry it)").Write(w, r)
			return
		}
		logID = &key
	}
	var answer unlockAnswer
	err := s.store.Request(r.Context(), c.token, c.requestID, func(ctx context.Context, tx *store.Tx) error {
		answer.TenantID, answer.Actor = tx.ID.TenantID, tx.ID.Subject
		var err error
		if answer.LogID, err = tx.ResetLockout(ctx, body.OrganisationID, r.PathValue("user"), body.Reason, logID); err != nil {
			return err
		}
		answer.Lockout, err = tx.Rows(ctx, "authlog.lockout_status", tx.ID.TenantID, r.PathValue("user"))
		return err
	})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}
