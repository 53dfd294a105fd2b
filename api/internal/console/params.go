package console

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// period is the viewer's choice of time: a preset (the last quarter hour,
// hour, day, week, month) or a from/until pair in UTC; the default is the
// page's (the incident page's is the last hour).
type period struct {
	Range        string // "1h", "6h", "24h", "7d", "30d" or "custom"
	Since, Until time.Time
}

var ranges = map[string]time.Duration{"15m": 15 * time.Minute, "1h": time.Hour, "6h": 6 * time.Hour, "24h": 24 * time.Hour,
	"7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// RangeChoices are the presets, in the order the form lists them.
var RangeChoices = []string{"15m", "1h", "6h", "24h", "7d", "30d"}

const formTime = "2006-01-02T15:04"

func parsePeriod(r *http.Request) (period, error) { return parsePeriodOr(r, "24h") }

func parsePeriodOr(r *http.Request, def string) (period, error) {
	q := r.URL.Query()
	now := time.Now().UTC()
	p := period{Range: q.Get("range")}
	if p.Range == "" && (q.Get("since") != "" || q.Get("until") != "") {
		p.Range = "custom"
	}
	if p.Range == "" {
		p.Range = def
	}
	if d, ok := ranges[p.Range]; ok {
		p.Since, p.Until = now.Add(-d), now
		return p, nil
	}
	if p.Range != "custom" {
		return p, &badInput{"The period " + strconv.Quote(p.Range) + " is none of " + strings.Join(RangeChoices, ", ") + " or custom."}
	}
	var err error
	if p.Since, err = parseFormTime(q.Get("since")); err != nil {
		return p, &badInput{"From: " + err.Error()}
	}
	if p.Until, err = parseFormTime(q.Get("until")); err != nil {
		return p, &badInput{"Until: " + err.Error()}
	}
	if !p.Since.Before(p.Until) {
		return p, &badInput{"The period must end after it begins."}
	}
	if p.Until.Sub(p.Since) > 366*24*time.Hour {
		return p, &badInput{"The period is at most a year; the evidence package covers longer ones in parts."}
	}
	return p, nil
}

// parseFormTime takes a datetime-local value (UTC, as the form says) or RFC 3339.
func parseFormTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, &badInput{"a time is required (YYYY-MM-DDTHH:MM, UTC)"}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{formTime, formTime + ":05"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &badInput{strconv.Quote(s) + " is not a time (YYYY-MM-DDTHH:MM, UTC)"}
}

// Query is the period as query parameters, for links that keep it.
func (p period) Query() string {
	if p.Range != "custom" {
		return "range=" + p.Range
	}
	return "range=custom&since=" + p.Since.Format(time.RFC3339) + "&until=" + p.Until.Format(time.RFC3339)
}

// FormSince and FormUntil fill the custom fields.
func (p period) FormSince() string { return p.Since.Format(formTime) }
func (p period) FormUntil() string { return p.Until.Format(formTime) }

// networkParam is an address or a CIDR, or "" for none.
func networkParam(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return s, nil
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return s, nil
	}
	return "", &badInput{strconv.Quote(s) + " is neither an IP address nor a network (CIDR)."}
}

// idParam is a user or organisation id as typed: trimmed, at most 256 characters.
func idParam(s, what string) (string, error) {
	s = strings.TrimSpace(s)
	if len([]rune(s)) > 256 {
		return "", &badInput{what + " is longer than 256 characters."}
	}
	return s, nil
}
