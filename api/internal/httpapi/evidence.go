package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"authlog/api/internal/evidence"
	"authlog/api/internal/problem"
	"authlog/api/internal/store"
)

// evidencePackage is GET /v1/evidence: a tenant's events of a period
// (export_events), its compliance report and covering seals, with a
// manifest and SHA256SUMS signed by the operator's Ed25519 key, as one
// tar.gz (internal/evidence).  The events are read in one transaction, so
// the report and the events are of the same snapshot.
func (s *Server) evidencePackage(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "since", "until")
	since, until := p.period(true)
	if p.err != nil {
		p.err.Write(w, r)
		return
	}
	if s.cfg.EvidenceKey == nil {
		problem.New(http.StatusServiceUnavailable, "evidence-unconfigured", "Evidence packages are not configured",
			"The operator has not given authlog-api a signing key (-evidence-key).").Write(w, r)
		return
	}
	contents := evidence.Contents{Since: *since, Until: *until, RequestID: c.requestID}
	err := s.store.Request(r.Context(), c.token, c.requestID, func(ctx context.Context, tx *store.Tx) error {
		contents.TenantID, contents.Subject = tx.ID.TenantID, tx.ID.Subject
		return evidence.Collect(ctx, tx, &contents, s.cfg.MaxEvidenceEvents)
	})
	var tooMany *evidence.TooManyEvents
	if errors.As(err, &tooMany) {
		problem.New(http.StatusUnprocessableEntity, "too-many-rows", "The package would be too large",
			tooMany.Error()+".").Write(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	contents.GeneratedAt = time.Now().UTC()
	var buf bytes.Buffer
	if _, err := evidence.Write(&buf, contents, s.cfg.EvidenceKey); err != nil {
		s.fail(w, r, c, err)
		return
	}
	name := evidence.FileName(contents.TenantID, *since, *until)
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
