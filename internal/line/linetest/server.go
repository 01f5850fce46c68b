package linetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// DefaultToken is the channel access token a Server expects when Config.Token is empty.
const DefaultToken = "linetest-channel-access-token"

// DefaultReplyTokenTTL is how long an issued reply token stays valid when
// Config.ReplyTokenTTL is zero. LINE asks for a reply within a minute of the webhook.
const DefaultReplyTokenTTL = time.Minute

// The endpoints the fake implements, as the spec writes their paths. They name routes in
// FailNext, Enqueue and Attempts and appear in Call.Route.
const (
	PathReply   = "/v2/bot/message/reply"
	PathPush    = "/v2/bot/message/push"
	PathProfile = "/v2/bot/profile/{userId}"
	PathLoading = "/v2/bot/chat/loading/start"
)

// The error messages LINE answers with, reproduced exactly where LINE's wording is known.
const (
	msgInvalidReplyToken = "Invalid reply token"
	msgRetryKeyAccepted  = "The retry key is already accepted"
	msgUnauthorized      = "Authentication failed. Confirm that the access token in the authorization header is valid."
	msgNotFound          = "Not found"
	msgRateLimited       = "The API rate limit has been exceeded. Try again later."
	msgInternal          = "An error occurred in the API server."
)

// retryKeyLifetime is how long LINE remembers an accepted X-Line-Retry-Key.
const retryKeyLifetime = 24 * time.Hour

// maxBody bounds what the fake reads of a request body; LINE's own limit is 2 MB.
const maxBody = 2 << 20

// Config configures a Server. The zero value is usable: every zero field means the
// default that its comment names.
type Config struct {
	// Token is the channel access token expected as "Authorization: Bearer <Token>";
	// default DefaultToken.
	Token string
	// ReplyTokenTTL is how long a token from IssueReplyToken or RegisterReplyToken stays
	// valid; default DefaultReplyTokenTTL.
	ReplyTokenTTL time.Duration
	// Now is the clock used for reply token and retry key expiry and Call.Time;
	// default time.Now.
	Now func() time.Time
	// Spec is an already loaded OpenAPI document, for sharing one among many servers;
	// default: LoadSpec.
	Spec *Spec
	// Profiles are the users GET /v2/bot/profile/{userId} knows; others get 404.
	Profiles map[string]Profile
	// SkipValidation turns off the checks of request bodies against the OpenAPI
	// document and LINE's limits (the spec is then not loaded either), for load tests
	// where validating every request costs more than the code under test. Bodies are
	// still parsed, and a body that is not a JSON object is still rejected.
	SkipValidation bool
	// NoHistory makes the fake keep no record of calls, replies, pushes, loadings and
	// deliveries, so a long load test does not grow it: Calls, Replies, Pushes,
	// Loadings and Delivered return nothing (count with OnCall instead). Reply tokens,
	// retry keys and validation errors still work.
	NoHistory bool
	// OnCall, when set, is called with every request once it has been answered, from the
	// goroutine that served it; the Call is the caller's. It must not block for long.
	OnCall func(Call)
	// Logf, when set, receives a line for every request the fake rejects as invalid;
	// New sets it to the test's Logf. Default: nothing is logged.
	Logf func(format string, args ...any)
}

// Profile is what the profile endpoint returns for one user. Empty fields are left out
// of the response, as LINE leaves them out.
type Profile struct {
	DisplayName   string
	Language      string
	PictureURL    string
	StatusMessage string
}

// Fault is one scripted failure of an endpoint, answered instead of handling a request.
type Fault struct {
	// Status is the HTTP status to answer with, e.g. 429, 500 or 400.
	Status int
	// RetryAfter, when positive, is sent as a Retry-After header in whole seconds
	// (rounded up). FailNext sets 1s for 429.
	RetryAfter time.Duration
	// Message is the "message" of the JSON error body; default LINE's text for Status.
	Message string
	// Delay holds the answer back, on top of SetLatency.
	Delay time.Duration
}

