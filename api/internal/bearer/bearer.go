// Package bearer checks a request's bearer token before the API spends a
// database connection on it: the signature against the issuer's key set,
// iss, aud, exp and nbf.  It is an early answer (401 without a round trip),
// not the decision: PostgreSQL verifies the same token again in
// authlog.begin_request and takes the scope from it (doc/security.md).
package bearer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// Config says whose tokens are accepted.
type Config struct {
	Issuer   string // the tokens' iss
	Audience string // what their aud must name
	// One of: a JWKS file (read at start), or the issuer's JWKS URL (fetched
	// over HTTPS, or HTTP on loopback, and refreshed by the cache).
	JWKSFile string
	JWKSURL  string
	Skew     time.Duration
}

// Verifier checks tokens.
type Verifier struct {
	cfg  Config
	keys jwk.Set
}

// Claims is what the API itself needs from a verified token: who, for rate
// limits and logs.  The scope is PostgreSQL's to read.
type Claims struct {
	Subject string
	Expires time.Time
}

// New loads or registers the key set.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("bearer: an issuer is required")
	}
	if cfg.Audience == "" {
		cfg.Audience = "authlog"
	}
	if cfg.Skew == 0 {
		cfg.Skew = 60 * time.Second
	}
	v := &Verifier{cfg: cfg}
	switch {
	case cfg.JWKSFile != "" && cfg.JWKSURL != "":
		return nil, errors.New("bearer: give a JWKS file or a JWKS URL, not both")
	case cfg.JWKSFile != "":
		body, err := os.ReadFile(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("bearer: read JWKS: %w", err)
		}
		if v.keys, err = jwk.Parse(body); err != nil {
			return nil, fmt.Errorf("bearer: parse JWKS %s: %w", cfg.JWKSFile, err)
		}
	case cfg.JWKSURL != "":
		if err := secureURL(cfg.JWKSURL); err != nil {
			return nil, err
		}
		cache, err := jwk.NewCache(ctx, httprc.NewClient())
		if err != nil {
			return nil, fmt.Errorf("bearer: JWKS cache: %w", err)
		}
		regCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := cache.Register(regCtx, cfg.JWKSURL); err != nil {
			return nil, fmt.Errorf("bearer: fetch JWKS %s: %w", cfg.JWKSURL, err)
		}
		if v.keys, err = cache.CachedSet(cfg.JWKSURL); err != nil {
			return nil, fmt.Errorf("bearer: JWKS %s: %w", cfg.JWKSURL, err)
		}
	default:
		return nil, errors.New("bearer: a JWKS file or URL is required")
	}
	return v, nil
}

// secureURL: keys come over HTTPS, or plain HTTP from this machine only.
func secureURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bearer: JWKS URL: %w", err)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("bearer: the JWKS URL %s is not HTTPS (plain HTTP only on loopback)", raw)
}

// FromHeader takes the token of an Authorization: Bearer header.
func FromHeader(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errors.New("no Authorization header; send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", errors.New("the Authorization header is not a Bearer token")
	}
	return strings.TrimSpace(token), nil
}

// Verify checks the signature and the registered claims.  The key must name
// its alg (a key set's key without one is never tried), so alg "none" and an
// HMAC made with a public key are refused by the library's key match.
func (v *Verifier) Verify(token string) (Claims, error) {
	tok, err := jwt.ParseString(token,
		jwt.WithKeySet(v.keys),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithAcceptableSkew(v.cfg.Skew),
		jwt.WithRequiredClaim("exp"),
		jwt.WithRequiredClaim("sub"),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("bearer: %w", err)
	}
	sub, _ := tok.Subject()
	exp, _ := tok.Expiration()
	return Claims{Subject: sub, Expires: exp}, nil
}
