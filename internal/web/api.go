package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// maxBody is the largest POST /api/messages body: a message of MaxText characters of up to
// four bytes each, with room for the JSON around it.
func (c *Channel) maxBody() int64 { return int64(c.cfg.MaxText)*4 + 2048 }

// maxPostback bounds a tapped choice's data (bot.Choice.Data: LINE's 300 bytes) and
// maxLabel its label.
const (
	maxPostback = 300
	maxLabel    = 100
)

// headers sets the headers of every response: the content security policy (no inline
// script, framed only by the page's own origin and Config.Origins) and no MIME sniffing.
func (c *Channel) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", c.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// api wraps an API handler: the common headers, no caching, and CORS for Config.Origins. A
// request that says it comes from another origin, not allowed, is refused (403): with the
// JSON content type that POST requires, this is what keeps other sites from posting as
// the customer.
func (c *Channel) api(next http.HandlerFunc) http.Handler {
	return c.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
			if !c.origins[o] {
				c.fail(w, r, "forbidden", "")
				return
			}
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
			}
		}
		next(w, r)
	}))
}

// sameOrigin reports whether origin is the host the request was sent to, or the one a
// proxy in front says it was (X-Forwarded-Host).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || strings.EqualFold(u.Host, r.Header.Get("X-Forwarded-Host"))
}

// CheckOrigin returns an error unless o is an origin: http or https, a host, no path.
func CheckOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("web: %q is not an origin such as https://shop.example", o)
	}
	return nil
}

// apiError is the body of an API error.
type apiError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// statuses maps the API's error codes to their HTTP status: the one place where an
// outcome becomes a status.
var statuses = map[string]int{
	"bad_json": http.StatusBadRequest, "bad_id": http.StatusBadRequest, "empty": http.StatusBadRequest,
	"bad_after": http.StatusBadRequest, "bad_session": http.StatusUnauthorized, "forbidden": http.StatusForbidden,
	"too_long": http.StatusRequestEntityTooLarge, "rate_limited": http.StatusTooManyRequests,
	"unavailable": http.StatusServiceUnavailable,
}