// Server is a fake LINE Messaging API on its own loopback listener. It is safe for concurrent
// use: the code under test may call it from any goroutine while the test inspects it.
type Server struct {
	logf      func(format string, args ...any) // Config.Logf; nil logs nothing
	http      *http.Server
	url       string
	client    *http.Client
	serveDone chan struct{} // closed when http.Serve has returned
	token     string
	ttl       time.Duration
	now       func() time.Time
	spec      *Spec
	skip      bool // Config.SkipValidation
	noHistory bool
	onCall    func(Call)
	done      chan struct{} // closed by Close, to cut delays short
	closeOnce sync.Once
	revoked   atomic.Bool // SetRevoked

	mu        sync.Mutex
	nextID    int64
	calls     []Call
	replies   []Reply
	pushes    []Push
	loadings  []Loading
	delivered map[string][]Message
	tokens    map[string]*replyToken
	retryKeys map[string]acceptedPush
	faults    map[string][]Fault
	latency   time.Duration
	profiles  map[string]Profile
	rich      *richMenus // see richmenu.go
	errs      []ValidationError
	contents  map[string]content // SetContent; see content.go
	changed   chan struct{}      // closed and replaced whenever a request has been handled
}

type replyToken struct {
	userID  string
	expires time.Time
	used    bool
}

type acceptedPush struct {
	at        time.Time
	requestID string
	sent      []sentMessage
}

type sentMessage struct {
	ID         string `json:"id"`
	QuoteToken string `json:"quoteToken,omitempty"`
}

// errorBody is LINE's error response object.
type errorBody struct {
	Message      string        `json:"message"`
	Details      []Detail      `json:"details,omitempty"`
	SentMessages []sentMessage `json:"sentMessages,omitempty"`
}

// Start starts a fake LINE Messaging API on a loopback port. The caller calls Close when
// done and reads validation failures with Errors; in a test, New does both. Start returns
// an error when the OpenAPI document does not load or no port can be opened.
func Start(cfg Config) (*Server, error) {
	s := &Server{
		logf:      cfg.Logf,
		token:     cfg.Token,
		ttl:       cfg.ReplyTokenTTL,
		now:       cfg.Now,
		spec:      cfg.Spec,
		skip:      cfg.SkipValidation,
		noHistory: cfg.NoHistory,
		onCall:    cfg.OnCall,
		done:      make(chan struct{}),
		serveDone: make(chan struct{}),
		nextID:    600000000000000000,
		delivered: map[string][]Message{},
		tokens:    map[string]*replyToken{},
		retryKeys: map[string]acceptedPush{},
		faults:    map[string][]Fault{},
		profiles:  map[string]Profile{},
		changed:   make(chan struct{}),
	}
	if s.token == "" {
		s.token = DefaultToken
	}
	if s.ttl == 0 {
		s.ttl = DefaultReplyTokenTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	for id, p := range cfg.Profiles {
		s.profiles[id] = p
	}
	if s.skip {
		s.spec = nil
	} else if s.spec == nil {
		spec, err := LoadSpec()
		if err != nil {
			return nil, fmt.Errorf("linetest: %w", err)
		}
		s.spec = spec
	}

	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.handler(rt))
	}
	mux.HandleFunc("GET "+PathContent, s.serveContent)
	mux.Handle("/", s.handler(route{serve: (*Server).serveNotFound}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("linetest: listen: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	go func() {
		defer close(s.serveDone)
		_ = s.http.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// Close shuts the fake down, cutting pending delays short, and waits for the requests in
// flight. It is safe to call more than once; a Server made by New is closed when the
// test ends.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		_ = s.http.Shutdown(context.Background())
		<-s.serveDone
		s.client.CloseIdleConnections()
	})
}

// URL returns the base URL to give the SDK with messaging_api.WithEndpoint.
func (s *Server) URL() string { return s.url }

// Token returns the channel access token the fake expects.
func (s *Server) Token() string { return s.token }

// HTTPClient returns an *http.Client for the fake, with its own connection pool that
// Close empties.
func (s *Server) HTTPClient() *http.Client { return s.client }

// SpecLoaded reports whether request bodies are validated against the OpenAPI document:
// always, unless Config.SkipValidation is set.
func (s *Server) SpecLoaded() bool { return s.spec != nil }

// API returns a real SDK client pointed at the fake with the right token. It panics if
// the SDK refuses the endpoint and client, which v8.14.0 never does.
func (s *Server) API() *messaging_api.MessagingApiAPI {
	api, err := messaging_api.NewMessagingApiAPI(s.token,
		messaging_api.WithEndpoint(s.URL()),
		messaging_api.WithHTTPClient(s.HTTPClient()))
	if err != nil {
		panic("linetest: new messaging api client: " + err.Error())
	}
	return api
}

// IssueReplyToken returns a fresh reply token for userID, as a webhook event would carry
// it. The token is valid for one accepted reply within the configured lifetime.
func (s *Server) IssueReplyToken(userID string) string {
	tok := randomHex(16) // LINE's tokens are 32 hex digits
	s.RegisterReplyToken(tok, userID)
	return tok
}

