// Package slacktest is a fake Slack for tests: the Web API methods giftdesk calls
// (auth.test, bots.info, chat.postMessage, chat.update, chat.delete, conversations.history,
// reactions.add, users.info, views.open, apps.connections.open, and the files of files.go:
// files.getUploadURLExternal with its upload URL, files.completeUploadExternal,
// files.info and url_private_download), a Socket Mode WebSocket, and builders for the
// signed requests and payloads Slack sends.
//
// It is a plain httptest server rather than slack-go's slacktest: that one is built for the
// RTM API (its WebSocket speaks RTM, not Socket Mode envelopes and acks), keeps its servers
// in a package-level hub, lacks chat.update, gives every message of the same second the same
// ts and cannot inject failures. Every method giftdesk uses would have to be overridden,
// leaving nothing of it but httptest.
//
// The fake checks what Slack would refuse: a wrong token (invalid_auth), a channel the bot
// is not in (not_in_channel), a reply to a thread that does not exist (thread_not_found),
// and Block Kit beyond Slack's limits or text with unescaped &, < or > (invalid_blocks).
// Messages get distinct, increasing ts values.
package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Identities of the fake workspace and its bot.
const (
	TeamID    = "T0GIFTDESK"
	AppID     = "A0GIFTDESK"
	BotUserID = "U0GIFTBOT"
	BotID     = "B0GIFTBOT"
	BotToken  = "xoxb-test-bot-token"
	AppToken  = "xapp-test-app-token"
)

// Identity is who the bot token belongs to: what auth.test and bots.info answer.
type Identity struct {
	TeamID, AppID, BotUserID, BotID string
}

// SetIdentity makes auth.test and bots.info answer with id instead of TeamID, AppID,
// BotUserID and BotID (the payload builders keep those).
func (s *Server) SetIdentity(id Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identity = id
}

// User is a member of the fake workspace.
type User struct {
	ID          string
	Name        string
	RealName    string
	DisplayName string
	Locale      string // "ja-JP", "en-US"; returned when users.info asks include_locale
}

// Message is a message in the fake workspace.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // empty for a message at the top of a channel
	User     string
	BotID    string // set for the bot's messages
	Text     string
	Blocks   json.RawMessage // as posted; nil for none
	Updates  int             // how many times chat.update changed it
	// Reactions are the names of the bot's reactions to it (reactions.add), in order.
	Reactions []string
	// Files are the ids of the files shared with it (files.completeUploadExternal).
	Files []string
	// Metadata is the message metadata it was posted with (chat.postMessage's metadata:
	// event_type and event_payload), as sent; nil for none. conversations.history and
	// conversations.replies return it only when asked with include_all_metadata.
	Metadata json.RawMessage
}

// Request is a Web API call that carries message text, as the fake received it.
type Request struct {
	Method string // chat.postMessage, chat.update, views.open
	Text   string // the text parameter: the notification text, parsed by Slack as mrkdwn
	// Blocks is the blocks parameter (or a view's blocks), as sent; nil for none.
	Blocks json.RawMessage
}

// View is a modal the app opened with views.open.
type View struct {
	ID              string
	User            string // who it was opened for: the user of its trigger
	CallbackID      string
	PrivateMetadata string
	Blocks          json.RawMessage
}

// Fault is a failure to answer a Web API call with, instead of handling it.
type Fault struct {
	Status     int    // HTTP status; 0 means 200 with ok=false and Error
	RetryAfter int    // seconds, sent as Retry-After (with Status 429)
	Error      string // Slack's error code, with Status 0
	// Lost handles the call first and answers the fault after: Slack did what was asked
	// (posted the message), but its answer never reached the caller (a timeout, a
	// dropped connection).
	Lost bool
}

// Server is a fake Slack. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	users    map[string]User
	members  map[string]bool     // channels the bot is in (DMs, "D…", always)
	people   map[string][]string // channels' members other than the bot
	messages []*Message
	faults   map[string][]Fault
	calls    []string
	requests []Request
	triggers map[string]string // trigger_id → user, while unused
	views    []View
	files    []*File // see files.go
	lastTS   time.Time
	seq      int
	identity Identity

	// Socket Mode.
	conn    *websocket.Conn
	connMu  sync.Mutex // serialises writes to conn
	acks    map[string]json.RawMessage
	pingsTo time.Duration
}

