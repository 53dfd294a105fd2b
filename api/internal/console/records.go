package console

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"authlog/api/internal/store"
)

// The records page: the tenant's retention and legal holds
// (doc/retention.md).  PostgreSQL decides who may: reading needs
// records_manager or compliance for the whole tenant, a change
// records_manager, and every change is a sealed record with the token's
// subject as its actor.

type recordsData struct {
	Retention []retentionRow
	Holds     []holdRow
	Manager   bool // may change them (records_manager)
}

var holdIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// records shows the retention and the holds in force; after a change the
// redirect names it in done.
func (c *Console) records(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	var d recordsData
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		return readRecords(ctx, tx, &d)
	}); err != nil {
		return err
	}
	v := rc.view
	v.Title, v.Nav, v.Data = "Retention and legal holds", "records", d
	switch r.URL.Query().Get("done") {
	case "retention":
		v.Notice = "Retention set, as a sealed record with you as its actor."
	case "hold":
		v.Notice = "Legal hold placed: nothing it covers is retired while it stands."
	case "release":
		v.Notice = "Legal hold released: what it kept goes at the next retention run if its retention has passed."
	}
	c.render(w, r, http.StatusOK, "records", v)
	return nil
}

func readRecords(ctx context.Context, tx *store.Tx, d *recordsData) error {
	d.Manager = tx.ID.HasRole("records_manager")
	raw, err := tx.Rows(ctx, "authlog.tenant_retention_status", tx.ID.TenantID)
	if err != nil {
		return err
	}
	if d.Retention, err = decodeRows[retentionRow]("tenant_retention_status", raw); err != nil {
		return err
	}
	if raw, err = tx.Rows(ctx, "authlog.tenant_legal_holds", tx.ID.TenantID); err != nil {
		return err
	}
	d.Holds, err = decodeRows[holdRow]("tenant_legal_holds", raw)
	return err
}

// refuseRecords shows the page again with what is missing said; nothing
// was written.
func (c *Console) refuseRecords(w http.ResponseWriter, r *http.Request, rc *requestContext, d recordsData, message string) error {
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		return readRecords(ctx, tx, &d)
	}); err != nil {
		return err
	}
	v := rc.view
	v.Title, v.Nav, v.Data, v.Error = "Retention and legal holds", "records", d, message+" Nothing was changed."
	c.render(w, r, http.StatusUnprocessableEntity, "records", v)
	return nil
}

// setRetention: keep is an interval ("1 year"), or empty for the default.
func (c *Console) setRetention(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	keep := strings.TrimSpace(r.PostFormValue("keep"))
	var arg *string
	if keep != "" {
		arg = &keep
	}
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.SetRetention(ctx, arg)
		return err
	}); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/records?done=retention", http.StatusSeeOther)
	return nil
}

// placeHold: since (required), until, the case, and an organisation or a
// user to narrow it.
func (c *Console) placeHold(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	caseRef := strings.TrimSpace(r.PostFormValue("case_ref"))
	if caseRef == "" || strings.TrimSpace(r.PostFormValue("since")) == "" {
		return c.refuseRecords(w, r, rc, recordsData{},
			"A legal hold needs the case it serves and the start of the period it covers.")
	}
	h := store.Hold{CaseRef: caseRef}
	var err error
	if h.Since, err = parseFormTime(strings.TrimSpace(r.PostFormValue("since"))); err != nil {
		return err
	}
	if until := strings.TrimSpace(r.PostFormValue("until")); until != "" {
		var t time.Time
		if t, err = parseFormTime(until); err != nil {
			return err
		}
		h.Until = &t
	}
	for name, field := range map[string]**string{"organisation": &h.OrganisationID, "user": &h.UserID} {
		value, err := idParam(r.PostFormValue(name), "The "+name)
		if err != nil {
			return err
		}
		if value != "" {
			*field = &value
		}
	}
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.PlaceHold(ctx, h)
		return err
	}); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/records?done=hold", http.StatusSeeOther)
	return nil
}

// releaseHold: one of the tenant's holds, with a reason.
func (c *Console) releaseHold(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	hold := r.PathValue("hold")
	if !holdIDPattern.MatchString(hold) {
		return &badInput{"A hold's id is a UUID."}
	}
	if strings.TrimSpace(r.PostFormValue("reason")) == "" {
		return c.refuseRecords(w, r, rc, recordsData{}, "A release needs its reason (the case closed, the order lifted).")
	}
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		return tx.ReleaseHold(ctx, hold, strings.TrimSpace(r.PostFormValue("reason")))
	}); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/records?done=release#holds-h", http.StatusSeeOther)
	return nil
}
