package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"authlog/api/internal/problem"
	"authlog/api/internal/store"
)

// rowsAnswer is the JSON answer of an investigation endpoint: the SQL
// function's rows, as PostgreSQL encodes its row type.
type rowsAnswer struct {
	TenantID string            `json:"tenant_id"`
	Function string            `json:"function"`
	Rows     []json.RawMessage `json:"rows"`
}

// reader runs one set-returning SQL function of the request's tenant and
// answers its rows; args follow the tenant.  An answer over MaxRows is
// refused whole (never cut short silently): narrow the period.
func (s *Server) reader(w http.ResponseWriter, r *http.Request, c *call, p *params, fn string, args ...any) {
	if p.err != nil {
		p.err.Write(w, r)
		return
	}
	answer := rowsAnswer{Function: fn}
	err := s.store.Request(r.Context(), c.token, c.requestID, func(ctx context.Context, tx *store.Tx) error {
		answer.TenantID = tx.ID.TenantID
		var err error
		answer.Rows, err = tx.Rows(ctx, fn, append([]any{tx.ID.TenantID}, args...)...)
		return err
	})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	if len(answer.Rows) > s.cfg.MaxRows {
		problem.New(http.StatusUnprocessableEntity, "too-many-rows", "The answer is too large",
			fmt.Sprintf("%s returned %d rows, more than the %d one answer may hold; narrow the period or the filters.",
				fn, len(answer.Rows), s.cfg.MaxRows)).Write(w, r)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "until", "user", "ip")
	since, until := p.period(true)
	user, ip := p.text("user"), p.address("ip")
	s.reader(w, r, c, p, "authlog.incident_timeline", since, until, nullable(user), nullable(ip))
}

func (s *Server) targetedAccounts(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "until")
	since, until := p.period(true)
	s.reader(w, r, c, p, "authlog.targeted_accounts", since, until)
}

func (s *Server) attackingSources(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "until", "min_failures")
	since, until := p.period(true)
	min := p.integer("min_failures", 10, 1, 1_000_000)
	s.reader(w, r, c, p, "authlog.attacking_ips", since, until, min)
}

func (s *Server) successAfterFailures(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "until", "min_failures", "within")
	since, until := p.period(true)
	min := p.integer("min_failures", 3, 1, 1_000_000)
	within := p.duration("within")
	if within == nil {
		hour := "1 hour"
		within = &hour
	}
	s.reader(w, r, c, p, "authlog.success_after_failures", since, until, min, *within)
}

func (s *Server) lockoutTrace(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "user", "at")
	user := p.requiredText("user")
	at := p.time("at", false)
	if at == nil {
		s.reader(w, r, c, p, "authlog.lockout_trace", user)
		return
	}
	s.reader(w, r, c, p, "authlog.lockout_trace", user, *at)
}

func (s *Server) complianceReport(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "until")
	since, until := p.period(true)
	s.reader(w, r, c, p, "authlog.compliance_report", since, until)
}

// sealVerification checks the seals against PostgreSQL's events
// (copy=postgresql, the default: verify_seals) or against the document
// store's copy (copy=store: verify_tenant_store_seals).
func (s *Server) sealVerification(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "copy")
	since := p.time("since", false)
	switch copyName := p.text("copy"); copyName {
	case "", "postgresql":
		s.reader(w, r, c, p, "authlog.verify_seals", since)
	case "store":
		s.reader(w, r, c, p, "authlog.verify_tenant_store_seals", since)
	default:
		p.fail("copy must be postgresql or store, not %q", copyName)
		p.err.Write(w, r)
	}
}

// accessLog is GET /v1/access-log: who read the tenant's evidence through
// a gateway (authlog.access_entries), for a compliance token of the whole
// tenant; the database refuses every other scope (403).
func (s *Server) accessLog(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "until")
	since, until := p.period(true)
	s.reader(w, r, c, p, "authlog.access_entries", since, until)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
