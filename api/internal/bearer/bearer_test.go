package bearer

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var b64 = base64.RawURLEncoding

func compact(t *testing.T, header, claims map[string]any, sign func(input string) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return input + "." + b64.EncodeToString(sign(input))
}

func TestVerify(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "x": b64.EncodeToString(pub)}
	set, err := json.Marshal(map[string]any{"keys": []any{jwk}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, set, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := New(context.Background(), Config{Issuer: "https://idp", JWKSFile: file})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	valid := func() map[string]any {
		return map[string]any{"iss": "https://idp", "aud": "authlog", "sub": "ann", "exp": now + 60, "tenant": "acme"}
	}
	with := func(k string, val any) map[string]any {
		c := valid()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	ed := func(k ed25519.PrivateKey) func(string) []byte {
		return func(in string) []byte { return ed25519.Sign(k, []byte(in)) }
	}
	hs := func(in string) []byte { // an HMAC keyed with the public JWK
		m := hmac.New(sha256.New, set)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
	header := map[string]any{"alg": "EdDSA", "kid": "k1", "typ": "JWT"}
	tests := []struct {
		name   string
		token  string
		errHas string
	}{
		{"valid", compact(t, header, valid(), ed(key)), ""},
		{"expired", compact(t, header, with("exp", now-3600), ed(key)), "exp"},
		{"not yet valid", compact(t, header, with("nbf", now+3600), ed(key)), "nbf"},
		{"wrong audience", compact(t, header, with("aud", "other"), ed(key)), "aud"},
		{"wrong issuer", compact(t, header, with("iss", "https://evil"), ed(key)), "iss"},
		{"no subject", compact(t, header, with("sub", nil), ed(key)), "sub"},
		{"no expiry", compact(t, header, with("exp", nil), ed(key)), "exp"},
		{"a stranger's signature", compact(t, header, valid(), ed(stranger)), "verif"},
		{"unknown kid", compact(t, map[string]any{"alg": "EdDSA", "kid": "k9"}, valid(), ed(key)), "k9"},
		{"HMAC with the public key", compact(t, map[string]any{"alg": "HS256", "kid": "k1"}, valid(), hs), ""},
		{"alg none", compact(t, map[string]any{"alg": "none", "kid": "k1"}, valid(), func(string) []byte { return nil }), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(tt.token)
			if tt.name == "valid" {
				if err != nil || claims.Subject != "ann" {
					t.Fatalf("valid token refused: %v %+v", err, claims)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted")
			}
			if tt.errHas != "" && !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error %q does not name %q", err, tt.errHas)
			}
		})
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct{ header, token string }{
		{"Bearer abc", "abc"}, {"bearer abc", "abc"}, {"Basic abc", ""}, {"Bearer ", ""}, {"", ""},
	}
	for _, tt := range tests {
		r, _ := newRequest(tt.header)
		got, err := FromHeader(r)
		if got != tt.token || (tt.token == "") != (err != nil) {
			t.Errorf("%q: got %q, %v", tt.header, got, err)
		}
	}
}

func newRequest(authorization string) (*http.Request, error) {
	r, err := http.NewRequest("GET", "/", nil)
	if err == nil && authorization != "" {
		r.Header.Set("Authorization", authorization)
	}
	return r, err
}

func TestJWKSURLMustBeSecure(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://idp.example/.well-known/jwks.json", true},
		{"http://127.0.0.1:4444/.well-known/jwks.json", true},
		{"http://[::1]:4444/jwks", true},
		{"http://localhost/jwks", true},
		{"http://idp.example/jwks", false},
		{"ftp://idp.example/jwks", false},
		{"https:///jwks", false},
	}
	for _, tt := range tests {
		if err := secureURL(tt.url); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.url, err)
		}
	}
}