// RegisterReplyToken makes token a valid reply token for userID, for tests that put
// their own tokens into webhook payloads. Registering a token again renews it.
func (s *Server) RegisterReplyToken(token, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = &replyToken{userID: userID, expires: s.now().Add(s.ttl)}
}

// SetProfile sets what the profile endpoint returns for userID.
func (s *Server) SetProfile(userID string, p Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profiles[userID] = p
}

// SetLatency makes every answer wait d. The wait comes after the fake has handled the
// request, so a client that gives up before the answer has still had its message
// accepted: the case X-Line-Retry-Key exists for. The wait ends early if the client
// goes away or the test ends.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetRevoked makes every request fail with 401, as LINE answers a token that was
// reissued or revoked, until it is called again with false. A rejected request delivers
// nothing and uses no reply token.
func (s *Server) SetRevoked(revoked bool) { s.revoked.Store(revoked) }

// FailNext makes the next n requests for path fail with status and LINE's error body for
// it. path is a request path or one of the Path constants. A 429 carries Retry-After: 1.
// Scripted faults come after authentication and validation, so a faulted request is not
// handled: it delivers nothing, uses no reply token and no retry key.
func (s *Server) FailNext(path string, status, n int) {
	f := Fault{Status: status}
	if status == http.StatusTooManyRequests {
		f.RetryAfter = time.Second
	}
	faults := make([]Fault, n)
	for i := range faults {
		faults[i] = f
	}
	s.Enqueue(path, faults...)
}

// Enqueue appends faults to the queue for path; each request for path takes the first.
// A request whose exact path has a queue uses it before the route's queue.
func (s *Server) Enqueue(path string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], faults...)
}

// route is one implemented endpoint.
type route struct {
	method string
	path   string // as in the spec, e.g. /v2/bot/profile/{userId}
	// limits checks a JSON request body against LINE's documented limits; nil means the
	// request has no body.
	limits func(body map[string]any) []Detail
	serve  func(s *Server, r *http.Request, c *Call) response
}

func (s *Server) routes() []route {
	return append([]route{
		{method: http.MethodPost, path: PathReply, limits: checkMessageLimits, serve: (*Server).serveReply},
		{method: http.MethodPost, path: PathPush, limits: checkPushLimits, serve: (*Server).servePush},
		{method: http.MethodGet, path: PathProfile, serve: (*Server).serveProfile},
		{method: http.MethodPost, path: PathLoading, limits: checkLoadingLimits, serve: (*Server).serveLoading},
	}, s.richMenuRoutes()...)
}

func checkPushLimits(body map[string]any) []Detail {
	var d []Detail
	if to, _ := body["to"].(string); to == "" {
		d = append(d, Detail{Property: "to", Message: "must be specified"})
	}
	return append(d, checkMessageLimits(body)...)
}

// response is what the fake answers.
type response struct {
	status int
	header http.Header
	body   any
	delay  time.Duration
}

func errorResponse(status int, msg string) response {
	return response{status: status, body: errorBody{Message: msg}}
}

func (s *Server) handler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		c := &Call{
			Method:    r.Method,
			Path:      r.URL.Path,
			Route:     rt.path,
			Header:    r.Header.Clone(),
			Body:      body,
			RequestID: newUUID(),
		}
		if len(body) > 0 {
			var v any
			if json.Unmarshal(body, &v) == nil {
				c.JSON = v
			}
		}
		res := s.handle(rt, r, c)
		if s.onCall != nil {
			s.onCall(*c)
		}
		select {
		case <-time.After(res.delay):
		case <-r.Context().Done():
			return
		case <-s.done:
		}
		h := w.Header()
		for k, vs := range res.header {
			h[k] = vs
		}
		h.Set("Content-Type", "application/json")
		h.Set("X-Line-Request-Id", c.RequestID)
		w.WriteHeader(res.status)
		_ = json.NewEncoder(w).Encode(res.body)
	})
}

