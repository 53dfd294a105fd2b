// Package problem writes RFC 9457 problem documents: every error authlog-api
// answers is one, with a type URI under the API's documentation, the HTTP
// status, a title that names the kind of failure and a detail that names
// this one.
package problem

import (
	"encoding/json"
	"net/http"
)

// TypeBase is where the problem types are documented (doc/api.md).
const TypeBase = "https://authlog.example/problems/"

// Problem is an RFC 9457 problem document.  Extension members travel in
// Extra (e.g. "sqlstate", "hint", "retry_after").
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Extra    map[string]any `json:"-"`
}

// New makes a problem of a kind (the last segment of its type URI).
func New(status int, kind, title, detail string) *Problem {
	return &Problem{Type: TypeBase + kind, Title: title, Status: status, Detail: detail}
}

// With adds an extension member.
func (p *Problem) With(name string, value any) *Problem {
	if p.Extra == nil {
		p.Extra = map[string]any{}
	}
	p.Extra[name] = value
	return p
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// MarshalJSON puts the extension members beside the standard ones.
func (p *Problem) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	for k, v := range p.Extra {
		out[k] = v
	}
	out["type"], out["title"], out["status"] = p.Type, p.Title, p.Status
	if p.Detail != "" {
		out["detail"] = p.Detail
	}
	if p.Instance != "" {
		out["instance"] = p.Instance
	}
	return json.Marshal(out)
}

// Write sends the problem as application/problem+json.
func (p *Problem) Write(w http.ResponseWriter, r *http.Request) {
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	body, err := json.Marshal(p)
	if err != nil {
		http.Error(w, `{"title":"internal error","status":500}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(append(body, '\n'))
}

// Common problems.
func BadRequest(detail string) *Problem {
	return New(http.StatusBadRequest, "invalid-request", "The request is not valid", detail)
}

func Unauthorized(detail string) *Problem {
	return New(http.StatusUnauthorized, "invalid-token", "The bearer token is not accepted", detail)
}

func Forbidden(detail string) *Problem {
	return New(http.StatusForbidden, "forbidden", "The token's scope does not allow this", detail)
}

func NotFound(detail string) *Problem {
	return New(http.StatusNotFound, "not-found", "No such resource", detail)
}

func Internal(requestID string) *Problem {
	return New(http.StatusInternalServerError, "internal", "Internal error",
		"The error is in the server log under this request id.").With("request_id", requestID)
}
