// Package sendertest is the contract every channel's bot.Sender must keep, as one suite
// that each channel runs against its fake platform (as alertmanager's notify/test is for
// its integrations):
//
//	func TestSenderContract(t *testing.T) {
//		sendertest.Run(t, func(t *testing.T, client *http.Client) sendertest.Target {
//			// start the fake, build the sender with client, say how to address it
//		})
//	}
//
// A sender delivers text, questions with their choices and advice with its steps; says
// with a *bot.DeliveryError whether a failure may be retried (an HTTP API's 429 and 5xx
// may; 401 and 403 are fixable: parked until an operator fixes the token or permission;
// other 4xx may not); gives up, retryably and delivering nothing, when its context
// is cancelled before or during a call; and never puts a token, a secret or the content of
// a message (a gift-card code) into an error.
package sendertest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// Target is one channel's sender pointed at its fake, and what the suite needs to drive
// and observe the fake.
type Target struct {
	// Sender is the channel's sender, built with the client the suite gave.
	Sender bot.Sender
	// Outgoing returns an Outgoing carrying msgs that Sender delivers to the fake (a
	// push: no reply token or handle).
	Outgoing func(msgs ...bot.Message) bot.Outgoing
	// Delivered returns what the fake has accepted for that address so far, one string
	// per platform message, holding all of its visible text.
	Delivered func() []string
	// FailNext makes the fake answer the next delivery call with the HTTP status code
	// (a 429 with a Retry-After).
	FailNext func(status int)
	// Secrets are the credentials the sender holds (tokens, signing secrets): no error
	// may contain one.
	Secrets []string
}

// code is a gift-card code in a message: no error may contain it.
const code = "ABCD-EFGH12-JKLM3"

// Run runs the contract. newTarget is called once per subtest with the *http.Client the
// sender must use, whose transport the suite controls to hold a call in flight.
func Run(t *testing.T, newTarget func(t *testing.T, client *http.Client) Target) {
	t.Run("Delivers", func(t *testing.T) { testDelivers(t, newTarget) })
	t.Run("ClassifiesFailures", func(t *testing.T) { testClassifiesFailures(t, newTarget) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, newTarget) })
}

// holdingTransport passes requests on, or while holding, keeps each until its context
// ends, as a platform that does not answer.
type holdingTransport struct {
	mu      sync.Mutex
	holding bool
	held    chan struct{} // receives when a request is being held
}

func (h *holdingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	holding := h.holding
	h.mu.Unlock()
	if !holding {
		return http.DefaultTransport.RoundTrip(r)
	}
	select {
	case h.held <- struct{}{}:
	default:
	}
	<-r.Context().Done()
	return nil, r.Context().Err()
}

func (h *holdingTransport) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding = true
}

func start(t *testing.T, newTarget func(*testing.T, *http.Client) Target) (Target, *holdingTransport) {
	t.Helper()
	tr := &holdingTransport{held: make(chan struct{}, 1)}
	tg := newTarget(t, &http.Client{Transport: tr})
	if tg.Sender == nil || tg.Outgoing == nil || tg.Delivered == nil || tg.FailNext == nil {
		t.Fatal("sendertest: the Target lacks Sender, Outgoing, Delivered or FailNext")
	}
	return tg, tr
}

func testDelivers(t *testing.T, newTarget func(*testing.T, *http.Client) Target) {
	tests := []struct {
		name string
		msg  bot.Message
		want []string // each must appear in what was delivered
	}{
		{name: "text", msg: bot.Message{Kind: bot.MsgText, Text: "こんにちは。ご用件をどうぞ"},
			want: []string{"こんにちは。ご用件をどうぞ"}},
		{name: "question", msg: bot.Message{Kind: bot.MsgQuestion, Text: "どのような状況ですか？",
			Choices: []bot.Choice{{Label: "登録できない", Data: "o:start:register"}, {Label: "残高が合わない", Data: "o:start:balance"}}},
			want: []string{"どのような状況ですか？", "登録できない", "残高が合わない"}},
		{name: "advice", msg: bot.Message{Kind: bot.MsgSteps, Title: "ギフト券の登録方法", Steps: []string{"アカウントにサインインします", "番号を入力します"}},
			want: []string{"ギフト券の登録方法", "アカウントにサインインします", "番号を入力します"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, _ := start(t, newTarget)
			outcome, err := tg.Sender.Send(t.Context(), tg.Outgoing(tt.msg))
			if err != nil || outcome == "" || outcome == "none" {
				t.Fatalf("Send = %q, %v; want delivered", outcome, err)
			}
			all := strings.Join(tg.Delivered(), "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("delivered %q, which lacks %q", all, w)
				}
			}
		})
	}
}

