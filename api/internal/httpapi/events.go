package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"authlog/api/internal/ocsf"
	"authlog/api/internal/problem"
	"authlog/api/internal/store"
)

var eventFormats = map[string]string{
	"json":        "application/json",
	"ndjson":      "application/x-ndjson",
	"ocsf":        "application/json",
	"ocsf-ndjson": "application/x-ndjson",
}

// eventsPage is the JSON answer of GET /v1/events.
type eventsPage struct {
	TenantID string `json:"tenant_id"`
	Events   any    `json:"events"`
	// the next page (also in Link: rel="next"); absent at the end of a
	// bounded period; always there when polling (no until)
	Next string `json:"next,omitempty"`
	// what proves each event against the seals, for a tenant-wide scope
	SealProofs            []json.RawMessage `json:"seal_proofs,omitempty"`
	SealProofsUnavailable string            `json:"seal_proofs_unavailable,omitempty"`
}

// events is GET /v1/events: authlog.poll_events, in commit order after the
// cursor.  Without until it is a poll: follow next forever, and every event
// of the scope arrives exactly once, a late commit included.
func (s *Server) events(w http.ResponseWriter, r *http.Request, c *call) {
	p := newParams(r.URL, "after", "limit", "user", "ip", "type", "organisation", "since", "until", "format")
	q := store.EventQuery{
		After:        p.text("after"),
		Limit:        p.integer("limit", 100, 1, s.cfg.MaxPage),
		UserID:       p.text("user"),
		Network:      p.network("ip"),
		Types:        p.list("type"),
		Organisation: p.text("organisation"),
	}
	q.Since, q.Until = p.period(false)
	format := p.text("format")
	if format == "" {
		format = "json"
	}
	if _, ok := eventFormats[format]; !ok && p.err == nil {
		p.fail("format must be json, ndjson, ocsf or ocsf-ndjson, not %q", format)
	}
	if p.err != nil {
		p.err.Write(w, r)
		return
	}

	var page eventsPage
	var events []store.Event
	err := s.store.Request(r.Context(), c.token, c.requestID, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if events, err = tx.PollEvents(ctx, q); err != nil {
			return err
		}
		page.TenantID = tx.ID.TenantID
		if format == "json" && len(events) > 0 {
			ids := make([]string, len(events))
			for i, e := range events {
				ids[i] = e.LogID
			}
			page.SealProofs, page.SealProofsUnavailable, err = tx.SealProofs(ctx, ids)
		}
		return err
	})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}

	// a bounded period ends with a short page; a poll never ends
	if q.Until == nil || len(events) == q.Limit {
		after := q.After
		if len(events) > 0 {
			after = events[len(events)-1].Position
		}
		next := *r.URL
		values := next.Query()
		if after != "" {
			values.Set("after", after)
		}
		next.RawQuery = values.Encode()
		page.Next = (&url.URL{Path: next.Path, RawQuery: next.RawQuery}).String()
		w.Header().Set("Link", "<"+page.Next+`>; rel="next"`)
	}

	w.Header().Set("Content-Type", eventFormats[format])
	switch format {
	case "json":
		page.Events = events
		writeJSON(w, http.StatusOK, page)
	case "ocsf":
		page.Events = s.ocsfEvents(page.TenantID, events)
		writeJSON(w, http.StatusOK, page)
	case "ndjson", "ocsf-ndjson":
		enc := json.NewEncoder(w)
		w.WriteHeader(http.StatusOK)
		for _, e := range events {
			var v any = e
			if format == "ocsf-ndjson" {
				v = ocsf.FromEvent(page.TenantID, s.cfg.Version, e)
			}
			if err := enc.Encode(v); err != nil {
				s.log.Warn("ndjson write failed", "request_id", c.requestID, "error", err)
				return
			}
		}
	default:
		problem.Internal(c.requestID).Write(w, r)
	}
}

func (s *Server) ocsfEvents(tenant string, events []store.Event) []ocsf.Authentication {
	out := make([]ocsf.Authentication, len(events))
	for i, e := range events {
		out[i] = ocsf.FromEvent(tenant, s.cfg.Version, e)
	}
	return out
}
