package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/giftdesk/giftdesk/bot"
	"github.com/giftdesk/giftdesk/internal/budget"
)

// tokenSignature accepts a request whose X-Sig header is "ok" and whose body starts with
// "signed".
type tokenSignature struct{}

func (tokenSignature) Headers(h http.Header) error {
	if h.Get("X-Sig") != "ok" {
		return errors.New("bad_signature")
	}
	return nil
}

func (tokenSignature) Verify(_ http.Header, body []byte) error {
	if !bytes.HasPrefix(body, []byte("signed")) {
		return errors.New("bad_signature")
	}
	return nil
}

// inbox keeps what it is given, knows event "dup" already, and fails when err is set.
type inbox struct {
	err    error
	events []bot.Event
	dead   []bot.DeadLetter
}

func (in *inbox) AddEvents(_ context.Context, evs []bot.Event) ([]bool, error) {
	if in.err != nil {
		return nil, in.err
	}
	in.events = append(in.events, evs...)
	added := make([]bool, len(evs))
	for i, e := range evs {
		added[i] = e.ID != "dup"
	}
	return added, nil
}

func (in *inbox) AddDeadLetter(_ context.Context, d bot.DeadLetter) error {
	if in.err != nil {
		return in.err
	}
	in.dead = append(in.dead, d)
	return nil
}

// TestServe runs requests through the edge, with a process that stores events "a" and
// "dup" for a body "signed events", a dead letter for "signed garbage" and answers a
// JSON body for "signed challenge".
func TestServe(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		sig         string
		body        string
		storeErr    error
		wantStatus  int
		wantOutcome string
		wantFresh   int
		wantDup     int
		wantDead    int
		wantBody    string
	}{
		{name: "events", sig: "ok", body: "signed events", wantStatus: 200, wantOutcome: "accepted", wantFresh: 1, wantDup: 1},
		{name: "challenge answered as JSON", sig: "ok", body: "signed challenge", wantStatus: 200, wantOutcome: "accepted", wantBody: `{"challenge":"c"}`},
		{name: "dead letter", sig: "ok", body: "signed garbage", wantStatus: 200, wantOutcome: "malformed", wantDead: 1},
		{name: "store error", sig: "ok", body: "signed events", storeErr: errors.New("disk full"), wantStatus: 500, wantOutcome: "store_error"},
		{name: "dead letter store error", sig: "ok", body: "signed garbage", storeErr: errors.New("disk full"), wantStatus: 500, wantOutcome: "store_error"},
		{name: "GET", method: http.MethodGet, sig: "ok", body: "signed events", wantStatus: 405, wantOutcome: "method"},
		{name: "no signature header", body: "signed events", wantStatus: 401, wantOutcome: "bad_signature"},
		{name: "signature does not match the body", sig: "ok", body: "forged events", wantStatus: 401, wantOutcome: "bad_signature"},
		{name: "too large", sig: "ok", body: "signed " + strings.Repeat("x", 1<<10), wantStatus: 413, wantOutcome: "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &inbox{err: tt.storeErr}
			e, err := New(Config{Bodies: budget.New(budget.Config{MaxBody: 512}), Inbox: in, Channel: "test",
				Signature: tokenSignature{},
				Redact:    func(s string) string { return "[" + s + "]" }})
			if err != nil {
				t.Fatal(err)
			}
			process := func(ctx context.Context, body []byte) Result {
				switch string(body) {
				case "signed events":
					return e.Store(ctx, []bot.Event{{ID: "a"}, {ID: "dup"}})
				case "signed challenge":
					return Result{Status: http.StatusOK, Outcome: "accepted", Body: map[string]string{"challenge": "c"}}
				}
				return e.DeadLetter(ctx, "unknown body", body)
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/hook", strings.NewReader(tt.body))
			if tt.sig != "" {
				req.Header.Set("X-Sig", tt.sig)
			}
			rec := httptest.NewRecorder()
			res := e.Serve(rec, req, process)
			if rec.Code != tt.wantStatus || res.Status != tt.wantStatus || res.Outcome != tt.wantOutcome {
				t.Errorf("answered %d, result %d %q; want %d %q", rec.Code, res.Status, res.Outcome, tt.wantStatus, tt.wantOutcome)
			}
			if res.Fresh != tt.wantFresh || res.Dup != tt.wantDup {
				t.Errorf("fresh %d, dup %d; want %d, %d", res.Fresh, res.Dup, tt.wantFresh, tt.wantDup)
			}
			if len(in.dead) != tt.wantDead {
				t.Fatalf("%d dead letters, want %d", len(in.dead), tt.wantDead)
			}
			if tt.wantDead > 0 && (in.dead[0].Channel != "test" || string(in.dead[0].Body) != "["+tt.body+"]") {
				t.Errorf("dead letter %+v, want channel test and the redacted body", in.dead[0])
			}
			if tt.wantBody != "" {
				got, _ := io.ReadAll(rec.Body)
				if strings.TrimSpace(string(got)) != tt.wantBody || rec.Header().Get("Content-Type") != "application/json" {
					t.Errorf("body %s (%s), want %s as JSON", got, rec.Header().Get("Content-Type"), tt.wantBody)
				}
			}
			if tt.wantStatus == 401 && tt.sig == "" && rec.Header().Get("Connection") != "close" {
				t.Error("a refused signature header does not close the connection")
			}
		})
	}
}

func TestJSONProblem(t *testing.T) {
	var v struct{ N int }
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "syntax", in: `{"n": secret-code`, want: "invalid JSON at byte 7"},
		{name: "type", in: `{"N": "ABCD-EFGH"}`, want: `unexpected string for field "N"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := JSONProblem(json.Unmarshal([]byte(tt.in), &v))
			if got != tt.want {
				t.Errorf("JSONProblem = %q, want %q", got, tt.want)
			}
		})
	}
	if got := JSONProblem(errors.New("other")); got != "invalid JSON" {
		t.Errorf("JSONProblem(other) = %q", got)
	}
}