func testClassifiesFailures(t *testing.T, newTarget func(*testing.T, *http.Client) Target) {
	tests := []struct {
		status    int
		permanent bool
		fixable   bool // a revoked token or a lost permission: parked for an operator
	}{
		{status: http.StatusBadRequest, permanent: true},
		{status: http.StatusUnauthorized, fixable: true},
		{status: http.StatusForbidden, fixable: true},
		{status: http.StatusNotFound, permanent: true},
		{status: http.StatusTooManyRequests},
		{status: http.StatusInternalServerError},
		{status: http.StatusBadGateway},
		{status: http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			tg, _ := start(t, newTarget)
			tg.FailNext(tt.status)
			_, err := tg.Sender.Send(t.Context(), tg.Outgoing(bot.Message{Kind: bot.MsgText, Text: "コード " + code + " を確認しました"}))
			var de *bot.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send answered %d returned %v, want a *bot.DeliveryError", tt.status, err)
			}
			if de.Permanent != tt.permanent {
				t.Errorf("%d: Permanent = %v, want %v (%v)", tt.status, de.Permanent, tt.permanent, err)
			}
			if de.Fixable != tt.fixable {
				t.Errorf("%d: Fixable = %v, want %v (%v)", tt.status, de.Fixable, tt.fixable, err)
			}
			if tt.status == http.StatusTooManyRequests && de.RetryAfter <= 0 {
				t.Errorf("429: RetryAfter = %v, want the platform's Retry-After", de.RetryAfter)
			}
			noSecrets(t, tg, err)
			// The fault was one call: the sender works again.
			if _, err := tg.Sender.Send(t.Context(), tg.Outgoing(bot.Message{Kind: bot.MsgText, Text: "again"})); err != nil {
				t.Errorf("Send after the fault: %v", err)
			}
		})
	}
}

func testCancelled(t *testing.T, newTarget func(*testing.T, *http.Client) Target) {
	t.Run("before the call", func(t *testing.T) {
		tg, _ := start(t, newTarget)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := tg.Sender.Send(ctx, tg.Outgoing(bot.Message{Kind: bot.MsgText, Text: code}))
		retryable(t, tg, err)
		if n := len(tg.Delivered()); n != 0 {
			t.Errorf("%d messages delivered with a cancelled context", n)
		}
	})
	t.Run("during the call", func(t *testing.T) {
		tg, tr := start(t, newTarget)
		tr.hold()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := tg.Sender.Send(ctx, tg.Outgoing(bot.Message{Kind: bot.MsgText, Text: code}))
			done <- err
		}()
		select {
		case <-tr.held:
		case err := <-done:
			t.Fatalf("Send returned %v before its call reached the platform", err)
		}
		cancel()
		select {
		case err := <-done:
			retryable(t, tg, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Send still running 10s after its context was cancelled")
		}
	})
}

// retryable checks that err is a temporary *bot.DeliveryError without secrets.
func retryable(t *testing.T, tg Target, err error) {
	t.Helper()
	var de *bot.DeliveryError
	if !errors.As(err, &de) || de.Permanent {
		t.Errorf("Send with a cancelled context returned %v, want a temporary *bot.DeliveryError", err)
	}
	noSecrets(t, tg, err)
}

func noSecrets(t *testing.T, tg Target, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append([]string{code, "EFGH12"}, tg.Secrets...) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error %q contains a secret or a message's content", err)
		}
	}
}
