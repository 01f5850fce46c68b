package budget_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/giftdesk/giftdesk/internal/budget"
)

// unsized hides a reader's length, so the request has no Content-Length.
type unsized struct{ io.Reader }

func TestRead(t *testing.T) {
	const max = 20 << 10
	tests := []struct {
		name   string
		size   int
		length int64 // Content-Length; -1 for none
		want   error
		status int
	}{
		{name: "known length", size: 5000, length: 5000},
		{name: "empty", size: 0, length: 0},
		{name: "exactly the limit", size: max, length: max},
		{name: "unknown length", size: 13000, length: -1},
		{name: "unknown length at the limit", size: max, length: -1},
		{name: "Content-Length over the limit", size: max + 1, length: max + 1, want: budget.ErrTooLarge, status: 413},
		{name: "unknown length over the limit", size: max + 1, length: -1, want: budget.ErrTooLarge, status: 413},
		{name: "shorter than announced", size: 100, length: 200, want: io.ErrUnexpectedEOF, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := budget.New(budget.Config{Bytes: 3 * max, MaxBody: max})
			data := make([]byte, tt.size)
			for i := range data {
				data[i] = byte(i)
			}
			req := httptest.NewRequest(http.MethodPost, "/", unsized{bytes.NewReader(data)})
			req.ContentLength = tt.length
			body, err := b.Read(req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read: %v, want %v", err, tt.want)
			}
			if err != nil {
				if got := budget.Status(err); got != tt.status {
					t.Errorf("Status = %d, want %d", got, tt.status)
				}
			} else {
				if !bytes.Equal(body.Bytes, data) {
					t.Errorf("read %d bytes, not the %d sent", len(body.Bytes), len(data))
				}
				body.Release()
				body.Release() // twice is harmless
			}
			if n, reads, _ := b.InFlight(); n != 0 || reads != 0 {
				t.Errorf("after the request: %d bytes in %d reads still reserved", n, reads)
			}
		})
	}
}

func TestRefuse(t *testing.T) {
	b := budget.New(budget.Config{Bytes: 1 << 20, Reads: 1})
	held, err := b.Read(httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("x"))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Read(httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("y"))))
	if !errors.Is(err, budget.ErrBusy) {
		t.Fatalf("second read with Reads 1: %v, want ErrBusy", err)
	}
	rec := httptest.NewRecorder()
	if outcome := b.Refuse(rec, err); outcome != "busy" || rec.Code != 503 || rec.Header().Get("Retry-After") != "5" ||
		rec.Header().Get("Connection") != "close" {
		t.Errorf("Refuse: %s %d %v", outcome, rec.Code, rec.Header())
	}
	held.Release()
	again, err := b.Read(httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte("y"))))
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}

// TestBudgetNeverExceeded: many concurrent bodies of random sizes, some announced and some
// not, never reserve more than the budget together, and every reserved byte comes back.
func TestBudgetNeverExceeded(t *testing.T) {
	const limit, max = 256 << 10, 64 << 10
	b := budget.New(budget.Config{Bytes: limit, MaxBody: max})
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, busy := 0, 0
	for i := range 400 {
		size := rng.IntN(max)
		known := i%3 != 0
		wg.Go(func() {
			data := bytes.Repeat([]byte{'a'}, size)
			req := httptest.NewRequest(http.MethodPost, "/", unsized{bytes.NewReader(data)})
			req.ContentLength = -1
			if known {
				req.ContentLength = int64(size)
			}
			body, err := b.Read(req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, budget.ErrBusy):
				busy++
			case err != nil:
				t.Errorf("read %d bytes: %v", size, err)
			default:
				if len(body.Bytes) != size {
					t.Errorf("read %d bytes, want %d", len(body.Bytes), size)
				}
				ok++
				body.Release()
			}
		})
	}
	wg.Wait()
	n, reads, peak := b.InFlight()
	if n != 0 || reads != 0 {
		t.Errorf("%d bytes in %d reads still reserved", n, reads)
	}
	if peak > limit {
		t.Errorf("peak %d bytes reserved, over the budget of %d", peak, limit)
	}
	if ok == 0 {
		t.Errorf("no body read (%d refused)", busy)
	}
}
