// Command authlog-api is the platform API over authlog: every reader's door
// to the events, the investigation functions, the help desk's unlock and
// the seals, scoped by PostgreSQL from each request's bearer token.
//
//	authlog-api serve -database URL -issuer ISS (-jwks-file F | -jwks-url U) [flags]
//
// See doc/api.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"authlog/api/internal/bearer"
	"authlog/api/internal/evidence"
	"authlog/api/internal/httpapi"
	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
)

const version = "0.1.0"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "authlog-api:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  authlog-api serve [flags]                      run the API (authlog-api serve -h lists the flags)
  authlog-api verify-package -key PUB.pem FILE   check an evidence package offline`

func run(args []string) error {
	if len(args) > 0 && args[0] == "verify-package" {
		return verifyPackage(args[1:])
	}
	if len(args) == 0 || args[0] != "serve" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the API")
	metricsListen := fs.String("metrics-listen", "127.0.0.1:9464", "loopback address of /metrics (empty: none)")
	database := fs.String("database", "", "PostgreSQL URL or DSN of the gateway role (default: the PG* environment)")
	issuer := fs.String("issuer", "", "the iss of accepted tokens (required)")
	audience := fs.String("audience", "authlog", "the aud accepted tokens name")
	jwksFile := fs.String("jwks-file", "", "the issuer's JWKS, from a file")
	jwksURL := fs.String("jwks-url", "", "the issuer's JWKS, fetched and refreshed from this URL")
	perSecond := fs.Float64("rate", 20, "requests a second per token subject (0: no limit)")
	burst := fs.Int("burst", 40, "requests a token subject may make at once")
	timeout := fs.Duration("request-timeout", 30*time.Second, "the longest a request may take, SQL included")
	maxPage := fs.Int("max-page", 1000, "the largest events page")
	maxRows := fs.Int("max-rows", 10000, "the most rows an investigation answer may hold")
	evidenceKey := fs.String("evidence-key", "", "Ed25519 private key (PKCS#8 PEM) that signs evidence packages (empty: none are made)")
	maxEvidence := fs.Int("max-evidence-events", 1_000_000, "the most events one evidence package may hold")
	consoleURL := fs.String("console-url", "", "the admin console's base URL as browsers reach it (empty: no console; plain http only on loopback)")
	consoleIssuer := fs.String("console-issuer", "", "the console's OIDC provider (default: -issuer)")
	consoleClient := fs.String("console-client-id", "authlog-console", "the console's OIDC client id")
	consoleSecretFile := fs.String("console-client-secret-file", "", "file holding the console's OIDC client secret (empty: a public client, PKCE only)")
	monitor := fs.Bool("monitor", true, "/metrics reads authlog's counters, workers and attacking networks (the role needs authlog.grant_monitor)")
	attackWindow := fs.Duration("attack-window", 5*time.Minute, "/metrics: the recent window of the attacking networks")
	attackTop := fs.Int("attack-top", 5, "/metrics: the attacking networks shown per tenant (1 to 100)")
	attackMin := fs.Int("attack-min-failures", 10, "/metrics: the failures a network needs in the window to be shown")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	verifier, err := bearer.New(ctx, bearer.Config{Issuer: *issuer, Audience: *audience,
		JWKSFile: *jwksFile, JWKSURL: *jwksURL})
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, *database, *timeout)
	if err != nil {
		return err
	}
	defer st.Close()
	readyCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = st.Ready(readyCtx)
	cancel()
	if err != nil {
		return err
	}

	cfg := httpapi.Config{RequestTimeout: *timeout, MaxPage: *maxPage, MaxRows: *maxRows, Version: version,
		MaxEvidenceEvents: *maxEvidence}
	if *monitor {
		if *attackTop < 1 || *attackTop > 100 {
			return fmt.Errorf("-attack-top %d: must be between 1 and 100", *attackTop)
		}
		if *attackWindow <= 0 || *attackWindow > 24*time.Hour {
			return fmt.Errorf("-attack-window %s: must be more than 0 and at most 24h", *attackWindow)
		}
		if *attackMin < 1 {
			return fmt.Errorf("-attack-min-failures %d: must be at least 1", *attackMin)
		}
		cfg.Figures = &httpapi.FiguresConfig{Attacks: store.AttackWindow{
			Recent: *attackWindow, Top: *attackTop, MinFailures: *attackMin}}
	}
	if *evidenceKey != "" {
		if cfg.EvidenceKey, err = evidence.LoadPrivateKey(*evidenceKey); err != nil {
			return err
		}
	}
	limiter := ratelimit.New(*perSecond, *burst)
	srv := httpapi.New(cfg, st, verifier, limiter, log)
	handler := srv.Handler()
	if *consoleURL != "" {
		if handler, err = withConsole(handler, cfg, st, limiter, log, consoleConfig{url: *consoleURL,
			issuer: *consoleIssuer, fallbackIssuer: *issuer, clientID: *consoleClient,
			secretFile: *consoleSecretFile, maxEvents: *maxRows}); err != nil {
			return err
		}
	}
	servers := []*http.Server{{
		Addr: *listen, Handler: handler,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: *timeout + 10*time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 32 << 10,
	}}
	if *metricsListen != "" {
		host, _, err := net.SplitHostPort(*metricsListen)
		if err != nil {
			return fmt.Errorf("-metrics-listen: %w", err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("-metrics-listen %s is not a loopback address", *metricsListen)
		}
		servers = append(servers, &http.Server{Addr: *metricsListen, Handler: srv.MetricsHandler(),
			ReadHeaderTimeout: 10 * time.Second})
	}

	errs := make(chan error, len(servers))
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", s.Addr, err)
		}
		log.Info("listening", "address", ln.Addr().String())
		go func(s *http.Server, ln net.Listener) {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}(s, ln)
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing the requests in flight")
	case err := <-errs:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	return nil
}
