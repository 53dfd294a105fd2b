package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"
)

// templateFuncs are the pages' helpers.  Times are written in UTC inside
// <time datetime=…> with "UTC" on hover; console.js shows them in the
// viewer's zone (without it they read as UTC, and say so).
var templateFuncs = template.FuncMap{
	"when": func(v any) template.HTML {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x == nil {
				return ""
			}
			t = *x
		default:
			return ""
		}
		utc := t.UTC()
		return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s UTC">%s UTC</time>`,
			utc.Format(time.RFC3339Nano), utc.Format("2006-01-02 15:04:05"), utc.Format("2006-01-02 15:04:05")))
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"str": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"int": func(p *int) string {
		if p == nil {
			return ""
		}
		return fmt.Sprint(*p)
	},
	"deref":   func(p *bool) bool { return p != nil && *p },
	"deref64": func(p *int64) int64 { return *p },
	"join":    strings.Join,
	"path":    url.PathEscape,
	"q":       url.QueryEscape,
	"f1":      func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"bytes":   humanBytes,
	"duration": func(d time.Duration) string {
		switch {
		case d >= 24*time.Hour:
			return fmt.Sprintf("%d days", d/(24*time.Hour))
		case d >= time.Hour:
			return fmt.Sprintf("%d h", d/time.Hour)
		case d >= time.Minute:
			return fmt.Sprintf("%d min", d/time.Minute)
		}
		return fmt.Sprintf("%d s", d/time.Second)
	},
	"seconds": func(s float64) string {
		return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
	},
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