// handle decides the answer to one request and records the call. Validation runs
// without the lock; everything that reads or changes the fake's state runs under it,
// so a recorded call and its effects appear together.
func (s *Server) handle(rt route, r *http.Request, c *Call) response {
	res, problems := s.precheck(rt, r, c)

	s.mu.Lock()
	defer s.mu.Unlock()
	c.Time = s.now()
	res.delay = s.latency
	switch {
	case res.status != 0:
		// authentication or validation failed
	case s.popFaultLocked(r.URL.Path, rt.path, &res):
	default:
		res = rt.serve(s, r, c)
		res.delay += s.latency
	}
	if problems != nil {
		s.errs = append(s.errs, ValidationError{Method: c.Method, Path: c.Path, RequestID: c.RequestID, Details: problems})
	}
	c.Status = res.status
	if !s.noHistory {
		s.calls = append(s.calls, *c)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return res
}

// precheck authenticates and validates a request. A non-zero status in the response
// means it is answered with that.
func (s *Server) precheck(rt route, r *http.Request, c *Call) (response, []Detail) {
	if s.revoked.Load() || r.Header.Get("Authorization") != "Bearer "+s.token {
		return errorResponse(http.StatusUnauthorized, msgUnauthorized), nil
	}
	if rt.limits == nil {
		return response{}, nil
	}
	problems := s.validate(rt, r, c)
	if len(problems) == 0 {
		return response{}, nil
	}
	if s.logf != nil {
		s.logf("linetest: rejected with 400: %v", ValidationError{Method: c.Method, Path: c.Path, Details: problems})
	}
	return response{status: http.StatusBadRequest, body: errorBody{
		Message: "The request body has " + strconv.Itoa(len(problems)) + " error(s)",
		Details: problems,
	}}, problems
}

// validate returns the problems of a request with a JSON body: content type, JSON
// syntax, the OpenAPI schema (when loaded) with discriminators followed, LINE's limits
// and, for push, the retry key format.
func (s *Server) validate(rt route, r *http.Request, c *Call) []Detail {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return []Detail{{Property: "Content-Type", Message: "must be application/json"}}
	}
	body, ok := c.JSON.(map[string]any)
	if !ok {
		return []Detail{{Message: "The request body could not be parsed as a JSON object"}}
	}
	// The spec marks no optional property nullable, yet the SDK sends null for every
	// unset slice or interface without omitempty ("customAggregationUnits": null on each
	// push) and LINE accepts it: LINE reads a null member as an absent one. So does the
	// fake, which still rejects a null where a property is required.
	if s.skip {
		return nil
	}
	body = withoutNulls(body).(map[string]any)
	var problems []Detail
	if s.spec != nil {
		d, err := s.spec.validate(rt.method, rt.path, body)
		if err != nil {
			d = []Detail{{Message: "linetest: " + err.Error()}}
		}
		problems = d
	}
	// A limit on a property the schema already faulted would say the same twice.
	faulted := map[string]bool{}
	for _, d := range problems {
		faulted[d.Property] = true
	}
	for _, d := range rt.limits(body) {
		if !faulted[d.Property] {
			problems = append(problems, d)
		}
	}
	if rt.path == PathPush {
		if key := r.Header.Get("X-Line-Retry-Key"); key != "" && !isUUID(key) {
			problems = append(problems, Detail{Property: "X-Line-Retry-Key", Message: "must be a UUID in hexadecimal format"})
		}
	}
	return problems
}

// withoutNulls returns v with every null object member removed, at any depth. It
// copies what it changes and leaves v as it was.
func withoutNulls(v any) any {
	switch val := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(val))
		for k, child := range val {
			if child != nil {
				out[k] = withoutNulls(child)
			}
		}
		return out
	case []any:
		out := make([]any, len(val))
		for i, child := range val {
			out[i] = withoutNulls(child)
		}
		return out
	}
	return v
}

// popFaultLocked answers with the next scripted fault for the request, if any.
func (s *Server) popFaultLocked(path, routePath string, res *response) bool {
	key := path
	if len(s.faults[key]) == 0 {
		key = routePath
	}
	q := s.faults[key]
	if len(q) == 0 {
		return false
	}
	f := q[0]
	s.faults[key] = q[1:]
	msg := f.Message
	if msg == "" {
		switch {
		case f.Status == http.StatusTooManyRequests:
			msg = msgRateLimited
		case f.Status >= 500:
			msg = msgInternal
		default:
			msg = http.StatusText(f.Status)
		}
	}
	*res = errorResponse(f.Status, msg)
	res.delay = s.latency + f.Delay
	if f.RetryAfter > 0 {
		secs := (f.RetryAfter + time.Second - 1) / time.Second
		res.header = http.Header{"Retry-After": {strconv.FormatInt(int64(secs), 10)}}
	}
	return true
}

// sentLocked makes the sentMessages of an accepted request of n messages.
func (s *Server) sentLocked(n int) []sentMessage {
	sent := make([]sentMessage, n)
	for i := range sent {
		s.nextID++
		sent[i] = sentMessage{ID: strconv.FormatInt(s.nextID, 10), QuoteToken: randomHex(16)}
	}
	return sent
}

