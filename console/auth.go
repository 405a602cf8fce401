package console

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// cookieName is the session cookie a login sets.
const cookieName = "hookline_console"

// requireAccess lets a request through only with the session cookie of a login or the token
// as a bearer header; otherwise an API request gets 401 and a page the login form.
func (c *Console) requireAccess(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.authorized(r) {
			h.ServeHTTP(w, r)
			return
		}
		if c.isAPI(r) || r.Method != http.MethodGet {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hookline console"`)
			c.fail(w, r, http.StatusUnauthorized, "the console needs its access token: log in, or send \"Authorization: Bearer <"+EnvToken+">\"")
			return
		}
		http.Redirect(w, r, c.opts.Prefix+"login", http.StatusSeeOther)
	})
}

func (c *Console) authorized(r *http.Request) bool {
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(c.opts.Token)) == 1
	}
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return false
	}
	_, _, ok := c.sessions.check(ck.Value)
	return ok
}

func (c *Console) isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, c.opts.Prefix+"api/")
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", page{Title: "Log in"})
}

// login checks the token posted by the login form and sets the cookie of a new session
// (session.go): HttpOnly (no script reads it), SameSite=Strict (no other site's request carries
// it), Secure over TLS, limited to the console's path, and kept by the browser no longer than
// the server accepts it.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	tok := r.PostFormValue("token")
	if subtle.ConstantTimeCompare([]byte(tok), []byte(c.opts.Token)) != 1 {
		c.log.Warn("console: login refused: wrong token", "remote", r.RemoteAddr)
		c.render(w, r, http.StatusUnauthorized, "login", page{Title: "Log in", Error: "That is not the console's token (" + EnvToken + ")."})
		return
	}
	value, exp := c.sessions.issue()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: c.opts.Prefix, Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(time.Until(exp).Seconds())})
	c.log.Info("console: logged in", "remote", r.RemoteAddr, "session_expires", exp.UTC().Format(time.RFC3339))
	http.Redirect(w, r, c.opts.Prefix, http.StatusSeeOther)
}

// logout revokes the session of the request's cookie, if it has one, and removes the cookie.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.sessions.revoke(ck.Value)
		c.log.Info("console: logged out", "remote", r.RemoteAddr)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: c.opts.Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
	http.Redirect(w, r, c.opts.Prefix+"login", http.StatusSeeOther)
}

// apiError is the body of every JSON API error.
type apiError struct {
	Error string `json:"error"`
}

// fail answers an error: JSON for the API, a page otherwise.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if c.isAPI(r) {
		writeJSON(w, status, apiError{Error: msg})
		return
	}
	c.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