// fail writes an API error: the code's status, the code, and a message for the customer
// in the session's language (the conversation's, else Accept-Language), formatted with
// args when it has verbs.
func (c *Channel) fail(w http.ResponseWriter, r *http.Request, code, conv string, args ...any) {
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	lang := c.lang(r, conv)
	msg := errorText(code, lang)
	if strings.Contains(msg, "%") {
		msg = fmt.Sprintf(msg, args...)
	}
	if status == http.StatusRequestEntityTooLarge {
		// The body may not have been read to its end: do not read the rest.
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, status, apiError{Code: code, Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// lang returns the session's language: the conversation's when it has one, else the
// request's Accept-Language, else Japanese.
func (c *Channel) lang(r *http.Request, conv string) bot.Lang {
	if conv != "" && c.cfg.Conversations != nil {
		if cv, err := c.cfg.Conversations.Conversation(r.Context(), bot.Key{Channel: Name, User: conv}); err == nil && cv.Lang != "" {
			return cv.Lang
		}
	}
	return acceptLang(r.Header.Get("Accept-Language"))
}

// acceptLang returns the first supported language of an Accept-Language header, by
// order and quality; Japanese when none is.
func acceptLang(h string) bot.Lang {
	best, bestQ := bot.Japanese, -1.0
	for part := range strings.SplitSeq(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		l, ok := bot.ParseLang(strings.TrimSpace(tag))
		if !ok {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// remoteIP is the address of the connection's other end.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// addressKey is what the per-address limits count by for a client's address: an IPv6
// address's /64 (one subscriber's network, whose addresses the client can rotate through
// at will), an IPv4 address (mapped into IPv6 or not) as such; anything else as it is.
func addressKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64) // cannot fail: an IPv6 address
	return p.String()
}

// ClientIPHeader returns a Config.ClientIP for a server behind a proxy that tells the
// client's address in header name (X-Real-IP, CF-Connecting-IP, X-Forwarded-For): its last
// value, the one the proxy itself added (earlier ones come from the client, who may write
// anything). A request without the header counts by its connection's address.
func ClientIPHeader(name string) func(r *http.Request) string {
	return func(r *http.Request) string {
		vs := r.Header.Values(name)
		if len(vs) == 0 {
			return remoteIP(r)
		}
		v := vs[len(vs)-1]
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:]
		}
		if v = strings.TrimSpace(v); v == "" {
			return remoteIP(r)
		}
		return v
	}
}

// session answers GET /api/session: the session's language and the longest message. On
// a conversation whose log is empty it stores the greeting, an InFollow event whose id
// the conversation fixes, so it is stored once however often the page asks.
func (c *Channel) session(w http.ResponseWriter, r *http.Request) {
	conv, refused := c.enter(w, r)
	if refused != "" {
		return
	}
	recs, err := c.cfg.Log.ReadWeb(r.Context(), conv, 0, 1)
	if err != nil {
		c.log.Error("read web log", "conversation", conv, "err", err)
		c.fail(w, r, "unavailable", conv)
		return
	}
	lang := c.lang(r, conv)
	if len(recs) == 0 {
		ev := bot.Event{
			ID: Name + ":" + conv + ":follow", Key: bot.Key{Channel: Name, User: conv}, Address: conv,
			In: bot.Inbound{Kind: bot.InFollow, Lang: lang}, At: c.cfg.Now(),
		}
		fresh, err := c.cfg.Inbox.AddEvents(r.Context(), []bot.Event{ev})
		if err != nil {
			c.log.Error("store greeting", "conversation", conv, "err", err)
			c.fail(w, r, "unavailable", conv)
			return
		}
		if fresh[0] {
			c.hub.pending(conv, ev.ID, c.cfg.Now().Add(c.cfg.Typing))
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Lang    bot.Lang `json:"lang"`
		MaxText int      `json:"max_text"`
	}{lang, c.cfg.MaxText})
}

// enter returns the request's conversation, making a new one when the request has no
// cookie (within the per-address limit). It has answered the request when refused is
// not empty, and says why: a forged or foreign cookie ("bad_session": 401, the cookie
// cleared), or too many new conversations ("rate_limited": 429).
func (c *Channel) enter(w http.ResponseWriter, r *http.Request) (conv, refused string) {
	if ck, err := r.Cookie(CookieName); err != nil || ck.Value == "" {
		if wait, ok := c.addrRate.take(c.cfg.ClientIP(r)); !ok {
			c.tooMany(w, r, "", wait)
			return "", "rate_limited"
		}
	}
	conv, _, err := c.conversation(w, r)
	if err != nil {
		c.clearCookie(w, r)
		c.fail(w, r, "bad_session", "")
		return "", "bad_session"
	}
	return conv, ""
}

func (c *Channel) tooMany(w http.ResponseWriter, r *http.Request, conv string, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	c.fail(w, r, "rate_limited", conv)
}

// post is the body of POST /api/messages.
type post struct {
	ID       string  `json:"id"`
	Text     *string `json:"text"`
	Postback *string `json:"postback"`
	Label    string  `json:"label"`
}

// messages answers POST /api/messages: the message is logged and stored in the inbox,
// then answered 202 (a resend of the same id: 202 again, nothing stored twice).
func (c *Channel) messages(w http.ResponseWriter, r *http.Request) {
	start := c.cfg.Now()
	outcome, fresh := c.message(w, r)
	dup := 0
	if outcome == "accepted" && !fresh {
		dup = 1
	}
	fr := 0
	if fresh {
		fr = 1
	}
	d := c.cfg.Now().Sub(start)
	if c.cfg.Observe != nil {
		c.cfg.Observe(outcome, fr, dup, d)
	}
	c.log.Info("message", "outcome", outcome, "events", fr, "duplicates", dup,
		"duration_ms", float64(d.Microseconds())/1000)
}

func (c *Channel) message(w http.ResponseWriter, r *http.Request) (outcome string, fresh bool) {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		c.fail(w, r, "bad_json", "")
		return "bad_json", false
	}
	conv, refused := c.enter(w, r)
	if refused != "" {
		return refused, false
	}
	if wait, ok := c.convRate.take(conv); !ok {
		c.tooMany(w, r, conv, wait)
		return "rate_limited", false
	}
	if wait, ok := c.addrRate.take(c.cfg.ClientIP(r)); !ok {
		c.tooMany(w, r, conv, wait)
		return "rate_limited", false
	}
	if r.ContentLength > c.maxBody() {
		c.fail(w, r, "too_long", conv, c.cfg.MaxText)
		return "too_long", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, c.maxBody())
	body, err := c.cfg.Bodies.Read(r)
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe) || errors.Is(err, budget.ErrTooLarge):
			c.fail(w, r, "too_long", conv, c.cfg.MaxText)
			return "too_long", false
		case errors.Is(err, budget.ErrBusy):
			w.Header().Set("Retry-After", "5")
			c.fail(w, r, "unavailable", conv)
			return "busy", false
		}
		c.fail(w, r, "bad_json", conv)
		return "unreadable", false
	}
	var p post
	err = json.Unmarshal(body.Bytes, &p)
	body.Release()
	if err != nil {
		c.fail(w, r, "bad_json", conv)
		return "bad_json", false
	}
	if !validClientID(p.ID) {
		c.fail(w, r, "bad_id", conv)
		return "bad_id", false
	}
	in, shown, code := c.inbound(p)
	if code != "" {
		c.fail(w, r, code, conv, c.cfg.MaxText) // too_long's message says the limit
		return code, false
	}
	if in.Kind == bot.InPostback && strings.HasPrefix(in.Postback, jumpPrefix) {
		// A jump goes to the node it names from anywhere in the flow, so it is taken only
		// when the bot offered it in this conversation; otherwise (made up in the browser)
		// it is read as its label typed.
		ok, err := c.offered(r.Context(), conv, in.Postback)
		if err != nil {
			c.log.Error("read the log for a choice", "conversation", conv, "err", err)
			c.fail(w, r, "unavailable", conv)
			return "store_error", false
		}
		if !ok {
			if in.Text == "" {
				c.fail(w, r, "empty", conv)
				return "empty", false
			}
			in = bot.Inbound{Kind: bot.InText, Text: in.Text}
		}
	}
	now := c.cfg.Now()
	// The customer's entry is logged first, so that it comes before the answer; a resend
	// finds it there (its ref) and logs nothing.
	data, err := json.Marshal(entry{From: "customer", Kind: "text", Text: c.cfg.Redact(shown), ClientID: p.ID, At: now.UTC()})
	if err != nil {
		c.fail(w, r, "bad_json", conv)
		return "bad_json", false
	}
	if _, err := c.cfg.Log.AppendWeb(r.Context(), conv, []weblog.Record{{Ref: "c:" + p.ID, At: now, Data: data}}); err != nil {
		c.log.Error("log customer message", "conversation", conv, "err", err)
		c.fail(w, r, "unavailable", conv)
		return "store_error", false
	}
	c.hub.notify(conv)
	ev := bot.Event{
		ID: Name + ":" + conv + ":" + p.ID, Key: bot.Key{Channel: Name, User: conv}, Address: conv, In: in, At: now,
	}
	added, err := c.cfg.Inbox.AddEvents(r.Context(), []bot.Event{ev})
	if err != nil {
		c.log.Error("store event", "conversation", conv, "err", err)
		c.fail(w, r, "unavailable", conv)
		return "store_error", false
	}
	if added[0] {
		c.hub.pending(conv, ev.ID, now.Add(c.cfg.Typing))
	}
	writeJSON(w, http.StatusAccepted, struct {
		ID string `json:"id"`
	}{p.ID})
	return "accepted", added[0]
}

