// idp-login is the login and consent app of the tests' and the demo's
// OIDC provider (Ory Hydra, which delegates both): instead of a password
// it offers the people of a personas file, and signs in the one chosen.
// Its consent grants the requested scopes and puts the persona's authlog
// claims (tenant, organisations, roles) in the access token, which
// authlog's begin_request reads (trust_issuer(..., claims => 'claims')).
// A stand-in for the platform's real identity provider, for tests only.
//
//	idp-login -listen 127.0.0.1:PORT -hydra-admin http://127.0.0.1:ADMIN -personas personas.json
//
// personas.json: {"security": {"subject": "analyst@acme", "tenant": "acme",
// "roles": ["reader"], "organisations": null, "label": "Acme security team"}, ...}
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"sort"
	"time"
)

type persona struct {
	Label         string   `json:"label"`
	Subject       string   `json:"subject"`
	Tenant        string   `json:"tenant"`
	Organisations []string `json:"organisations"`
	Roles         []string `json:"roles"`
}

type app struct {
	admin    string
	personas map[string]persona
	client   *http.Client
}

var page = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · test identity provider</title></head>
<body><main><h1>Sign in</h1>
<p>Test identity provider: choose who you are.</p>
<form method="post" action="/login">
<input type="hidden" name="login_challenge" value="{{.Challenge}}">
{{range .Names}}<p><button type="submit" name="persona" value="{{.Name}}" id="persona-{{.Name}}">{{.Label}}</button></p>{{end}}
</form></main></body></html>`))

func main() {
	listen := flag.String("listen", "127.0.0.1:4446", "address to serve")
	admin := flag.String("hydra-admin", "", "Hydra's admin URL")
	personasFile := flag.String("personas", "", "the personas file (JSON)")
	flag.Parse()
	b, err := os.ReadFile(*personasFile)
	if err != nil {
		log.Fatal(err)
	}
	a := &app{admin: *admin, client: &http.Client{Timeout: 10 * time.Second}}
	if err := json.Unmarshal(b, &a.personas); err != nil {
		log.Fatalf("%s: %v", *personasFile, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", a.showLogin)
	mux.HandleFunc("POST /login", a.acceptLogin)
	mux.HandleFunc("GET /consent", a.acceptConsent)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	log.Fatal((&http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe())
}

func (a *app) showLogin(w http.ResponseWriter, r *http.Request) {
	type choice struct{ Name, Label string }
	var names []choice
	for name, p := range a.personas {
		names = append(names, choice{name, p.Label})
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name < names[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"Challenge": r.URL.Query().Get("login_challenge"), "Names": names})
}

// put sends a PUT to Hydra's admin API and follows its redirect_to.
func (a *app) put(w http.ResponseWriter, r *http.Request, path, challengeName, challenge string, body any) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPut,
		a.admin+path+"?"+challengeName+"="+url.QueryEscape(challenge), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	var out struct {
		RedirectTo string `json:"redirect_to"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.RedirectTo == "" {
		http.Error(w, fmt.Sprintf("hydra answered %s", res.Status), http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}

func (a *app) acceptLogin(w http.ResponseWriter, r *http.Request) {
	p, ok := a.personas[r.PostFormValue("persona")]
	if !ok {
		http.Error(w, "no such persona", http.StatusBadRequest)
		return
	}
	a.put(w, r, "/admin/oauth2/auth/requests/login/accept", "login_challenge", r.PostFormValue("login_challenge"),
		map[string]any{"subject": p.Subject, "remember": false})
}

func (a *app) acceptConsent(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("consent_challenge")
	res, err := a.client.Get(a.admin + "/admin/oauth2/auth/requests/consent?consent_challenge=" + url.QueryEscape(challenge))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	var consent struct {
		Subject        string   `json:"subject"`
		RequestedScope []string `json:"requested_scope"`
	}
	if err := json.NewDecoder(res.Body).Decode(&consent); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var who *persona
	for _, p := range a.personas {
		if p.Subject == consent.Subject {
			p := p
			who = &p
		}
	}
	if who == nil {
		http.Error(w, "unknown subject", http.StatusBadRequest)
		return
	}
	claims := map[string]any{"tenant": who.Tenant, "roles": who.Roles}
	if who.Organisations != nil {
		claims["organisations"] = who.Organisations
	}
	a.put(w, r, "/admin/oauth2/auth/requests/consent/accept", "consent_challenge", challenge,
		map[string]any{"grant_scope": consent.RequestedScope, "grant_access_token_audience": []string{"authlog"},
			"remember": false, "session": map[string]any{"access_token": claims}})
}
