package httpapi

import (
	"context"
	"net/http"
	"testing"
)

// A records manager at the API: retention and legal holds of the token's
// whole tenant, each change a record with the token's subject as its actor;
// auditors read them; nobody else, and no other tenant, touches them.
func TestRecords(t *testing.T) {
	e := testEnv
	// (organisations nil: the whole tenant)
	manager := e.token(t, map[string]any{"tenant": "records", "organisations": nil, "sub": "rita@records",
		"roles": []string{"records_manager"}})
	auditor := e.token(t, map[string]any{"tenant": "records", "organisations": nil, "sub": "aud@records",
		"roles": []string{"compliance"}})
	reader := e.token(t, map[string]any{"tenant": "records", "organisations": nil, "roles": []string{"reader"}})
	orgManager := e.token(t, map[string]any{"tenant": "records", "organisations": []string{"org1"},
		"roles": []string{"records_manager"}})
	stranger := e.token(t, map[string]any{"tenant": "other-records", "organisations": nil, "sub": "oscar",
		"roles": []string{"records_manager"}})

	r := e.do(t, "PUT", "/v1/records/retention", manager, `{"keep": "1 year"}`, "Content-Type", "application/json")
	if r.status != http.StatusOK {
		t.Fatalf("set retention: %d %s", r.status, r.body)
	}
	answer := r.json(t)
	rows, _ := answer["rows"].([]any)
	if answer["actor"] != "rita@records" || answer["tenant_id"] != "records" || len(rows) != 1 ||
		rows[0].(map[string]any)["keep"] != "1 year" {
		t.Fatalf("set retention answer: %s", r.body)
	}
	var actor, keep string
	if err := e.admin.QueryRow(context.Background(),
		`SELECT actor, keep FROM authlog.records_log WHERE record_id = $1::uuid`, answer["record_id"]).Scan(&actor, &keep); err != nil {
		t.Fatalf("the retention_set record: %v", err)
	}
	if actor != "rita@records" || keep != "P1Y" {
		t.Fatalf("record actor %q keep %q: want the token's subject and P1Y", actor, keep)
	}
	r = e.do(t, "GET", "/v1/records/retention", auditor, "")
	if r.status != http.StatusOK || r.json(t)["function"] != "authlog.tenant_retention_status" {
		t.Fatalf("an auditor reads the retention: %d %s", r.status, r.body)
	}

	r = e.do(t, "POST", "/v1/records/holds", manager,
		`{"since": "2026-01-01T00:00:00Z", "until": null, "case_ref": "CASE 2026-CV-0142", "user_id": "ann"}`,
		"Content-Type", "application/json")
	if r.status != http.StatusCreated {
		t.Fatalf("place a hold: %d %s", r.status, r.body)
	}
	answer = r.json(t)
	hold, _ := answer["hold_id"].(string)
	holds, _ := answer["holds"].([]any)
	if !uuidPattern.MatchString(hold) || len(holds) != 1 || holds[0].(map[string]any)["placed_by"] != "rita@records" ||
		holds[0].(map[string]any)["case_ref"] != "CASE 2026-CV-0142" {
		t.Fatalf("place a hold answer: %s", r.body)
	}
	r = e.do(t, "GET", "/v1/records/holds", auditor, "")
	if got, _ := r.json(t)["rows"].([]any); r.status != http.StatusOK || len(got) != 1 {
		t.Fatalf("an auditor reads the holds: %d %s", r.status, r.body)
	}

	release := "/v1/records/holds/" + hold + "/release"
	reason := `{"reason": "case closed"}`
	tests := []struct {
		name, method, path, token, body, contentType string
		status                                       int
	}{
		{"a reader reads no retention", "GET", "/v1/records/retention", reader, "", "", http.StatusForbidden},
		{"a reader sets none", "PUT", "/v1/records/retention", reader, `{"keep": "1 day"}`, "application/json", http.StatusForbidden},
		{"an auditor sets none", "PUT", "/v1/records/retention", auditor, `{"keep": "1 day"}`, "application/json", http.StatusForbidden},
		{"a manager of some organisations sets none", "PUT", "/v1/records/retention", orgManager, `{"keep": "1 day"}`, "application/json", http.StatusForbidden},
		{"an auditor places no hold", "POST", "/v1/records/holds", auditor, `{"since": "2026-01-01T00:00:00Z", "case_ref": "x"}`, "application/json", http.StatusForbidden},
		{"an auditor releases none", "POST", release, auditor, reason, "application/json", http.StatusForbidden},
		{"another tenant's manager finds no such hold", "POST", release, stranger, reason, "application/json", http.StatusNotFound},
		{"keep is required", "PUT", "/v1/records/retention", manager, `{}`, "application/json", http.StatusBadRequest},
		{"keep is a string", "PUT", "/v1/records/retention", manager, `{"keep": 5}`, "application/json", http.StatusBadRequest},
		{"keep is an interval", "PUT", "/v1/records/retention", manager, `{"keep": "soon"}`, "application/json", http.StatusBadRequest},
		{"keep is positive", "PUT", "/v1/records/retention", manager, `{"keep": "-1 year"}`, "application/json", http.StatusBadRequest},
		{"JSON only", "PUT", "/v1/records/retention", manager, `keep=1y`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"since is required", "POST", "/v1/records/holds", manager, `{"case_ref": "x"}`, "application/json", http.StatusBadRequest},
		{"case_ref is required", "POST", "/v1/records/holds", manager, `{"since": "2026-01-01T00:00:00Z"}`, "application/json", http.StatusBadRequest},
		{"until after since", "POST", "/v1/records/holds", manager, `{"since": "2026-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z", "case_ref": "x"}`, "application/json", http.StatusBadRequest},
		{"no unknown member", "POST", "/v1/records/holds", manager, `{"since": "2026-01-01T00:00:00Z", "case_ref": "x", "actor": "someone else"}`, "application/json", http.StatusBadRequest},
		{"a release says why", "POST", release, manager, `{"reason": " "}`, "application/json", http.StatusBadRequest},
		{"a hold's id is a UUID", "POST", "/v1/records/holds/42/release", manager, reason, "application/json", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{}
			if tt.contentType != "" {
				headers = append(headers, "Content-Type", tt.contentType)
			}
			isProblem(t, e.do(t, tt.method, tt.path, tt.token, tt.body, headers...), tt.status)
		})
	}

	r = e.do(t, "POST", release, manager, reason, "Content-Type", "application/json")
	if got, _ := r.json(t)["holds"].([]any); r.status != http.StatusOK || len(got) != 0 {
		t.Fatalf("release: %d %s", r.status, r.body)
	}
	if err := e.admin.QueryRow(context.Background(),
		`SELECT actor FROM authlog.records_log WHERE hold_id = $1::uuid AND action = 'hold_released'`, hold).Scan(&actor); err != nil ||
		actor != "rita@records" {
		t.Fatalf("the hold_released record: %q %v", actor, err)
	}
	isProblem(t, e.do(t, "POST", release, manager, reason, "Content-Type", "application/json"), http.StatusNotFound)
	// the changes are nothing but records: nobody's events were read or written
	r = e.do(t, "PUT", "/v1/records/retention", manager, `{"keep": null}`, "Content-Type", "application/json")
	if rows, _ := r.json(t)["rows"].([]any); r.status != http.StatusOK || rows[0].(map[string]any)["keep"] != nil {
		t.Fatalf("back to the default retention: %d %s", r.status, r.body)
	}
}
