package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The login under way lives in a session of its own, named by a cookie of
// its own: SameSite=Lax, because the provider's redirect back is a
// cross-site navigation that a Strict cookie would not follow.  The
// signed-in session's cookie is Strict.
const loginCookie = "authlog_console_login"

// login sends the browser to the provider: state and PKCE challenge fresh.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	pending := &session{expires: time.Now().Add(10 * time.Minute), returnTo: safeReturn(r.URL.Query().Get("return"))}
	target, err := c.provider.authURL(r.Context(), pending)
	if err != nil {
		c.log.Error("console: login", "error", err)
		c.render(w, r, http.StatusBadGateway, "error", &view{Title: "Sign-in unavailable",
			Error: "The identity provider cannot be reached; try again later."})
		return
	}
	id := c.sessions.create(pending)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: id, Path: "/console/", HttpOnly: true,
		Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: 600})
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeReturn keeps a return path only if it is a console page of this origin.
func safeReturn(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/console/") ||
		strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/console/incident"
	}
	return u.RequestURI()
}

// callback takes the provider's answer: the state must be the one this
// browser's login sent, the code is exchanged with its verifier, and the
// access token becomes the session's.  The page it answers moves on by a
// same-site navigation, so the Strict cookie is sent from then on.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, message string) {
		c.render(w, r, status, "error", &view{Title: "Sign-in failed", Error: message})
	}
	lc, err := r.Cookie(loginCookie)
	if err != nil {
		refuse(http.StatusBadRequest, "No sign-in is under way in this browser; start again from the console.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/console/", MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode})
	c.sessions.mu.Lock()
	pending := c.sessions.byID[lc.Value]
	delete(c.sessions.byID, lc.Value)
	c.sessions.mu.Unlock()
	q := r.URL.Query()
	switch {
	case pending == nil || time.Now().After(pending.expires):
		refuse(http.StatusBadRequest, "This sign-in has expired; start again from the console.")
		return
	case q.Get("error") != "":
		refuse(http.StatusUnauthorized, "The identity provider refused the sign-in: "+q.Get("error")+" "+q.Get("error_description"))
		return
	case q.Get("state") == "" || q.Get("state") != pending.state:
		refuse(http.StatusBadRequest, "The sign-in's state does not match this browser's; start again from the console.")
		return
	}
	tok, err := c.provider.exchange(r.Context(), pending, q.Get("code"))
	if err != nil {
		c.log.Error("console: callback", "error", err)
		refuse(http.StatusBadGateway, "The identity provider did not give a token for this sign-in.")
		return
	}
	expires := tok.Expiry
	if expires.IsZero() {
		expires = time.Now().Add(time.Hour)
	}
	id := c.sessions.create(&session{token: tok.AccessToken, expires: expires, csrf: randomToken()})
	setCookie(w, id, c.secure, int(time.Until(expires).Seconds()))
	c.render(w, r, http.StatusOK, "signed-in", &view{Title: "Signed in", Data: pending.returnTo})
}

// logout ends the session here (the provider's own session is the
// provider's: the next sign-in may not ask for a password).
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	id, sess := c.sessions.get(r)
	if sess != nil {
		if err := r.ParseForm(); err != nil || !sess.csrfOK(r) {
			c.render(w, r, http.StatusForbidden, "error", &view{Title: "Refused",
				Error: "The form's security token is missing or wrong; you are still signed in."})
			return
		}
		c.sessions.drop(id)
	}
	setCookie(w, "", c.secure, -1)
	c.render(w, r, http.StatusOK, "signed-out", &view{Title: "Signed out"})
}
