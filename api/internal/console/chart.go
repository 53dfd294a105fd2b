package console

import (
	"fmt"
	"net/url"
	"time"
)

// The incident timeline, drawn on the server as SVG: per bucket (a minute,
// or wider so that a long period has at most maxBuckets), the failures,
// lockouts and successes of incident_timeline's rows, each bar a link to
// the events behind it.  The same numbers are in a table beside it for
// screen readers and for copying.

const (
	maxBuckets  = 120
	chartWidth  = 960
	chartHeight = 240
	chartTop    = 10
	chartBottom = 30 // room for the time axis
)

type chartBucket struct {
	Start, End                    time.Time
	Failures, Lockouts, Successes int
}

type chartBar struct {
	Class, Label, Href string
	X, Y, W, H         float64
}

type chartTick struct {
	X       float64
	At      time.Time
	Text    string
	Seconds bool // the ticks are seconds apart: show them
}

type chart struct {
	Step    time.Duration
	Buckets []chartBucket
	Bars    []chartBar
	Ticks   []chartTick
	Max     int
	Width   int
	Height  int
	AxisY   float64
}

var chartSteps = []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour,
	6 * time.Hour, 24 * time.Hour}

func buildChart(entries []timelineEntry, p period) chart {
	step := chartSteps[len(chartSteps)-1]
	for _, s := range chartSteps {
		if p.Until.Sub(p.Since)/s <= maxBuckets {
			step = s
			break
		}
	}
	start := p.Since.Truncate(step)
	n := int(p.Until.Sub(start)/step) + 1
	if n > maxBuckets+1 {
		n = maxBuckets + 1
	}
	ch := chart{Step: step, Buckets: make([]chartBucket, n), Width: chartWidth, Height: chartHeight,
		AxisY: chartHeight - chartBottom}
	for i := range ch.Buckets {
		ch.Buckets[i].Start = start.Add(time.Duration(i) * step)
		ch.Buckets[i].End = ch.Buckets[i].Start.Add(step)
	}
	for _, e := range entries {
		i := int(e.OccurredAt.Sub(start) / step)
		if i < 0 || i >= n {
			continue
		}
		b := &ch.Buckets[i]
		switch e.EventType {
		case "login_failed":
			b.Failures++
		case "account_locked":
			b.Lockouts++
		case "login_success":
			b.Successes++
		}
	}
	for _, b := range ch.Buckets {
		ch.Max = max(ch.Max, b.Failures, b.Lockouts, b.Successes)
	}
	slot := float64(chartWidth) / float64(n)
	barW := slot / 3.5
	plot := float64(chartHeight - chartTop - chartBottom)
	for i, b := range ch.Buckets {
		for j, s := range []struct {
			class, kind, eventType string
			n                      int
		}{{"failures", "failures", "login_failed", b.Failures}, {"lockouts", "lockouts", "account_locked", b.Lockouts},
			{"successes", "successes", "login_success", b.Successes}} {
			if s.n == 0 {
				continue
			}
			h := plot * float64(s.n) / float64(ch.Max)
			q := url.Values{"type": {s.eventType}, "range": {"custom"},
				"since": {b.Start.Format(time.RFC3339)}, "until": {b.End.Format(time.RFC3339)}}
			ch.Bars = append(ch.Bars, chartBar{Class: s.class,
				Label: fmt.Sprintf("%d %s from %s UTC", s.n, s.kind, b.Start.Format("2006-01-02 15:04")),
				Href:  "/console/events?" + q.Encode(),
				X:     float64(i)*slot + float64(j)*barW + slot*0.1, Y: chartHeight - chartBottom - h, W: barW, H: h})
		}
	}
	every := max(1, n/8)
	for i := 0; i < n; i += every {
		at := ch.Buckets[i].Start
		text := at.Format("15:04")
		if step < time.Minute {
			text = at.Format("15:04:05")
		}
		if step >= 6*time.Hour {
			text = at.Format("Jan 2")
		}
		ch.Ticks = append(ch.Ticks, chartTick{X: float64(i) * slot, At: at, Text: text, Seconds: step < time.Minute})
	}
	return ch
}