// NewServer starts a fake Slack; Close stops it.
func NewServer() *Server {
	s := &Server{
		changed:  make(chan struct{}),
		users:    map[string]User{},
		members:  map[string]bool{},
		faults:   map[string][]Fault{},
		triggers: map[string]string{},
		acks:     map[string]json.RawMessage{},
		pingsTo:  5 * time.Second,
		identity: Identity{TeamID: TeamID, AppID: AppID, BotUserID: BotUserID, BotID: BotID},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("GET /socket", s.socket)
	mux.HandleFunc("POST /upload/{id}", s.upload)
	mux.HandleFunc("GET /files/{id}/{rest...}", s.download)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		_ = conn.Close() // ends the Socket Mode handler, which httptest does not track
	}
	s.srv.Close()
}

// URL is the Web API's base URL, ending in a slash (slack-go's APIURL).
func (s *Server) URL() string { return s.srv.URL + "/api/" }

// AddUser adds u to the workspace.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// Join makes the bot a member of channel, so that it may post there.
func (s *Server) Join(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[channel] = true
}

// AddMembers makes users members of channel (conversations.members lists them, with the
// bot when it joined).
func (s *Server) AddMembers(channel string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.people == nil {
		s.people = map[string][]string{}
	}
	s.people[channel] = append(s.people[channel], users...)
}

// conversationMembers answers conversations.members, two members a page (so that
// pagination is exercised).
func (s *Server) conversationMembers(form map[string][]string) map[string]any {
	channel := first(form, "channel")
	if !strings.HasPrefix(channel, "D") && !s.members[channel] {
		return map[string]any{"error": "not_in_channel"}
	}
	all := slices.Clone(s.people[channel])
	all = append(all, s.identity.BotUserID)
	start, _ := strconv.Atoi(first(form, "cursor"))
	end := min(start+2, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return map[string]any{"members": all[min(start, end):end], "response_metadata": map[string]any{"next_cursor": next}}
}

// FailNext makes the next call of method (such as "chat.postMessage") fail with f; calls
// queue up in order.
func (s *Server) FailNext(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], f)
}

// Calls returns the Web API methods called so far, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Requests returns the calls that carried message text so far, in order, whether or not
// they succeeded.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Post adds a message written by user, as if they wrote it in Slack, and returns it.
// threadTS is empty for a message at the top of the channel.
func (s *Server) Post(channel, user, text, threadTS string) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: threadTS, User: user, Text: text}
	s.messages = append(s.messages, m)
	s.notify()
	return *m
}

// Message returns the message of channel with ts as it is now.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.find(channel, ts); m != nil {
		out := *m
		out.Reactions = slices.Clone(m.Reactions)
		return out, true
	}
	return Message{}, false
}

// Replies returns the bot's messages in the thread rooted at threadTS, oldest first.
func (s *Server) Replies(channel, threadTS string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replies(channel, threadTS)
}

func (s *Server) replies(channel, threadTS string) []Message {
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel && m.ThreadTS == threadTS && m.TS != threadTS && m.BotID != "" {
			out = append(out, *m)
		}
	}
	return out
}

// Messages returns every message of channel, oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// WaitReplies waits until the bot has posted at least n messages in the thread and returns
// them all.
func (s *Server) WaitReplies(ctx context.Context, channel, threadTS string, n int) ([]Message, error) {
	var out []Message
	err := s.wait(ctx, func() bool {
		out = s.replies(channel, threadTS)
		return len(out) >= n
	})
	return out, err
}

// WaitMessages waits until channel has at least n messages at its top (thread replies
// not counted) and returns them, oldest first.
func (s *Server) WaitMessages(ctx context.Context, channel string, n int) ([]Message, error) {
	var out []Message
	err := s.wait(ctx, func() bool {
		out = out[:0]
		for _, m := range s.messages {
			if m.Channel == channel && (m.ThreadTS == "" || m.ThreadTS == m.TS) {
				out = append(out, *m)
			}
		}
		return len(out) >= n
	})
	return out, err
}

// WaitUpdated waits until the message of channel with ts has been updated at least n times.
func (s *Server) WaitUpdated(ctx context.Context, channel, ts string, n int) (Message, error) {
	var out Message
	err := s.wait(ctx, func() bool {
		m := s.find(channel, ts)
		if m != nil {
			out = *m
		}
		return m != nil && m.Updates >= n
	})
	return out, err
}

