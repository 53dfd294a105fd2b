package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"authlog/api/internal/problem"
)

// maxBody is the largest JSON body an endpoint reads.
const maxBody = 64 << 10

// decodeBody reads a request's JSON body into v: application/json, one
// object, no member v does not name.  On failure it has answered with a
// problem (415 or 400, the shape expected in the detail) and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, shape string) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		problem.New(http.StatusUnsupportedMediaType, "unsupported-media-type", "Send JSON",
			"The body must be application/json: "+shape+".").Write(w, r)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		problem.BadRequest("the body is not the expected JSON object "+shape+": "+err.Error()).Write(w, r)
		return false
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		problem.BadRequest("the body holds more than one JSON object").Write(w, r)
		return false
	}
	return true
}
