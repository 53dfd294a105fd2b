package ocsf

import (
	"encoding/json"
	"testing"
	"time"

	"authlog/api/internal/store"
)

func TestFromEvent(t *testing.T) {
	str := func(s string) *string { return &s }
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name                                string
		event                               store.Event
		activity, status, severity, typeUID int
		detail                              string
	}{
		{"a success", store.Event{EventType: "login_success", Decision: str("allowed")}, 1, 1, 1, 300201, "allowed"},
		{"a failure", store.Event{EventType: "login_failed", Decision: str("failed")}, 1, 2, 2, 300201, "failed"},
		{"a refusal of a locked account", store.Event{EventType: "login_failed", Decision: str("locked"), Reason: str("locked")}, 1, 2, 2, 300201, "locked: locked"},
		{"a lockout", store.Event{EventType: "account_locked", Reason: str("threshold")}, 99, 99, 3, 300299, "threshold"},
		{"a help-desk reset", store.Event{EventType: "lockout_reset", Reason: str("admin"), Actor: str("jane")}, 99, 99, 1, 300299, "admin"},
		{"an account moved", store.Event{EventType: "account_moved"}, 99, 99, 1, 300299, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.event
			e.LogID, e.UserID, e.OrganisationID, e.OccurredAt, e.RecordedAt = "01a24b03-9db5-78da-a0a6-a6d95eaec56b", "fred", "finance", at, at
			e.IPAddress = str("192.0.2.1")
			a := FromEvent("acme", "1.1", e)
			if a.ClassUID != 3002 || a.CategoryUID != 3 || a.ActivityID != tt.activity || a.StatusID != tt.status ||
				a.SeverityID != tt.severity || a.TypeUID != tt.typeUID || a.StatusDetail != tt.detail {
				t.Fatalf("%+v", a)
			}
			if a.Time != at.UnixMilli() || a.Metadata.UID != e.LogID || a.Metadata.TenantUID != "acme" ||
				a.User.Name != "fred" || a.User.Org.UID != "finance" || a.SrcEndpoint.IP != "192.0.2.1" {
				t.Fatalf("%+v", a)
			}
			if (e.Actor != nil) != (a.Actor != nil) {
				t.Fatalf("actor: %+v", a.Actor)
			}
			if _, err := json.Marshal(a); err != nil {
				t.Fatal(err)
			}
		})
	}
}
