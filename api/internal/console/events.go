package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"authlog/api/internal/evidence"
	"authlog/api/internal/store"
)

var eventTypes = []string{"login_failed", "account_locked", "login_success", "lockout_reset", "account_moved"}

// eventFilter is the events page's filters, from its query.
type eventFilter struct {
	Period       period
	Ranges       []string
	User         string   // as typed: one user id, or several separated by commas
	Users        []string // the ids, at most maxUsers
	Network      string
	Organisation string
	Types        []string
	After        string
	AllTypes     []string
}

func parseEventFilter(r *http.Request) (eventFilter, error) {
	q := r.URL.Query()
	f := eventFilter{Ranges: RangeChoices, AllTypes: eventTypes, After: q.Get("after")}
	var err error
	if f.Period, err = parsePeriod(r); err != nil {
		return f, err
	}
	f.User = strings.TrimSpace(q.Get("user"))
	for _, u := range strings.Split(f.User, ",") {
		if u, err = idParam(u, "A user id"); err != nil {
			return f, err
		}
		if u != "" {
			f.Users = append(f.Users, u)
		}
	}
	if len(f.Users) > maxUsers {
		return f, &badInput{fmt.Sprintf("At most %d users at once.", maxUsers)}
	}
	if f.Organisation, err = idParam(q.Get("organisation"), "The organisation"); err != nil {
		return f, err
	}
	if f.Network, err = networkParam(q.Get("ip")); err != nil {
		return f, err
	}
	for _, t := range q["type"] {
		known := false
		for _, k := range eventTypes {
			known = known || t == k
		}
		if !known {
			return f, &badInput{fmt.Sprintf("%q is not an event type (%s).", t, strings.Join(eventTypes, ", "))}
		}
		f.Types = append(f.Types, t)
	}
	return f, nil
}

const maxUsers = 10

// queries are poll_events' calls for the filter: one per user (poll_events
// takes one), or one for every user.
func (f eventFilter) queries(limit int) []store.EventQuery {
	since, until := f.Period.Since, f.Period.Until
	q := store.EventQuery{After: f.After, Limit: limit, Network: f.Network, Types: f.Types,
		Organisation: f.Organisation, Since: &since, Until: &until}
	if len(f.Users) == 0 {
		return []store.EventQuery{q}
	}
	out := make([]store.EventQuery, len(f.Users))
	for i, u := range f.Users {
		out[i] = q
		out[i].UserID = u
	}
	return out
}

// positionLess orders poll_events' positions ("xact:log_id") as it does:
// by transaction id, then log id (lower-case hex compares as bytes).
func positionLess(a, b string) bool {
	ax, al, _ := strings.Cut(a, ":")
	bx, bl, _ := strings.Cut(b, ":")
	if len(ax) != len(bx) {
		return len(ax) < len(bx)
	}
	if ax != bx {
		return ax < bx
	}
	return al < bl
}

// poll reads the next events of every query after after, merged in commit
// order, at most limit; full says a query filled its page (more may follow).
func poll(ctx context.Context, tx *store.Tx, qs []store.EventQuery, after string, limit int) (events []store.Event, full bool, err error) {
	seen := map[string]bool{}
	for _, q := range qs {
		q.After, q.Limit = after, limit
		page, err := tx.PollEvents(ctx, q)
		if err != nil {
			return nil, false, err
		}
		full = full || len(page) == limit
		for _, e := range page {
			// two spellings of one account (the tenant's matching rule) are one user
			if !seen[e.LogID] {
				seen[e.LogID] = true
				events = append(events, e)
			}
		}
	}
	sort.Slice(events, func(i, j int) bool { return positionLess(events[i].Position, events[j].Position) })
	if len(events) > limit {
		events, full = events[:limit], true
	}
	return events, full, nil
}

// Query is the filters as query parameters (without the page position).
func (f eventFilter) Query() string {
	q, _ := url.ParseQuery(f.Period.Query())
	for name, v := range map[string]string{"user": f.User, "ip": f.Network, "organisation": f.Organisation} {
		if v != "" {
			q.Set(name, v)
		}
	}
	for _, t := range f.Types {
		q.Add("type", t)
	}
	return q.Encode()
}

// HasType says whether the filter selects an event type (for the form).
func (f eventFilter) HasType(t string) bool {
	for _, x := range f.Types {
		if x == t {
			return true
		}
	}
	return false
}

type eventsData struct {
	Filter eventFilter
	Events []store.Event
	Next   string // the position after this page ("" at the end)
}

const eventsPage = 100

