package linetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Call is one HTTP request the fake received, as it received it, and how it answered.
type Call struct {
	Time   time.Time // by Config.Now, when the request was handled
	Method string
	Path   string // the request path, e.g. /v2/bot/profile/U123
	// Route is the endpoint the request matched (PathReply, PathProfile, ...), or ""
	// when the fake does not implement it.
	Route string
	// Header is the request's header, Authorization included.
	Header http.Header
	Body   []byte
	// JSON is Body decoded with encoding/json (map[string]any for an object), or nil when
	// the body is empty or not JSON.
	JSON      any
	Status    int    // the status the fake answered with
	RequestID string // the X-Line-Request-Id the fake answered with
}

// Message is one message object of a reply or push, decoded for assertions. Raw holds the
// object exactly as sent, for anything the typed fields do not cover.
type Message struct {
	Type       string // "text", "flex", ...
	Text       string // text of a text or textV2 message
	AltText    string // altText of a flex, template or imagemap message
	QuickReply []Action
	Raw        json.RawMessage
}

// Action is the action of one quick reply button.
type Action struct {
	Type        string `json:"type"`
	Label       string `json:"label"`
	Data        string `json:"data"`        // postback, datetimepicker
	DisplayText string `json:"displayText"` // postback
	Text        string `json:"text"`        // message (and postback)
	URI         string `json:"uri"`         // uri
}

// Reply is one call to the reply endpoint whose body was a JSON object.
type Reply struct {
	Token                string
	UserID               string // the user the token was issued for; "" for an unknown token
	Messages             []Message
	NotificationDisabled bool
	Status               int
	RequestID            string
}

// Push is one call to the push endpoint whose body was a JSON object.
type Push struct {
	To                   string
	RetryKey             string // the X-Line-Retry-Key header; "" when absent or empty
	Messages             []Message
	NotificationDisabled bool
	Status               int
	RequestID            string
}

// Loading is one accepted call to the loading animation endpoint.
type Loading struct {
	ChatID  string
	Seconds int // 0 when the request left it to LINE's default (20)
}

// ValidationError is a request the fake rejected with 400 because its body breaks the
// OpenAPI document or one of LINE's documented limits: a bug in the code under test.
type ValidationError struct {
	Method    string
	Path      string
	RequestID string
	Details   []Detail
}

// Error lists the problems. It holds property paths and reasons, never request values.
func (e ValidationError) Error() string {
	parts := make([]string, len(e.Details))
	for i, d := range e.Details {
		parts[i] = d.String()
	}
	return fmt.Sprintf("%s %s: %d error(s): %s", e.Method, e.Path, len(e.Details), strings.Join(parts, "; "))
}

// wireMessage is the part of a message object that Message exposes.
type wireMessage struct {
	Type       string `json:"type"`
	Text       string `json:"text"`
	AltText    string `json:"altText"`
	QuickReply *struct {
		Items []struct {
			Action Action `json:"action"`
		} `json:"items"`
	} `json:"quickReply"`
}

// decodeMessages decodes the "messages" of a request body; what does not decode is left
// out (validation has already reported it).
func decodeMessages(body []byte) []Message {
	var req struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	out := make([]Message, 0, len(req.Messages))
	for _, raw := range req.Messages {
		var w wireMessage
		_ = json.Unmarshal(raw, &w) // partial results are still useful
		m := Message{Type: w.Type, Text: w.Text, AltText: w.AltText, Raw: raw}
		if w.QuickReply != nil {
			for _, it := range w.QuickReply.Items {
				m.QuickReply = append(m.QuickReply, it.Action)
			}
		}
		out = append(out, m)
	}
	return out
}

// Calls returns every request received so far, in order. The slice is a copy the caller
// owns; the Header, Body and JSON values are shared and must not be modified.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Attempts counts the requests received for path, which is either a request path or one
// of the Path constants (so PathProfile counts every profile lookup). Requests that failed
// authentication, validation or an injected fault count too.
func (s *Server) Attempts(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Path == path || c.Route == path {
			n++
		}
	}
	return n
}

// Replies returns, in order, the reply calls the endpoint handled, accepted or refused
// for their token (see Reply.Status). Calls that failed authentication or validation or
// drew an injected fault were not handled; Calls has them. The caller owns the slice.
func (s *Server) Replies() []Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Reply(nil), s.replies...)
}

// Pushes returns, in order, the push calls the endpoint handled, accepted or refused as
// a duplicate with 409 (see Push.Status). Calls that failed authentication or validation
// or drew an injected fault were not handled; Calls has them. The caller owns the slice.
func (s *Server) Pushes() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// Loadings returns the accepted loading animation requests, in order.
func (s *Server) Loadings() []Loading {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Loading(nil), s.loadings...)
}

// Delivered returns the messages userID actually saw, in order: those of accepted replies
// to tokens issued or registered for userID and of accepted pushes to userID. A push
// repeated with an already accepted retry key is not delivered again. The caller owns the
// returned slice.
func (s *Server) Delivered(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.delivered[userID]...)
}

// Errors returns the validation failures not yet taken with TakeErrors. Any left when
// the test ends are reported with t.Errorf.
func (s *Server) Errors() []ValidationError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ValidationError(nil), s.errs...)
}

// TakeErrors returns the validation failures so far and forgets them, so a test that
// sends an invalid request on purpose can assert on them without failing at cleanup.
func (s *Server) TakeErrors() []ValidationError {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := s.errs
	s.errs = nil
	return errs
}

// WaitFor blocks until cond returns true or ctx is done, and returns ctx's error in the
// latter case. cond is evaluated at once and again after every request the fake
// finishes handling, never while the fake holds its lock, so it may call the Server's
// accessors. It does not sleep or poll on a timer.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("linetest: wait for condition: %w", ctx.Err())
		}
	}
}

// WaitDelivered waits until userID has been delivered at least n messages and returns
// them all, or returns ctx's error with what was delivered so far.
func (s *Server) WaitDelivered(ctx context.Context, userID string, n int) ([]Message, error) {
	err := s.WaitFor(ctx, func() bool { return len(s.Delivered(userID)) >= n })
	msgs := s.Delivered(userID)
	if err != nil {
		return msgs, fmt.Errorf("linetest: %d of %d messages delivered to %s: %w", len(msgs), n, userID, err)
	}
	return msgs, nil
}