// inbound converts a post; code names what is wrong with it ("" when nothing is). shown
// is what the log shows the customer sent: the text, or the tapped choice's label.
func (c *Channel) inbound(p post) (in bot.Inbound, shown, code string) {
	switch {
	case p.Text != nil && p.Postback != nil:
		return in, "", "bad_json"
	case p.Text != nil:
		t := strings.TrimSpace(*p.Text)
		if !utf8.ValidString(t) {
			return in, "", "bad_json"
		}
		if t == "" {
			return in, "", "empty"
		}
		if utf8.RuneCountInString(t) > c.cfg.MaxText {
			return in, "", "too_long"
		}
		return bot.Inbound{Kind: bot.InText, Text: t}, t, ""
	case p.Postback != nil:
		data, label := *p.Postback, strings.TrimSpace(p.Label)
		if data == "" {
			return in, "", "empty"
		}
		if len(data) > maxPostback || utf8.RuneCountInString(label) > maxLabel || !utf8.ValidString(data) || !utf8.ValidString(label) {
			return in, "", "bad_json"
		}
		return bot.Inbound{Kind: bot.InPostback, Postback: data, Text: label}, label, ""
	}
	return in, "", "empty"
}

// jumpPrefix starts the data of a "did you mean" choice that jumps to a node of the flow
// (bot's postback "j:<node>").
const jumpPrefix = "j:"

// offered reports whether the bot offered a choice with data in conversation conv: it
// reads the conversation's log (a few hundred entries at most, within the retention).
func (c *Channel) offered(ctx context.Context, conv, data string) (bool, error) {
	const page = 500
	for after := int64(0); ; {
		recs, err := c.cfg.Log.ReadWeb(ctx, conv, after, page)
		if err != nil {
			return false, err
		}
		for _, rec := range recs {
			after = rec.Seq
			var e struct {
				From    string       `json:"from"`
				Choices []bot.Choice `json:"choices"`
			}
			if json.Unmarshal(rec.Data, &e) != nil || e.From != "bot" {
				continue
			}
			for _, ch := range e.Choices {
				if ch.Data == data {
					return true, nil
				}
			}
		}
		if len(recs) < page {
			return false, nil
		}
	}
}

// validClientID reports whether id is a client-generated message id: 8 to 64 characters
// of A-Z, a-z, 0-9, '_' and '-'.
func validClientID(id string) bool {
	if len(id) < 8 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