// events: the filtered events in commit order, a page at a time.
func (c *Console) events(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	f, err := parseEventFilter(r)
	if err != nil {
		return err
	}
	d := eventsData{Filter: f}
	var full bool
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		var err error
		d.Events, full, err = poll(ctx, tx, f.queries(eventsPage), f.After, eventsPage)
		return err
	}); err != nil {
		return err
	}
	if full && len(d.Events) > 0 {
		d.Next = d.Events[len(d.Events)-1].Position
	}
	v := rc.view
	v.Title, v.Nav, v.Data = "Events", "events", d
	c.render(w, r, http.StatusOK, "events", v)
	return nil
}

// The export's columns: poll_events' row, in its order.
var exportColumns = []string{"log_id", "occurred_at", "recorded_at", "event_type", "organisation_id", "user_id",
	"ip_address", "user_agent", "auth_path", "decision", "reason", "actor", "failed_login_attempts",
	"account_locked_until", "metadata", "position"}

// export: exactly what the filters select, every page of it, as CSV (with
// ',' or ';') or NDJSON; refused whole beyond MaxEvents, never cut short.
func (c *Console) export(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	f, err := parseEventFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	sep := ','
	switch format {
	case "csv":
	case "csv-semicolon":
		sep = ';'
	case "ndjson":
	default:
		return &badInput{"The export format is csv, csv-semicolon or ndjson."}
	}
	f.After = ""
	var all []store.Event
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		after := ""
		for {
			page, full, err := poll(ctx, tx, f.queries(1000), after, 1000)
			if err != nil {
				return err
			}
			all = append(all, page...)
			if len(all) > c.cfg.MaxEvents {
				return &badInput{fmt.Sprintf("The filters select more than %d events, the most one export holds; narrow them.", c.cfg.MaxEvents)}
			}
			if !full || len(page) == 0 {
				return nil
			}
			after = page[len(page)-1].Position
		}
	}); err != nil {
		return err
	}
	name := "authlog-events-" + time.Now().UTC().Format("20060102T150405Z")
	if format == "ndjson" {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.ndjson"`)
		enc := json.NewEncoder(w)
		for _, e := range all {
			if err := enc.Encode(e); err != nil {
				return nil // the client went away
			}
		}
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Comma = sep
	_ = cw.Write(exportColumns)
	for _, e := range all {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		var cols map[string]json.RawMessage
		if err := json.Unmarshal(b, &cols); err != nil {
			return err
		}
		record := make([]string, len(exportColumns))
		for i, col := range exportColumns {
			record[i] = evidence.CSVValue(cols[col])
		}
		_ = cw.Write(record)
	}
	cw.Flush()
	return nil
}

// tail: server-sent events of new events matching the filters, fed by the
// poll (poll_events after the last position, every two seconds), each poll
// one request acting for the session's token, so an expired session ends
// the stream.  It starts after the newest event at the time it opens.
func (c *Console) tail(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	f, err := parseEventFilter(r)
	if err != nil {
		return err
	}
	// a stream outlives the server's write timeout: each write extends it
	stream := http.NewResponseController(w)
	flush := func() bool {
		return stream.SetWriteDeadline(time.Now().Add(30*time.Second)) == nil && stream.Flush() == nil
	}
	f.Period = period{Range: "custom", Since: time.Now().UTC().Add(-time.Minute), Until: time.Now().UTC().Add(100 * 365 * 24 * time.Hour)}
	// the start: the newest position now
	if err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
		for {
			page, full, err := poll(ctx, tx, f.queries(10000), f.After, 10000)
			if err != nil {
				return err
			}
			if len(page) > 0 {
				f.After = page[len(page)-1].Position
			}
			if !full {
				return nil
			}
		}
	}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if !flush() {
		return fmt.Errorf("console: the response cannot stream")
	}
	_, _ = fmt.Fprint(w, ": tail open\n\n")
	if !flush() {
		return nil
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
		}
		var page []store.Event
		err := c.request(r, rc, func(ctx context.Context, tx *store.Tx) error {
			var err error
			page, _, err = poll(ctx, tx, f.queries(500), f.After, 500)
			return err
		})
		if err != nil {
			_, _ = fmt.Fprint(w, "event: end\ndata: the session ended or the database refused; reload the page\n\n")
			flush()
			return nil
		}
		for _, e := range page {
			b, _ := json.Marshal(e)
			_, _ = fmt.Fprintf(w, "id: %s\ndata: %s\n\n", e.Position, b)
			f.After = e.Position
		}
		_, _ = fmt.Fprint(w, ": poll\n\n")
		if !flush() {
			return nil
		}
	}
}
