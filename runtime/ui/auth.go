package ui

import (
	"net/http"
	"strings"
)

// signinPage shows the sign-in form. Its CSRF token is a random value in
// a cookie that the form repeats (there is no session yet).
func (u *UI) signinPage(w http.ResponseWriter, r *http.Request) {
	u.showSignin(w, r, http.StatusOK, "")
}

type signinData struct {
	Token, Next, Error string
	Keyless            bool
}

func (u *UI) showSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken()
	http.SetCookie(w, u.cookie(r, signinCookie, tok, 600))
	d := signinData{Token: tok, Next: safeNext(u.prefix, r.FormValue("next")), Error: msg, Keyless: !u.api.AuthEnabled()}
	if err := u.render(w, r, nil, status, "signin", "Sign in", d); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// signin exchanges an API key for a session cookie. The key is checked
// as the API checks a bearer key and then forgotten: the session holds
// the key's name and role only.
func (u *UI) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostFormValue("_csrf"), c.Value) {
		u.showSignin(w, r, http.StatusForbidden, "The sign-in form expired: sign in again.")
		return
	}
	who, err := u.api.Authenticate(r.PostFormValue("key"))
	if err != nil {
		u.log.Info("ui sign-in refused: unknown API key", "remote", r.RemoteAddr)
		u.showSignin(w, r, http.StatusUnauthorized, "Unknown API key.")
		return
	}
	if who.Run != "" {
		u.showSignin(w, r, http.StatusUnauthorized, "Unknown API key.")
		return
	}
	id, _ := u.sessions.create(who)
	http.SetCookie(w, u.cookie(r, signinCookie, "", -1))
	http.SetCookie(w, u.cookie(r, sessionCookie, id, int(u.opts.SessionTTL.Seconds())))
	u.log.Info("ui sign-in", "key", who.Name, "role", who.Role)
	http.Redirect(w, r, safeNext(u.prefix, r.PostFormValue("next")), http.StatusSeeOther)
}

// signout ends the session (its CSRF token is checked: a page of another
// site cannot sign the user out).
func (u *UI) signout(w http.ResponseWriter, r *http.Request, s *session) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		u.sessions.end(c.Value)
	}
	http.SetCookie(w, u.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, u.prefix+"/signin", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in redirect inside the UI.
func safeNext(prefix, next string) string {
	if !strings.HasPrefix(next, prefix+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, prefix+"/signin") {
		return prefix + "/"
	}
	return next
}
