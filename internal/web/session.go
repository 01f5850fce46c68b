package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// CookieName is the cookie that holds the conversation: "<id>.<HMAC-SHA256 of the id,
// base64url>".
const CookieName = "giftdesk_web"

// minSecret is the shortest key accepted, in bytes.
const minSecret = 16

// idBytes is the length of a conversation id before encoding: 128 random bits.
const idBytes = 16

// errBadSession means a cookie is present but not one this server signed.
var errBadSession = errors.New("bad_session")

// Secret returns the key that signs the cookies: configured, when not empty (at least 16
// bytes; GIFTDESK_WEB_SECRET), or else the one kept in the store, generated on first use,
// so that every replica and every restart signs alike.
func Secret(ctx context.Context, store weblog.Store, configured string) ([]byte, error) {
	if configured != "" {
		if len(configured) < minSecret {
			return nil, fmt.Errorf("want at least %d characters", minSecret)
		}
		return []byte(configured), nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := store.WebSecret(ctx, fresh)
	if err != nil {
		return nil, err
	}
	if len(key) < minSecret {
		return nil, errors.New("the web secret stored in the database is too short")
	}
	return key, nil
}

// sign returns the cookie value for conversation id.
func (c *Channel) sign(id string) string {
	return id + "." + base64.RawURLEncoding.EncodeToString(c.mac(id))
}

func (c *Channel) mac(id string) []byte {
	m := hmac.New(sha256.New, c.cfg.Secret)
	m.Write([]byte("giftdesk web conversation\x00"))
	m.Write([]byte(id))
	return m.Sum(nil)
}

// verify returns the conversation id of a cookie value, or errBadSession.
func (c *Channel) verify(v string) (string, error) {
	id, sig, ok := strings.Cut(v, ".")
	if !ok || !validID(id) {
		return "", errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.mac(id)) {
		return "", errBadSession
	}
	return id, nil
}

// validID reports whether id can be a conversation id: the base64url of idBytes bytes.
func validID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// conversation returns the request's conversation id. Without a cookie it makes a new
// conversation and sets its cookie (fresh is true); a cookie this server did not sign is
// errBadSession.
func (c *Channel) conversation(w http.ResponseWriter, r *http.Request) (id string, fresh bool, err error) {
	ck, err := r.Cookie(CookieName)
	if err == nil && ck.Value != "" {
		id, err := c.verify(ck.Value)
		return id, false, err
	}
	b := make([]byte, idBytes)
	rand.Read(b)
	id = base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, c.cookie(r, c.sign(id), 0))
	return id, true, nil
}

// clearCookie tells the browser to forget the request's cookie (a forged or foreign one),
// so that the page starts over with a fresh one.
func (c *Channel) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, c.cookie(r, "", -1))
}

// cookie returns the cookie holding value: HttpOnly, for the whole site, for a year
// (maxAge 0), or deleting it (maxAge -1). Over HTTPS it is Secure; when the page may be
// embedded in another site's frame, it must travel in that frame too: SameSite=None,
// partitioned by the embedding site (CHIPS), where browsers block third-party cookies.
func (c *Channel) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	ck := &http.Cookie{
		Name: CookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		MaxAge: 365 * 24 * 3600,
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	}
	if secure(r) {
		ck.Secure = true
		if len(c.origins) > 0 {
			ck.SameSite, ck.Partitioned = http.SameSiteNoneMode, true
		}
	}
	return ck
}

// secure reports whether the page was reached over HTTPS: directly, or through a proxy
// that says so (X-Forwarded-Proto). A client that lies only makes its own cookie Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
