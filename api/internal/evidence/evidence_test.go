package evidence

import (
	"encoding/json"
	"testing"
)

func TestCSVValue(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`"fred"`, "fred"},
		{`null`, ""},
		{``, ""},
		{`42`, "42"},
		{`{"a": 1}`, `{"a": 1}`},
		{`"=HYPERLINK(\"http://evil\")"`, `'=HYPERLINK("http://evil")`},
		{`"+1"`, "'+1"},
		{`"-cmd"`, "'-cmd"},
		{`"@SUM(A1)"`, "'@SUM(A1)"},
		{`"\tx"`, "'\tx"},
		{`"a=b"`, "a=b"},
	}
	for _, tt := range tests {
		if got := CSVValue(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("CSVValue(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
