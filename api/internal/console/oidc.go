package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// provider is the platform's OIDC provider, as the console's client: the
// authorization code flow with PKCE (S256) and a state bound to the
// browser by a short-lived cookie.  Its endpoints come from discovery,
// fetched at the first login (so the API starts when the provider is down).
type provider struct {
	issuer       string
	clientID     string
	clientSecret string
	redirectURL  string
	scopes       []string
	client       *http.Client

	mu     sync.Mutex
	config *oauth2.Config
}

func (p *provider) oauth(ctx context.Context) (*oauth2.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.config != nil {
		return p.config, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(p.issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return nil, fmt.Errorf("console: discovery: %w", err)
	}
	res, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("console: discovery: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("console: discovery: %s answered %s", req.URL, res.Status)
	}
	var d struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		return nil, fmt.Errorf("console: discovery: %w", err)
	}
	if strings.TrimSuffix(d.Issuer, "/") != strings.TrimSuffix(p.issuer, "/") {
		return nil, fmt.Errorf("console: discovery: the provider calls itself %q, not %q", d.Issuer, p.issuer)
	}
	for _, endpoint := range []string{d.AuthorizationEndpoint, d.TokenEndpoint} {
		if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "https" && !isLoopbackHost(u.Hostname())) {
			return nil, fmt.Errorf("console: discovery: endpoint %q is neither HTTPS nor loopback", endpoint)
		}
	}
	p.config = &oauth2.Config{ClientID: p.clientID, ClientSecret: p.clientSecret, RedirectURL: p.redirectURL,
		Scopes: p.scopes, Endpoint: oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint}}
	return p.config, nil
}

// authURL starts a login: where to send the browser, with a fresh state
// and the challenge of a fresh PKCE verifier (both kept in the session).
func (p *provider) authURL(ctx context.Context, sess *session) (string, error) {
	conf, err := p.oauth(ctx)
	if err != nil {
		return "", err
	}
	sess.state = randomToken()
	sess.verifier = oauth2.GenerateVerifier()
	return conf.AuthCodeURL(sess.state, oauth2.S256ChallengeOption(sess.verifier)), nil
}

// exchange finishes it: the code for an access token, with the verifier.
func (p *provider) exchange(ctx context.Context, sess *session, code string) (*oauth2.Token, error) {
	conf, err := p.oauth(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, p.client), 10*time.Second)
	defer cancel()
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(sess.verifier))
	if err != nil {
		return nil, fmt.Errorf("console: token exchange: %w", err)
	}
	if tok.AccessToken == "" {
		return nil, errors.New("console: token exchange: no access token")
	}
	return tok, nil
}
