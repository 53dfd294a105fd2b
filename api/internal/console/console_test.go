package console

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestSafeReturn(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/console/accounts/cfo?range=1h", "/console/accounts/cfo?range=1h"},
		{"/console/events?user=a%2Cb", "/console/events?user=a%2Cb"},
		{"", "/console/incident"},
		{"https://evil.example/console/", "/console/incident"},
		{"//evil.example/console/", "/console/incident"},
		{"/\\evil.example/console/", "/console/incident"},
		{"/v1/events", "/console/incident"},
		{"javascript:alert(1)", "/console/incident"},
	} {
		if got := safeReturn(tc.in); got != tc.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    time.Duration
		wantErr bool
	}{
		{"", 24 * time.Hour, false},
		{"range=15m", 15 * time.Minute, false},
		{"range=30d", 30 * 24 * time.Hour, false},
		{"range=custom&since=2026-12-01T10:00&until=2026-12-01T11:30", 90 * time.Minute, false},
		{"since=2026-12-01T10:00:00Z&until=2026-12-02T10:00:00Z", 24 * time.Hour, false},
		{"range=2h", 0, true},
		{"range=custom&since=2026-12-01T10:00", 0, true},
		{"range=custom&since=2026-12-02T10:00&until=2026-12-01T10:00", 0, true},
		{"range=custom&since=2020-01-01T00:00&until=2026-01-01T00:00", 0, true},
		{"range=custom&since=yesterday&until=2026-01-01T00:00", 0, true},
	} {
		r := &http.Request{URL: &url.URL{RawQuery: tc.query}}
		p, err := parsePeriod(r)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: error %v, want error %v", tc.query, err, tc.wantErr)
			continue
		}
		if err == nil && p.Until.Sub(p.Since) != tc.want {
			t.Errorf("%q: %s, want %s", tc.query, p.Until.Sub(p.Since), tc.want)
		}
	}
}

func TestPositionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"9:00000000-0000-4000-8000-000000000001", "10:00000000-0000-4000-8000-000000000000", true},
		{"10:00000000-0000-4000-8000-000000000000", "9:ffffffff-0000-4000-8000-000000000000", false},
		{"10:00000000-0000-4000-8000-00000000000a", "10:00000000-0000-4000-8000-00000000000b", true},
		{"10:00000000-0000-4000-8000-00000000000b", "10:00000000-0000-4000-8000-00000000000b", false},
	} {
		if got := positionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("positionLess(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestNetworkParam(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr bool
	}{{"", false}, {"203.0.113.7", false}, {"203.0.113.0/24", false}, {"2001:db8::/64", false},
		{"203.0.113.0/33", true}, {"example.org", true}, {"'; DROP", true}} {
		if _, err := networkParam(tc.in); (err != nil) != tc.wantErr {
			t.Errorf("networkParam(%q): %v", tc.in, err)
		}
	}
}

// The chart counts each event type in its bucket, picks a bucket size that
// keeps a period to maxBuckets, and links each bar to its bucket's events.
func TestBuildChart(t *testing.T) {
	since := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	p := period{Range: "1h", Since: since, Until: since.Add(time.Hour)}
	at := func(m int) time.Time { return since.Add(time.Duration(m) * time.Minute) }
	ch := buildChart([]timelineEntry{
		{OccurredAt: at(1), EventType: "login_failed"}, {OccurredAt: at(1), EventType: "login_failed"},
		{OccurredAt: at(1), EventType: "account_locked"}, {OccurredAt: at(30), EventType: "login_success"},
		{OccurredAt: at(90), EventType: "login_failed"}, // outside: not counted
	}, p)
	if ch.Step != time.Minute || len(ch.Buckets) != 61 || ch.Max != 2 {
		t.Fatalf("step %s, %d buckets, max %d", ch.Step, len(ch.Buckets), ch.Max)
	}
	if b := ch.Buckets[1]; b.Failures != 2 || b.Lockouts != 1 || b.Successes != 0 {
		t.Errorf("bucket 1: %+v", b)
	}
	if len(ch.Bars) != 3 || ch.Bars[0].Href != "/console/events?range=custom&since=2026-12-06T10%3A01%3A00Z&type=login_failed&until=2026-12-06T10%3A02%3A00Z" {
		t.Errorf("bars: %+v", ch.Bars)
	}
	week := buildChart(nil, period{Since: since, Until: since.Add(7 * 24 * time.Hour)})
	if week.Step != 6*time.Hour || len(week.Buckets) > maxBuckets+1 {
		t.Errorf("a week: step %s, %d buckets", week.Step, len(week.Buckets))
	}
}