func (s *Server) serveReply(_ *http.Request, c *Call) response {
	body := c.JSON.(map[string]any) // validate ensured it
	rep := Reply{Messages: s.decodeMessages(c.Body), RequestID: c.RequestID}
	rep.Token, _ = body["replyToken"].(string)
	rep.NotificationDisabled, _ = body["notificationDisabled"].(bool)
	tok, ok := s.tokens[rep.Token]
	if ok {
		rep.UserID = tok.userID
	}
	if !ok || tok.used || !s.now().Before(tok.expires) {
		rep.Status = http.StatusBadRequest
		s.recordReplyLocked(rep)
		return errorResponse(http.StatusBadRequest, msgInvalidReplyToken)
	}
	tok.used = true
	rep.Status = http.StatusOK
	s.recordReplyLocked(rep)
	s.deliverLocked(tok.userID, rep.Messages)
	return response{status: http.StatusOK, body: map[string]any{"sentMessages": s.sentLocked(messageCount(body))}}
}

func (s *Server) servePush(r *http.Request, c *Call) response {
	body := c.JSON.(map[string]any) // validate ensured it
	p := Push{Messages: s.decodeMessages(c.Body), RequestID: c.RequestID, RetryKey: r.Header.Get("X-Line-Retry-Key")}
	p.To, _ = body["to"].(string)
	p.NotificationDisabled, _ = body["notificationDisabled"].(bool)
	if p.RetryKey != "" {
		if acc, ok := s.retryKeys[p.RetryKey]; ok && s.now().Sub(acc.at) < retryKeyLifetime {
			p.Status = http.StatusConflict
			s.recordPushLocked(p)
			return response{
				status: http.StatusConflict,
				header: http.Header{"X-Line-Accepted-Request-Id": {acc.requestID}},
				body:   errorBody{Message: msgRetryKeyAccepted, SentMessages: acc.sent},
			}
		}
	}
	sent := s.sentLocked(messageCount(body))
	if p.RetryKey != "" {
		s.retryKeys[p.RetryKey] = acceptedPush{at: s.now(), requestID: c.RequestID, sent: sent}
	}
	p.Status = http.StatusOK
	s.recordPushLocked(p)
	s.deliverLocked(p.To, p.Messages)
	return response{status: http.StatusOK, body: map[string]any{"sentMessages": sent}}
}

// decodeMessages decodes the messages of a request body for the record; with NoHistory
// there is no record and it returns nil.
func (s *Server) decodeMessages(body []byte) []Message {
	if s.noHistory {
		return nil
	}
	return decodeMessages(body)
}

// messageCount is the number of entries in a request body's "messages".
func messageCount(body map[string]any) int {
	msgs, _ := body["messages"].([]any)
	return len(msgs)
}

func (s *Server) recordReplyLocked(rep Reply) {
	if !s.noHistory {
		s.replies = append(s.replies, rep)
	}
}

func (s *Server) recordPushLocked(p Push) {
	if !s.noHistory {
		s.pushes = append(s.pushes, p)
	}
}

func (s *Server) deliverLocked(userID string, msgs []Message) {
	if !s.noHistory {
		s.delivered[userID] = append(s.delivered[userID], msgs...)
	}
}

func (s *Server) serveProfile(r *http.Request, _ *Call) response {
	id := r.PathValue("userId")
	p, ok := s.profiles[id]
	if !ok {
		return errorResponse(http.StatusNotFound, msgNotFound)
	}
	body := map[string]string{"userId": id, "displayName": p.DisplayName}
	for k, v := range map[string]string{"language": p.Language, "pictureUrl": p.PictureURL, "statusMessage": p.StatusMessage} {
		if v != "" {
			body[k] = v
		}
	}
	return response{status: http.StatusOK, body: body}
}

func (s *Server) serveLoading(_ *http.Request, c *Call) response {
	body := c.JSON.(map[string]any) // validate ensured it
	l := Loading{}
	l.ChatID, _ = body["chatId"].(string)
	if f, ok := body["loadingSeconds"].(float64); ok {
		l.Seconds = int(f)
	}
	if !s.noHistory {
		s.loadings = append(s.loadings, l)
	}
	return response{status: http.StatusAccepted, body: map[string]any{}}
}

func (s *Server) serveNotFound(_ *http.Request, _ *Call) response {
	return errorResponse(http.StatusNotFound, msgNotFound)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// isUUID reports whether s is a UUID in the 8-4-4-4-12 hexadecimal form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
				return false
			}
		}
	}
	return true
}
