package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// session is one signed-in person: the access token the identity provider
// issued (every page is one request acting for it: begin_request verifies
// it again each time), and the CSRF token of her forms.  Or, before the
// provider answers, the state and PKCE verifier of a login under way.
type session struct {
	token     string
	expires   time.Time // the token's exp: past it, the session is over
	csrf      string
	state     string // login under way: the state sent to the provider
	verifier  string // ... and the PKCE code verifier
	returnTo  string // the console page the login started from
	createdAt time.Time
}

// sessions are held in memory by the Console that made them: a restart
// signs everyone out, and a second instance needs sticky sessions (said in
// doc/console.md).  Cookies carry only a random id.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	max  int
}

const cookieName = "authlog_console"

func newSessions(max int) *sessions {
	return &sessions{byID: map[string]*session{}, max: max}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create stores a new session and returns its id.  Expired sessions and,
// past max, the oldest go first, so the map cannot grow without bound.
func (s *sessions) create(sess *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for id, old := range s.byID {
		if now.After(old.expires) {
			delete(s.byID, id)
		}
	}
	for len(s.byID) >= s.max {
		var oldestID string
		var oldest time.Time
		for id, old := range s.byID {
			if oldestID == "" || old.createdAt.Before(oldest) {
				oldestID, oldest = id, old.createdAt
			}
		}
		delete(s.byID, oldestID)
	}
	id := randomToken()
	sess.createdAt = now
	s.byID[id] = sess
	return id
}

// get returns the live session of the request's cookie, or nil.
func (s *sessions) get(r *http.Request) (string, *session) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byID[c.Value]
	if sess == nil {
		return "", nil
	}
	if time.Now().After(sess.expires) {
		delete(s.byID, c.Value)
		return "", nil
	}
	return c.Value, sess
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// setCookie sends the session cookie: HttpOnly, SameSite=Strict, Secure
// unless the console is served on loopback over plain HTTP.
func setCookie(w http.ResponseWriter, id string, secure bool, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/console/", HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteStrictMode, MaxAge: maxAge})
}

// csrfOK compares a form's token with the session's in constant time.
func (sess *session) csrfOK(r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}
