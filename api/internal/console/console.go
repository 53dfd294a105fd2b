// Package console is the admin console authlog-api serves under /console/:
// server-rendered pages for the security analyst, the help desk, the
// auditor, operations and the records manager, for a person signed in through the platform's
// OIDC provider.  Every page is one request acting for her access token
// (store.Request: begin_request verifies it and PostgreSQL scopes every
// answer), so the console shows nothing the API would not: the tenant is
// always the token's.  No inline script or style, a strict CSP, forms
// protected by a per-session CSRF token.
package console

import (
	"context"
	"crypto/ed25519"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Config is the console's: its OIDC client and where it is served.
type Config struct {
	Issuer       string // the OIDC provider (discovery at Issuer/.well-known/openid-configuration)
	ClientID     string
	ClientSecret string
	// the console's own base URL, as browsers reach it (http://127.0.0.1:8080):
	// the redirect URL is BaseURL/console/callback; cookies are Secure
	// unless it is plain HTTP on loopback
	BaseURL     string
	Scopes      []string
	EvidenceKey ed25519.PrivateKey // signs evidence packages (nil: none)
	MaxEvents   int                // the most events a page, an export or a package may hold
	MaxSessions int
	HTTPClient  *http.Client // to the provider (nil: a client with a 10 s timeout)
	// Figures reads the platform's figures for the operations page (nil:
	// no operations page); the API role's, not the token's
	Figures func(ctx context.Context) (*store.Figures, error)
	// the API's limits: a session's requests a second (nil: none), and
	// the longest a page may take, SQL included (the live tail excepted)
	Limiter        *ratelimit.Limiter
	RequestTimeout time.Duration
}

// Console serves /console/.
type Console struct {
	cfg      Config
	store    *store.Store
	log      *slog.Logger
	provider *provider
	sessions *sessions
	pages    *template.Template
	secure   bool
}

// New checks the configuration and parses the templates.
func New(cfg Config, st *store.Store, log *slog.Logger) (*Console, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("console: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	secure := base.Scheme == "https"
	if !secure && !isLoopbackHost(base.Hostname()) {
		return nil, fmt.Errorf("console: base URL %q: plain HTTP only on loopback (session cookies must be Secure elsewhere)", cfg.BaseURL)
	}
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("console: the OIDC issuer and client id are required")
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 10000
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10000
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid"}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	pages, err := template.New("").Funcs(templateFuncs).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	return &Console{cfg: cfg, store: st, log: log, sessions: newSessions(cfg.MaxSessions), pages: pages,
		secure: secure,
		provider: &provider{issuer: cfg.Issuer, clientID: cfg.ClientID, clientSecret: cfg.ClientSecret,
			redirectURL: base.String() + "/console/callback", scopes: cfg.Scopes, client: client}}, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler is the console's routes, under /console/.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/incident", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /console/login", c.login)
	mux.HandleFunc("GET /console/callback", c.callback)
	mux.HandleFunc("POST /console/logout", c.logout)
	mux.Handle("GET /console/incident", c.page(c.incident))
	mux.Handle("GET /console/accounts", c.page(c.accountSearch))
	mux.Handle("GET /console/accounts/{user}", c.page(c.account))
	mux.Handle("POST /console/accounts/{user}/unlock", c.page(c.unlock))
	mux.Handle("GET /console/events", c.page(c.events))
	mux.Handle("GET /console/events/export", c.page(c.export))
	mux.Handle("GET /console/events/tail", c.stream(c.tail))
	mux.Handle("GET /console/evidence", c.page(c.evidence))
	mux.Handle("GET /console/evidence/package", c.page(c.evidencePackage))
	mux.Handle("GET /console/operations", c.page(c.operations))
	mux.Handle("GET /console/records", c.page(c.records))
	mux.Handle("POST /console/records/retention", c.page(c.setRetention))
	mux.Handle("POST /console/records/holds", c.page(c.placeHold))
	mux.Handle("POST /console/records/holds/{hold}/release", c.page(c.releaseHold))
	return headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			c.render(w, r, http.StatusNotFound, "error", &view{Title: "Not found",
				Error: "There is no console page at " + r.URL.Path + "."})
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// With serves the console under /console/ and everything else by api: the
// platform API and its console on one listener.
func (c *Console) With(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/console/", c.Handler())
	mux.Handle("/", api)
	return mux
}

// headers: a strict CSP (scripts, styles and images of the console's own
// origin only; forms post only to it; never framed), no caching of pages
// that hold a tenant's data, no referrer to leak a URL's filters.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/console/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// view is what every page template receives.
type view struct {
	Title    string
	Nav      string // the current section
	Identity *store.Identity
	CSRF     string
	Error    string
	Notice   string
	Data     any
}

// pageFunc is one page: it reads in the request's transaction and fills v.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *requestContext) error

// requestContext is one page request of a signed-in person.
type requestContext struct {
	session   *session
	id        string
	view      *view
	requestID string
}

// page signs the person in first if she is not, holds her to the API's
// rate and time limits, and turns errors into pages: an expired or refused
// token ends the session, a refused scope is a 403, bad input a 400; the
// database's words, never another tenant's.
func (c *Console) page(fn pageFunc) http.Handler { return c.handle(fn, true) }

// stream is page for the live tail, which outlives the request timeout.
func (c *Console) stream(fn pageFunc) http.Handler { return c.handle(fn, false) }

func (c *Console) handle(fn pageFunc, timed bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, sess := c.sessions.get(r)
		if sess == nil || sess.token == "" {
			if r.Method != http.MethodGet {
				c.render(w, r, http.StatusUnauthorized, "error", &view{Title: "Signed out",
					Error: "Your session has ended; nothing was changed. Sign in again and repeat it."})
				return
			}
			http.Redirect(w, r, "/console/login?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if c.cfg.Limiter != nil {
			if d := c.cfg.Limiter.Allow("console:"+id, time.Now()); !d.Allowed {
				w.Header().Set("Retry-After", strconv.Itoa(max(int(d.RetryAfter.Seconds()+0.999), 1)))
				c.render(w, r, http.StatusTooManyRequests, "error", &view{Title: "Too many requests", CSRF: sess.csrf,
					Error: "This session has made too many requests; wait a moment and reload."})
				return
			}
		}
		if timed {
			ctx, cancel := context.WithTimeout(r.Context(), c.cfg.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		rc := &requestContext{session: sess, id: id, view: &view{CSRF: sess.csrf}}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil || !sess.csrfOK(r) {
				c.render(w, r, http.StatusForbidden, "error", &view{Title: "Refused", CSRF: sess.csrf,
					Error: "The form's security token is missing or wrong (a form from another site, or an old page); nothing was changed."})
				return
			}
		}
		err := fn(w, r, rc)
		if err == nil {
			return
		}
		var se *store.Error
		var bad *badInput
		status, message := http.StatusInternalServerError, "Something went wrong; the server log has it."
		switch {
		case errors.As(err, &bad):
			status, message = http.StatusBadRequest, bad.message
		case errors.As(err, &se) && se.Kind == store.KindUnauthorized:
			c.sessions.drop(id)
			setCookie(w, "", c.secure, -1)
			c.render(w, r, http.StatusUnauthorized, "error", &view{Title: "Signed out",
				Error: "Your session has ended (" + se.Message + "). Sign in again."})
			return
		case errors.As(err, &se) && se.Kind == store.KindForbidden:
			status, message = http.StatusForbidden, se.Message
		case errors.As(err, &se) && se.Kind == store.KindNotFound:
			status, message = http.StatusNotFound, se.Message
		case errors.As(err, &se) && (se.Kind == store.KindInvalid || se.Kind == store.KindConflict):
			status, message = http.StatusBadRequest, se.Message
		case errors.As(err, &se) && se.Kind == store.KindUnavailable:
			status, message = http.StatusServiceUnavailable, "The database is busy or the request took too long; try again."
		default:
			c.log.Error("console", "path", r.URL.Path, "error", err)
		}
		v := rc.view
		v.Title, v.Error = http.StatusText(status), message
		c.render(w, r, status, "error", v)
	})
}

// badInput is a console-side refusal of a form or query value.
type badInput struct{ message string }

func (b *badInput) Error() string { return b.message }

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	var buf strings.Builder
	if err := c.pages.ExecuteTemplate(&buf, name, v); err != nil {
		c.log.Error("console: template", "template", name, "error", err)
		http.Error(w, "The console could not draw this page.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// request runs fn in one transaction acting for the session's token, and
// puts the identity in the view.  Its request id ("console-" and random)
// names the page's reads in authlog.access_log.
func (c *Console) request(r *http.Request, rc *requestContext, fn func(ctx context.Context, tx *store.Tx) error) error {
	if rc.requestID == "" {
		rc.requestID = "console-" + randomToken()[:16]
	}
	return c.store.Request(r.Context(), rc.session.token, rc.requestID, func(ctx context.Context, tx *store.Tx) error {
		id := tx.ID
		rc.view.Identity = &id
		return fn(ctx, tx)
	})
}
