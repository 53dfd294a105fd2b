// Package httpapi is authlog-api's HTTP surface: /v1 over the SQL functions,
// each request verified, limited, run as one transaction acting for its
// token (store.Request), and answered in JSON or as an RFC 9457 problem.
package httpapi

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"authlog/api/internal/bearer"
	"authlog/api/internal/problem"
	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
	"authlog/api/openapi"
)

// Config is the server's limits.
type Config struct {
	RequestTimeout time.Duration // a request's whole life, SQL included
	MaxPage        int           // the largest events page
	MaxRows        int           // the most rows an investigation answer may hold
	Version        string        // authlog-api's version, in OCSF metadata
	// the operator's key that signs evidence packages (nil: none are made)
	EvidenceKey       ed25519.PrivateKey
	MaxEvidenceEvents int // the most events one package may hold
	// what /metrics reads from the database at each scrape (nil: only the
	// API's own figures); the role needs authlog.grant_monitor
	Figures *FiguresConfig
}

// Server is the API.
type Server struct {
	cfg      Config
	store    *store.Store
	verifier *bearer.Verifier
	limiter  *ratelimit.Limiter
	log      *slog.Logger
	metrics  *metrics
	registry *prometheus.Registry
}

// New wires the server.
func New(cfg Config, st *store.Store, v *bearer.Verifier, l *ratelimit.Limiter, log *slog.Logger) *Server {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MaxPage <= 0 {
		cfg.MaxPage = 1000
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 10000
	}
	if cfg.MaxEvidenceEvents <= 0 {
		cfg.MaxEvidenceEvents = 1_000_000
	}
	reg := prometheus.NewRegistry()
	if cfg.Figures != nil {
		if cfg.Figures.Timeout <= 0 {
			cfg.Figures.Timeout = 5 * time.Second
		}
		reg.MustRegister(newFiguresCollector(st, *cfg.Figures, log))
	}
	return &Server{cfg: cfg, store: st, verifier: v, limiter: l, log: log, metrics: newMetrics(reg), registry: reg}
}

// Handler is the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.authenticated(rt.name, rt.handler))
	}
	mux.Handle("GET /v1/openapi.json", s.plain("openapi", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document)
	}))
	mux.Handle("GET /healthz", s.plain("healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("GET /readyz", s.plain("readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ready(ctx); err != nil {
			problem.New(http.StatusServiceUnavailable, "not-ready", "Not ready", err.Error()).Write(w, r)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}))
	unknown := s.plain("unknown", func(w http.ResponseWriter, r *http.Request) {
		// another method of a known path is a 405 naming the methods it has
		var allowed []string
		for _, method := range []string{"GET", "POST", "PUT"} {
			probe := r.Clone(r.Context())
			probe.Method = method
			if _, pattern := mux.Handler(probe); pattern != "" {
				allowed = append(allowed, method)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			problem.New(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
				r.Method+" "+r.URL.Path+" is not served; it takes "+strings.Join(allowed, ", ")+".").Write(w, r)
			return
		}
		problem.NotFound("No endpoint at "+r.Method+" "+r.URL.Path+"; see /v1/openapi.json.").Write(w, r)
	})
	return securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			unknown.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// MetricsHandler is /metrics, for a loopback listener.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	return mux
}

// route is one authenticated endpoint; the OpenAPI document describes each
// (TestOpenAPIDescribesEveryRoute).
type route struct {
	method, path, name string
	handler            func(http.ResponseWriter, *http.Request, *call)
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/v1/events", "events", s.events},
		{"GET", "/v1/investigation/timeline", "timeline", s.timeline},
		{"GET", "/v1/investigation/targeted-accounts", "targeted_accounts", s.targetedAccounts},
		{"GET", "/v1/investigation/attacking-sources", "attacking_sources", s.attackingSources},
		{"GET", "/v1/investigation/success-after-failures", "success_after_failures", s.successAfterFailures},
		{"GET", "/v1/investigation/lockout-trace", "lockout_trace", s.lockoutTrace},
		{"GET", "/v1/investigation/compliance-report", "compliance_report", s.complianceReport},
		{"GET", "/v1/seals/verification", "seal_verification", s.sealVerification},
		{"GET", "/v1/evidence", "evidence", s.evidencePackage},
		{"GET", "/v1/access-log", "access_log", s.accessLog},
		{"GET", "/v1/accounts/{user}/lockout", "lockout_status", s.lockoutStatus},
		{"POST", "/v1/accounts/{user}/unlock", "unlock", s.unlock},
		{"GET", "/v1/records/retention", "retention_status", s.retentionStatus},
		{"PUT", "/v1/records/retention", "set_retention", s.setRetention},
		{"GET", "/v1/records/holds", "legal_holds", s.legalHolds},
		{"POST", "/v1/records/holds", "place_hold", s.placeHold},
		{"POST", "/v1/records/holds/{hold}/release", "release_hold", s.releaseHold},
	}
}

