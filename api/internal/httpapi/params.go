package httpapi

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"authlog/api/internal/problem"
)

// params reads a query string, collecting the first problem; handlers read
// every parameter, then check p.err once.
type params struct {
	q   url.Values
	err *problem.Problem
}

func newParams(u *url.URL, known ...string) *params {
	p := &params{q: u.Query()}
	allowed := map[string]bool{}
	for _, k := range known {
		allowed[k] = true
	}
	for k := range p.q {
		if !allowed[k] {
			p.fail("unknown parameter %q; this endpoint takes: %s", k, strings.Join(known, ", "))
			break
		}
	}
	return p
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = problem.BadRequest(fmt.Sprintf(format, args...))
	}
}

func (p *params) single(name string) (string, bool) {
	v, ok := p.q[name]
	if !ok {
		return "", false
	}
	if len(v) != 1 {
		p.fail("%s is given %d times; give it once", name, len(v))
		return "", false
	}
	return v[0], true
}

// text is an optional string parameter, not empty when given.
func (p *params) text(name string) string {
	v, ok := p.single(name)
	if ok && v == "" {
		p.fail("%s is empty; leave it out or give a value", name)
	}
	return v
}

func (p *params) requiredText(name string) string {
	v, ok := p.single(name)
	if !ok || v == "" {
		p.fail("%s is required", name)
	}
	return v
}

// time reads an RFC 3339 timestamp.
func (p *params) time(name string, required bool) *time.Time {
	v, ok := p.single(name)
	if !ok {
		if required {
			p.fail("%s is required (RFC 3339, e.g. 2026-12-06T10:00:00Z)", name)
		}
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.fail("%s %q is not an RFC 3339 timestamp (e.g. 2026-12-06T10:00:00Z)", name, v)
		return nil
	}
	return &t
}

func (p *params) period(required bool) (since, until *time.Time) {
	since, until = p.time("since", required), p.time("until", required)
	if since != nil && until != nil && since.After(*until) {
		p.fail("since must not be after until")
	}
	return since, until
}

func (p *params) integer(name string, def, lo, hi int) int {
	v, ok := p.single(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail("%s must be an integer from %d to %d, not %q", name, lo, hi, v)
		return def
	}
	return n
}

// network reads an address or a CIDR (an address is its own /32 or /128).
func (p *params) network(name string) string {
	v, ok := p.single(name)
	if !ok {
		return ""
	}
	if pfx, err := netip.ParsePrefix(v); err == nil {
		return pfx.Masked().String()
	}
	if addr, err := netip.ParseAddr(v); err == nil {
		return addr.String()
	}
	p.fail("%s %q is not an IP address or a CIDR network", name, v)
	return ""
}

// address reads one IP address.
func (p *params) address(name string) string {
	v, ok := p.single(name)
	if !ok {
		return ""
	}
	addr, err := netip.ParseAddr(v)
	if err != nil {
		p.fail("%s %q is not an IP address", name, v)
		return ""
	}
	return addr.String()
}

// list reads a parameter given several times or comma-separated.
func (p *params) list(name string) []string {
	var out []string
	for _, v := range p.q[name] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// duration reads an ISO 8601 duration (PT1H) or a Go one (1h30m) as a
// PostgreSQL interval literal.
func (p *params) duration(name string) *string {
	v, ok := p.single(name)
	if !ok {
		return nil
	}
	if strings.HasPrefix(v, "P") {
		return &v // PostgreSQL reads ISO 8601 durations; a bad one is its 22007
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > 100*365*24*time.Hour {
		p.fail("%s %q is not a duration (PT1H or 1h)", name, v)
		return nil
	}
	s := fmt.Sprintf("%d milliseconds", d.Milliseconds())
	return &s
}
