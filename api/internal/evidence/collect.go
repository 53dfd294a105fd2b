package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Reader is what Collect needs of a request's transaction (store.Tx): one
// of authlog's reader functions, its rows as PostgreSQL encodes them.
type Reader interface {
	Rows(ctx context.Context, fn string, args ...any) ([]json.RawMessage, error)
}

// TooManyEvents refuses a package larger than the operator allows.
type TooManyEvents struct{ Events, Max int }

func (e *TooManyEvents) Error() string {
	return fmt.Sprintf("%d events, more than the %d one package may hold; split the period", e.Events, e.Max)
}

// Collect reads a period's events and compliance report in the request's
// transaction, so both are of the same snapshot; c names the tenant and
// period and receives them.
func Collect(ctx context.Context, rd Reader, c *Contents, maxEvents int) error {
	var err error
	if c.Events, err = rd.Rows(ctx, "authlog.export_events", c.TenantID, c.Since, c.Until); err != nil {
		return err
	}
	if len(c.Events) > maxEvents {
		return &TooManyEvents{Events: len(c.Events), Max: maxEvents}
	}
	c.Compliance, err = rd.Rows(ctx, "authlog.compliance_report", c.TenantID, c.Since, c.Until)
	return err
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// FileName is the package's download name: tenant and period.
func FileName(tenantID string, since, until time.Time) string {
	return fmt.Sprintf("authlog-evidence-%s-%s-%s.tar.gz", unsafeFileChars.ReplaceAllString(tenantID, "_"),
		since.UTC().Format("20060102T150405Z"), until.UTC().Format("20060102T150405Z"))
}