// wait calls done under the lock whenever something changes, until it returns true.
func (s *Server) wait(ctx context.Context, done func() bool) error {
	for {
		s.mu.Lock()
		ok := done()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// notify wakes the waiters; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextTS returns a new Slack timestamp, distinct from and later than every earlier one;
// s.mu is held.
func (s *Server) nextTS() string {
	t := time.Now().Truncate(time.Microsecond)
	if !t.After(s.lastTS) {
		t = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = t
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// NextTS returns a new timestamp, as Slack's action_ts.
func (s *Server) NextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextTS()
}

// id returns a new id with prefix; s.mu is held.
func (s *Server) id(prefix string) string {
	s.seq++
	return prefix + strconv.Itoa(1000000+s.seq)
}

func (s *Server) find(channel, ts string) *Message {
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			return m
		}
	}
	return nil
}

// api answers one Web API call.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	var body []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, _ = io.ReadAll(r.Body)
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	token := r.PostForm.Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, method)
	if method == "chat.postMessage" || method == "chat.update" {
		req := Request{Method: method, Text: r.PostForm.Get("text")}
		if b := r.PostForm.Get("blocks"); b != "" {
			req.Blocks = json.RawMessage(b)
		}
		s.requests = append(s.requests, req)
	}
	s.notify() // for WaitCalls
	if fs := s.faults[method]; len(fs) > 0 {
		f := fs[0]
		s.faults[method] = fs[1:]
		if f.Lost && token == BotToken {
			s.handle(method, r.PostForm, body)
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		if f.Status != 0 {
			http.Error(w, http.StatusText(f.Status), f.Status)
			return
		}
		reply(w, map[string]any{"ok": false, "error": f.Error})
		return
	}
	want := BotToken
	if method == "apps.connections.open" {
		want = AppToken
	}
	if token != want {
		reply(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	res := s.handle(method, r.PostForm, body)
	if _, failed := res["error"]; !failed {
		res["ok"] = true
	}
	reply(w, res)
}

// handle carries out one authorised Web API call and returns its answer; s.mu is held.
func (s *Server) handle(method string, form url.Values, body []byte) map[string]any {
	var res map[string]any
	switch method {
	case "auth.test":
		id := s.identity
		res = map[string]any{"url": "https://giftdesk-test.slack.com/", "team": "giftdesk test", "user": "giftdesk",
			"team_id": id.TeamID, "user_id": id.BotUserID, "bot_id": id.BotID}
	case "bots.info":
		if id := s.identity; first(form, "bot") == id.BotID {
			res = map[string]any{"bot": map[string]any{"id": id.BotID, "name": "giftdesk", "app_id": id.AppID, "user_id": id.BotUserID}}
		} else {
			res = map[string]any{"error": "bot_not_found"}
		}
	case "users.info":
		res = s.usersInfo(form)
	case "chat.postMessage":
		res = s.postMessage(form)
	case "chat.update":
		res = s.update(form)
	case "chat.delete":
		res = s.deleteMessage(form)
	case "conversations.history":
		res = s.history(form)
	case "conversations.members":
		res = s.conversationMembers(form)
	case "reactions.add":
		res = s.addReaction(form)
	case "views.open":
		res = s.openView(body)
	case "apps.connections.open":
		res = map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket?ticket=test"}
	default:
		res = s.fileMethod(method, form) // files.go
	}
	return res
}

func reply(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) usersInfo(form map[string][]string) map[string]any {
	u, ok := s.users[first(form, "user")]
	if !ok {
		return map[string]any{"error": "user_not_found"}
	}
	user := map[string]any{
		"id": u.ID, "name": u.Name, "real_name": u.RealName,
		"profile": map[string]any{"real_name": u.RealName, "display_name": u.DisplayName},
	}
	if first(form, "include_locale") == "true" && u.Locale != "" {
		user["locale"] = u.Locale
	}
	return map[string]any{"user": user}
}

func (s *Server) postMessage(form map[string][]string) map[string]any {
	channel, thread := first(form, "channel"), first(form, "thread_ts")
	if p := s.checkMessage(form, channel); p != nil {
		return p
	}
	if thread != "" && s.find(channel, thread) == nil {
		return map[string]any{"error": "thread_not_found"}
	}
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: thread, User: BotUserID, BotID: BotID,
		Text: first(form, "text")}
	if b := first(form, "blocks"); b != "" {
		m.Blocks = s.withBlockIDs(b)
	}
	if md := first(form, "metadata"); md != "" {
		var v struct {
			EventType    string         `json:"event_type"`
			EventPayload map[string]any `json:"event_payload"`
		}
		if json.Unmarshal([]byte(md), &v) != nil || v.EventType == "" || v.EventPayload == nil {
			return map[string]any{"error": "invalid_metadata_format"}
		}
		m.Metadata = json.RawMessage(md)
	}
	s.messages = append(s.messages, m)
	s.notify()
	return map[string]any{"channel": channel, "ts": m.TS, "message": map[string]any{
		"type": "message", "ts": m.TS, "thread_ts": thread, "text": m.Text, "user": m.User, "bot_id": m.BotID,
	}}
}

func (s *Server) update(form map[string][]string) map[string]any {
	channel, ts := first(form, "channel"), first(form, "ts")
	if p := s.checkMessage(form, channel); p != nil {
		return p
	}
	m := s.find(channel, ts)
	switch {
	case m == nil:
		return map[string]any{"error": "message_not_found"}
	case m.BotID != BotID:
		return map[string]any{"error": "cant_update_message"}
	}
	if _, ok := form["text"]; ok {
		m.Text = first(form, "text")
	}
	if b, ok := form["blocks"]; ok && len(b) > 0 {
		m.Blocks = s.withBlockIDs(b[0])
	}
	m.Updates++
	s.notify()
	return map[string]any{"channel": channel, "ts": ts, "text": m.Text}
}

func (s *Server) deleteMessage(form map[string][]string) map[string]any {
	channel, ts := first(form, "channel"), first(form, "ts")
	i := slices.IndexFunc(s.messages, func(m *Message) bool { return m.Channel == channel && m.TS == ts })
	switch {
	case i < 0:
		return map[string]any{"error": "message_not_found"}
	case s.messages[i].BotID != BotID:
		return map[string]any{"error": "cant_delete_message"}
	}
	s.messages = slices.Delete(s.messages, i, i+1)
	s.notify()
	return map[string]any{"channel": channel, "ts": ts}
}

// openView answers views.open: a modal for an unused trigger of an interaction.
func (s *Server) openView(body []byte) map[string]any {
	var req struct {
		TriggerID string `json:"trigger_id"`
		View      struct {
			Type            string          `json:"type"`
			CallbackID      string          `json:"callback_id"`
			PrivateMetadata string          `json:"private_metadata"`
			Blocks          json.RawMessage `json:"blocks"`
		} `json:"view"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return map[string]any{"error": "invalid_json"}
	}
	user, ok := s.triggers[req.TriggerID]
	switch {
	case !ok:
		return map[string]any{"error": "invalid_trigger_id"}
	case req.View.Type != "modal":
		return map[string]any{"error": "invalid_arguments"}
	}
	if probs := CheckBlocks(req.View.Blocks); len(probs) > 0 {
		return map[string]any{"error": "invalid_arguments", "response_metadata": map[string]any{"messages": probs}}
	}
	delete(s.triggers, req.TriggerID)
	v := View{ID: s.id("V"), User: user, CallbackID: req.View.CallbackID, PrivateMetadata: req.View.PrivateMetadata,
		Blocks: req.View.Blocks}
	s.views = append(s.views, v)
	s.notify()
	return map[string]any{"view": map[string]any{"id": v.ID, "type": "modal", "callback_id": v.CallbackID}}
}

// WaitView waits until the app has opened n modals and returns the last.
func (s *Server) WaitView(ctx context.Context, n int) (View, error) {
	var out View
	err := s.wait(ctx, func() bool {
		if len(s.views) >= n {
			out = s.views[n-1]
			return true
		}
		return false
	})
	return out, err
}

// Views returns the modals the app opened, in order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.views)
}

// trigger returns a new trigger_id for an interaction of user; s.mu is held.
func (s *Server) trigger(user string) string {
	t := s.id("trigger.")
	s.triggers[t] = user
	return t
}

// addReaction answers reactions.add: the bot reacts to a message of a channel it is in,
// once per name.
func (s *Server) addReaction(form map[string][]string) map[string]any {
	channel, ts, name := first(form, "channel"), first(form, "timestamp"), first(form, "name")
	if !strings.HasPrefix(channel, "D") && !s.members[channel] {
		return map[string]any{"error": "not_in_channel"}
	}
	m := s.find(channel, ts)
	switch {
	case name == "":
		return map[string]any{"error": "invalid_name"}
	case m == nil:
		return map[string]any{"error": "message_not_found"}
	case slices.Contains(m.Reactions, name):
		return map[string]any{"error": "already_reacted"}
	}
	m.Reactions = append(m.Reactions, name)
	s.notify()
	return map[string]any{}
}

// WaitReaction waits until the bot has reacted to the message of channel with ts and
// returns the message.
func (s *Server) WaitReaction(ctx context.Context, channel, ts string) (Message, error) {
	var out Message
	err := s.wait(ctx, func() bool {
		m := s.find(channel, ts)
		if m != nil {
			out = *m
			out.Reactions = slices.Clone(m.Reactions)
		}
		return m != nil && len(m.Reactions) > 0
	})
	return out, err
}

// history answers conversations.history: the messages at the top of the channel (thread
// replies are not listed), newest first, at or before latest and at or after oldest
// (strictly between them unless inclusive), at most limit (default 100), each with its
// metadata when include_all_metadata is set.
func (s *Server) history(form map[string][]string) map[string]any {
	channel := first(form, "channel")
	if !strings.HasPrefix(channel, "D") && !s.members[channel] {
		return map[string]any{"error": "not_in_channel"}
	}
	latest, oldest := first(form, "latest"), first(form, "oldest")
	inclusive := first(form, "inclusive") == "1" || first(form, "inclusive") == "true"
	limit, err := strconv.Atoi(first(form, "limit"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	msgs := []map[string]any{}
	for i := len(s.messages) - 1; i >= 0 && len(msgs) < limit; i-- {
		m := s.messages[i]
		if m.Channel != channel || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue
		}
		if latest != "" && (tsAfter(m.TS, latest) || (!inclusive && m.TS == latest)) {
			continue
		}
		if oldest != "" && (tsAfter(oldest, m.TS) || (!inclusive && m.TS == oldest)) {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "user": m.User}
		if m.BotID != "" {
			msg["bot_id"] = m.BotID
		}
		if m.Metadata != nil && withMetadata(form) {
			msg["metadata"] = m.Metadata
		}
		if m.Blocks != nil {
			msg["blocks"] = m.Blocks
		}
		msgs = append(msgs, msg)
	}
	return map[string]any{"messages": msgs, "has_more": false}
}

// withMetadata reports whether a conversations.history or conversations.replies call asks
// for the messages' metadata.
func withMetadata(form map[string][]string) bool {
	v := first(form, "include_all_metadata")
	return v == "1" || v == "true"
}

// tsAfter reports whether Slack timestamp a is later than b.
func tsAfter(a, b string) bool {
	as, af, _ := strings.Cut(a, ".")
	bs, bf, _ := strings.Cut(b, ".")
	if len(as) != len(bs) {
		return len(as) > len(bs)
	}
	if as != bs {
		return as > bs
	}
	return (af + "000000")[:6] > (bf + "000000")[:6]
}

// checkMessage returns the error Slack would answer a message with, or nil.
func (s *Server) checkMessage(form map[string][]string, channel string) map[string]any {
	switch {
	case channel == "":
		return map[string]any{"error": "channel_not_found"}
	case !strings.HasPrefix(channel, "D") && !s.members[channel]:
		return map[string]any{"error": "not_in_channel"}
	case first(form, "text") == "" && first(form, "blocks") == "":
		return map[string]any{"error": "no_text"}
	}
	if probs := CheckText(first(form, "text")); len(probs) > 0 {
		return map[string]any{"error": "invalid_text", "response_metadata": map[string]any{"messages": probs}}
	}
	if b := first(form, "blocks"); b != "" {
		if probs := CheckBlocks([]byte(b)); len(probs) > 0 {
			return map[string]any{"error": "invalid_blocks", "response_metadata": map[string]any{"messages": probs}}
		}
	}
	return nil
}

// withBlockIDs gives every block without a block_id one, as Slack does; s.mu is held.
func (s *Server) withBlockIDs(raw string) json.RawMessage {
	var blocks []map[string]any
	if json.Unmarshal([]byte(raw), &blocks) != nil {
		return json.RawMessage(raw)
	}
	for _, b := range blocks {
		if id, _ := b["block_id"].(string); id == "" {
			b["block_id"] = s.id("blk")
		}
	}
	out, _ := json.Marshal(blocks)
	return out
}

func first(form map[string][]string, k string) string {
	if v := form[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}
