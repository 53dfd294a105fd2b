package console

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"authlog/api/internal/evidence"
	"authlog/api/internal/store"
)

type verdict struct {
	Copy     string // "PostgreSQL" or "the document store"
	OK       bool
	Seals    int
	Findings []sealCheck // rows other than ok
	Error    string      // the verifier could not run (the store unreachable ...)
}

type evidenceData struct {
	Period     period
	Ranges     []string
	Compliance []complianceDay
	Verdicts   []verdict
	CanSign    bool
}

// evidence: the compliance report of a period, the evidence package's
// download, and the seals verified in both stores, as a verdict with its
// findings.
func (c *Console) evidence(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	p, err := parsePeriod(r)
	if err != nil {
		return err
	}
	d := evidenceData{Period: p, Ranges: RangeChoices, CanSign: c.cfg.EvidenceKey != nil}
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		raw, err := tx.Rows(ctx, "authlog.compliance_report", tx.ID.TenantID, p.Since, p.Until)
		if err != nil {
			return err
		}
		d.Compliance, err = decodeRows[complianceDay]("compliance_report", raw)
		return err
	}); err != nil {
		return err
	}
	// each verifier in a request of its own: one that is refused (an
	// organisation's reader may not see seals) or fails leaves the other's
	for _, v := range []struct{ copy, fn string }{
		{"PostgreSQL", "authlog.verify_seals"}, {"the document store", "authlog.verify_tenant_store_seals"}} {
		verdict := verdict{Copy: v.copy}
		err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
			raw, err := tx.Rows(ctx, v.fn, tx.ID.TenantID, p.Since)
			if err != nil {
				return err
			}
			checks, err := decodeRows[sealCheck](v.fn, raw)
			for _, ch := range checks {
				if ch.Status == "ok" {
					verdict.Seals++
				} else {
					verdict.Findings = append(verdict.Findings, ch)
				}
			}
			return err
		})
		var se *store.Error
		switch {
		case errors.As(err, &se) && se.Kind != store.KindInternal && se.Kind != store.KindUnauthorized:
			verdict.Error = se.Message
		case err != nil:
			return err
		}
		verdict.OK = verdict.Error == "" && len(verdict.Findings) == 0
		d.Verdicts = append(d.Verdicts, verdict)
	}
	v := rc.view
	v.Title, v.Nav, v.Data = "Evidence", "evidence", d
	c.render(w, r, http.StatusOK, "evidence", v)
	return nil
}

// evidencePackage: the same package as GET /v1/evidence (internal/evidence).
func (c *Console) evidencePackage(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	p, err := parsePeriod(r)
	if err != nil {
		return err
	}
	if c.cfg.EvidenceKey == nil {
		return &badInput{"The operator has not given authlog-api a signing key (-evidence-key): no package can be made."}
	}
	contents := evidence.Contents{Since: p.Since, Until: p.Until}
	err = c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		contents.TenantID, contents.Subject = tx.ID.TenantID, tx.ID.Subject
		return evidence.Collect(ctx, tx, &contents, c.cfg.MaxEvents)
	})
	var tooMany *evidence.TooManyEvents
	if errors.As(err, &tooMany) {
		return &badInput{tooMany.Error() + "."}
	}
	if err != nil {
		return err
	}
	contents.GeneratedAt = time.Now().UTC()
	var buf bytes.Buffer
	if _, err := evidence.Write(&buf, contents, c.cfg.EvidenceKey); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+evidence.FileName(contents.TenantID, p.Since, p.Until)+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
	return nil
}

type operationsData struct {
	Mirror *store.MirrorFigures
	Sealer *store.SealerFigures
}

// operations: for operator tokens, the platform's pipeline in figures
// only (mirror lag, retained WAL, sealer lag, refused documents, seal
// health): never a tenant's name or document.
func (c *Console) operations(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	var operator bool
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		operator = tx.ID.HasRole("operator")
		return nil
	}); err != nil {
		return err
	}
	v := rc.view
	v.Title, v.Nav = "Operations", "operations"
	if !operator || c.cfg.Figures == nil {
		v.Error = "The operations page is for operator tokens (role operator), with authlog-api reading the platform's figures (-monitor)."
		c.render(w, r, http.StatusForbidden, "error", v)
		return nil
	}
	f, err := c.cfg.Figures(r.Context())
	if err != nil {
		return err
	}
	v.Data = operationsData{Mirror: f.Mirror, Sealer: f.Sealer}
	c.render(w, r, http.StatusOK, "operations", v)
	return nil
}
