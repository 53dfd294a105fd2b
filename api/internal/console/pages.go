package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"authlog/api/internal/store"
)

type incidentData struct {
	Period      period
	Ranges      []string
	MinFailures int
	Chart       chart
	Events      int
	Sources     []attackingSource
	Targeted    []targetedAccount
	Compromises []likelyCompromise
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, &badInput{fmt.Sprintf("%s must be a whole number from %d to %d.", name, lo, hi)}
	}
	return n, nil
}

// incident: a period at a glance: the timeline chart, the attacking
// sources, the targeted accounts and the likely compromises, every number a
// link to the events behind it.
func (c *Console) incident(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	p, err := parsePeriodOr(r, "1h")
	if err != nil {
		return err
	}
	minFailures, err := intParam(r, "min_failures", 5, 1, 1_000_000)
	if err != nil {
		return err
	}
	d := incidentData{Period: p, Ranges: RangeChoices, MinFailures: minFailures}
	err = c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		t := tx.ID.TenantID
		raw, err := tx.Rows(ctx, "authlog.incident_timeline", t, p.Since, p.Until, (*string)(nil), (*string)(nil))
		if err != nil {
			return err
		}
		if len(raw) > c.cfg.MaxEvents {
			return &badInput{fmt.Sprintf("The period holds %d events, more than the %d the chart reads; choose a shorter one.",
				len(raw), c.cfg.MaxEvents)}
		}
		entries, err := decodeRows[timelineEntry]("incident_timeline", raw)
		if err != nil {
			return err
		}
		d.Events, d.Chart = len(entries), buildChart(entries, p)
		if raw, err = tx.Rows(ctx, "authlog.attacking_ips", t, p.Since, p.Until, minFailures); err != nil {
			return err
		}
		if d.Sources, err = decodeRows[attackingSource]("attacking_ips", raw); err != nil {
			return err
		}
		if raw, err = tx.Rows(ctx, "authlog.targeted_accounts", t, p.Since, p.Until); err != nil {
			return err
		}
		if d.Targeted, err = decodeRows[targetedAccount]("targeted_accounts", raw); err != nil {
			return err
		}
		if raw, err = tx.Rows(ctx, "authlog.success_after_failures", t, p.Since, p.Until, 3, "1 hour"); err != nil {
			return err
		}
		d.Compromises, err = decodeRows[likelyCompromise]("success_after_failures", raw)
		return err
	})
	if err != nil {
		return err
	}
	v := rc.view
	v.Title, v.Nav, v.Data = "Incident", "incident", d
	c.render(w, r, http.StatusOK, "incident", v)
	return nil
}

// accountSearch takes a user id from the navigation's form.
func (c *Console) accountSearch(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	user, err := idParam(r.URL.Query().Get("user"), "The user id")
	if err != nil {
		return err
	}
	if user == "" {
		return &badInput{"Type a user id to open the account."}
	}
	http.Redirect(w, r, "/console/accounts/"+url.PathEscape(user), http.StatusSeeOther)
	return nil
}

type accountData struct {
	UserID       string
	Organisation string // of its latest event, for the unlock form
	Lockout      []lockoutState
	Trace        []traceEntry
	History      []timelineEntry
	Period       period
	Ranges       []string
	Helpdesk     bool
	Reset        *timelineEntry // the lockout_reset the unlock just wrote
}

// account: one user's history, its lockout state now and lockout_trace
// (why it is locked, since when, until when, from where) and, for the help
// desk, the unlock form.
func (c *Console) account(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	user, err := idParam(r.PathValue("user"), "The user id")
	if err != nil {
		return err
	}
	p, err := parsePeriod(r)
	if err != nil {
		return err
	}
	d := accountData{UserID: user, Period: p, Ranges: RangeChoices}
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		return c.readAccount(ctx, tx, &d, r.URL.Query().Get("reset"))
	}); err != nil {
		return err
	}
	v := rc.view
	v.Title, v.Nav, v.Data = "Account "+user, "account", d
	if d.Reset != nil {
		v.Notice = "Unlocked. The help desk's lockout_reset is recorded below."
	}
	c.render(w, r, http.StatusOK, "account", v)
	return nil
}

func (c *Console) readAccount(ctx context.Context, tx *store.Tx, d *accountData, resetID string) error {
	t := tx.ID.TenantID
	d.Helpdesk = tx.ID.HasRole("helpdesk")
	raw, err := tx.Rows(ctx, "authlog.lockout_status", t, d.UserID)
	if err != nil {
		return err
	}
	if d.Lockout, err = decodeRows[lockoutState]("lockout_status", raw); err != nil {
		return err
	}
	if raw, err = tx.Rows(ctx, "authlog.lockout_trace", t, d.UserID); err != nil {
		return err
	}
	if d.Trace, err = decodeRows[traceEntry]("lockout_trace", raw); err != nil {
		return err
	}
	if raw, err = tx.Rows(ctx, "authlog.incident_timeline", t, d.Period.Since, d.Period.Until, d.UserID, (*string)(nil)); err != nil {
		return err
	}
	if len(raw) > c.cfg.MaxEvents {
		return &badInput{fmt.Sprintf("The account has %d events in the period, more than the %d a page shows; choose a shorter one.",
			len(raw), c.cfg.MaxEvents)}
	}
	if d.History, err = decodeRows[timelineEntry]("incident_timeline", raw); err != nil {
		return err
	}
	for i := len(d.History) - 1; i >= 0; i-- {
		if d.Organisation == "" {
			d.Organisation = d.History[i].OrganisationID
		}
		if resetID != "" && d.History[i].LogID == resetID {
			d.Reset = &d.History[i]
		}
	}
	return nil
}

// unlock: the help desk resets the lockout, with a reason, as the token's
// subject; then the account page shows the lockout_reset it wrote.
func (c *Console) unlock(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	user, err := idParam(r.PathValue("user"), "The user id")
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	organisation, err := idParam(r.PostFormValue("organisation"), "The organisation")
	if err != nil {
		return err
	}
	if reason == "" || organisation == "" {
		// the form again, with what is missing said; nothing was written
		d := accountData{UserID: user, Ranges: RangeChoices}
		if d.Period, err = parsePeriod(r); err != nil {
			return err
		}
		if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
			return c.readAccount(ctx, tx, &d, "")
		}); err != nil {
			return err
		}
		v := rc.view
		v.Title, v.Nav, v.Data = "Account "+user, "account", d
		v.Error = "An unlock needs a reason (the ticket, how the owner was verified); nothing was changed."
		if organisation == "" {
			v.Error = "An unlock needs the account's organisation; nothing was changed."
		}
		c.render(w, r, http.StatusUnprocessableEntity, "account", v)
		return nil
	}
	var logID string
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		var err error
		logID, err = tx.ResetLockout(ctx, organisation, user, reason, nil)
		return err
	}); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/accounts/"+url.PathEscape(user)+"?reset="+url.QueryEscape(logID)+"#reset",
		http.StatusSeeOther)
	return nil
}
