package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"authlog/api/internal/console"
	"authlog/api/internal/httpapi"
	"authlog/api/internal/ratelimit"
	"authlog/api/internal/store"
)

type consoleConfig struct {
	url, issuer, fallbackIssuer, clientID, secretFile string
	maxEvents                                         int
}

// withConsole serves the admin console under /console/ beside the API,
// on the same listener, with the same store, tokens and limits.
func withConsole(api http.Handler, cfg httpapi.Config, st *store.Store, limiter *ratelimit.Limiter,
	log *slog.Logger, cc consoleConfig) (http.Handler, error) {
	issuer := cc.issuer
	if issuer == "" {
		issuer = cc.fallbackIssuer
	}
	var secret string
	if cc.secretFile != "" {
		b, err := os.ReadFile(cc.secretFile)
		if err != nil {
			return nil, fmt.Errorf("-console-client-secret-file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	ccfg := console.Config{Issuer: issuer, ClientID: cc.clientID, ClientSecret: secret, BaseURL: cc.url,
		Scopes: []string{"openid"}, EvidenceKey: cfg.EvidenceKey, MaxEvents: cc.maxEvents,
		Limiter: limiter, RequestTimeout: cfg.RequestTimeout}
	if cfg.Figures != nil {
		ccfg.Figures = func(ctx context.Context) (*store.Figures, error) {
			ctx, cancel := context.WithTimeout(ctx, cfg.Figures.Timeout)
			defer cancel()
			return st.Figures(ctx, cfg.Figures.Attacks)
		}
	}
	c, err := console.New(ccfg, st, log)
	if err != nil {
		return nil, err
	}
	return c.With(api), nil
}