// call is what an authenticated handler gets: the request's id and token.
type call struct {
	requestID string
	token     string
	claims    bearer.Claims
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); requestIDPattern.MatchString(id) {
		return id
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// plain wraps an endpoint that needs no token.
func (s *Server) plain(name string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r)
		s.metrics.observe(name, r.Method, rec.status, time.Since(start))
	})
}

// authenticated verifies the bearer token (401 early), applies the
// subject's rate limit (429), bounds the request's time, and logs it.
func (s *Server) authenticated(name string, h func(http.ResponseWriter, *http.Request, *call)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c := &call{requestID: requestID(r)}
		w.Header().Set("X-Request-Id", c.requestID)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			elapsed := time.Since(start)
			s.metrics.observe(name, r.Method, rec.status, elapsed)
			s.log.Info("request", "request_id", c.requestID, "endpoint", name, "method", r.Method,
				"status", rec.status, "subject", c.claims.Subject, "ms", elapsed.Milliseconds())
		}()

		token, err := bearer.FromHeader(r)
		if err == nil {
			c.token = token
			c.claims, err = s.verifier.Verify(token)
		}
		if err != nil {
			rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			problem.Unauthorized(err.Error()).Write(rec, r)
			return
		}
		d := s.limiter.Allow(c.claims.Subject, time.Now())
		rec.Header().Set("RateLimit-Limit", strconv.Itoa(d.Limit))
		rec.Header().Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
		rec.Header().Set("RateLimit-Reset", strconv.Itoa(int(d.ResetAfter.Seconds()+0.999)))
		if !d.Allowed {
			retry := int(d.RetryAfter.Seconds() + 0.999)
			rec.Header().Set("Retry-After", strconv.Itoa(max(retry, 1)))
			problem.New(http.StatusTooManyRequests, "rate-limited", "Too many requests",
				"This token's subject has used its requests; retry after the Retry-After seconds.").Write(rec, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		h(rec, r.WithContext(ctx), c)
	})
}

// fail answers a store or handler error as a problem document.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	var p *problem.Problem
	if errors.As(err, &p) {
		p.Write(w, r)
		return
	}
	var dbErr *store.Error
	if !errors.As(err, &dbErr) {
		s.log.Error("request failed", "request_id", c.requestID, "error", err)
		problem.Internal(c.requestID).Write(w, r)
		return
	}
	switch dbErr.Kind {
	case store.KindUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		p = problem.Unauthorized(dbErr.Message)
	case store.KindForbidden:
		p = problem.Forbidden(dbErr.Message)
	case store.KindInvalid:
		p = problem.BadRequest(dbErr.Message)
	case store.KindNotFound:
		p = problem.NotFound(dbErr.Message)
	case store.KindConflict:
		p = problem.New(http.StatusUnprocessableEntity, "conflict", "The request conflicts with one already recorded", dbErr.Message)
	case store.KindUnavailable:
		w.Header().Set("Retry-After", "1")
		detail := "The database could not answer in time; retry the same request."
		if dbErr.SQLState == "55000" || strings.HasPrefix(dbErr.SQLState, "08") {
			detail = dbErr.Message // not configured, or the document store unreachable
		}
		p = problem.New(http.StatusServiceUnavailable, "unavailable", "Not available now", detail)
	default:
		s.log.Error("request failed", "request_id", c.requestID, "sqlstate", dbErr.SQLState, "error", err)
		problem.Internal(c.requestID).Write(w, r)
		return
	}
	if dbErr.SQLState != "" {
		p.With("sqlstate", dbErr.SQLState)
	}
	if dbErr.Hint != "" {
		p.With("hint", dbErr.Hint)
	}
	p.Write(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// securityHeaders: the API serves data, never pages; nothing may frame or
// sniff it, and nothing it answers is cached by a shared cache.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// recorder remembers the status for metrics and logs.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
