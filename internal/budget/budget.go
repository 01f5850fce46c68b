// Package budget reads webhook request bodies within a memory budget. A body must be read
// whole before its signature can be checked, so until then it is anybody's: without a
// bound, a few thousand slow clients sending large bodies with a wrong signature hold
// gigabytes. Bodies bounds the bytes held by bodies being read and the number of bodies
// read at once, refuses what does not fit at once (the platforms send a refused webhook
// again), and reuses the buffers.
package budget

import (
	"errors"
	"io"
	"math/bits"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Errors returned by Bodies.Read.
var (
	// ErrTooLarge means the body is longer than the largest body accepted.
	ErrTooLarge = errors.New("request body too large")
	// ErrBusy means the budget is spent: the request should be refused with 503 and tried
	// again later.
	ErrBusy = errors.New("webhook body budget spent")
)

// Config configures Bodies. A zero field means the default.
type Config struct {
	// Bytes bounds the bytes reserved by bodies being read and not yet released; default
	// 64 MiB. A body reserves its Content-Length, or MaxBody when the length is not given.
	Bytes int64
	// Reads bounds the bodies being read or held at once; default 256.
	Reads int
	// MaxBody is the largest body accepted; default 1 MiB.
	MaxBody int64
	// RetryAfter is what a refused request is told to wait; default 5s.
	RetryAfter time.Duration
}

// minClass is the smallest pooled buffer, 4 KiB (1 << minClass).
const minClass = 12

// Bodies reads request bodies within a budget. It is safe for concurrent use.
type Bodies struct {
	cfg   Config
	mu    sync.Mutex
	bytes int64 // reserved now
	reads int   // bodies read or held now
	peak  int64 // the most bytes ever reserved at once
	pools []sync.Pool
}

// New returns Bodies.
func New(cfg Config) *Bodies {
	if cfg.Bytes <= 0 {
		cfg.Bytes = 64 << 20
	}
	if cfg.Reads <= 0 {
		cfg.Reads = 256
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	return &Bodies{cfg: cfg, pools: make([]sync.Pool, class(cfg.MaxBody)-minClass+1)}
}

// MaxBody returns the largest body accepted.
func (b *Bodies) MaxBody() int64 { return b.cfg.MaxBody }

// InFlight returns the bytes reserved and the bodies read or held now, and the most bytes
// ever reserved at once.
func (b *Bodies) InFlight() (bytes int64, reads int, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bytes, b.reads, b.peak
}

// Body is a request body read within the budget. Its Bytes are valid until Release.
type Body struct {
	Bytes    []byte
	b        *Bodies
	buf      *[]byte
	reserved int64
}

// Release returns the body's buffer to the pool and its reservation to the budget. The
// Bytes must not be used after it. Release is safe to call on a nil Body and more than
// once.
func (body *Body) Release() {
	if body == nil || body.b == nil {
		return
	}
	if body.buf != nil {
		body.b.put(body.buf)
	}
	body.b.release(body.reserved)
	body.b, body.buf, body.Bytes = nil, nil, nil
}

// Read reads r's body within the budget. A Content-Length over MaxBody is ErrTooLarge
// before anything is read, and so is a body without one that turns out longer. When the
// body's reservation does not fit in the budget, or too many bodies are read already, it
// is ErrBusy at once, without reading. Other errors come from reading. On error nothing
// stays reserved; on success the caller must Release the Body.
func (b *Bodies) Read(r *http.Request) (*Body, error) {
	n := r.ContentLength
	if n > b.cfg.MaxBody {
		return nil, ErrTooLarge
	}
	reserve := n
	if n < 0 {
		reserve = b.cfg.MaxBody
	}
	if !b.acquire(reserve) {
		return nil, ErrBusy
	}
	body := &Body{b: b, reserved: reserve}
	var err error
	if n >= 0 {
		err = body.readKnown(r.Body, int(n))
	} else {
		err = body.readUnknown(r.Body)
	}
	if err != nil {
		body.Release()
		return nil, err
	}
	return body, nil
}

// readKnown reads exactly n bytes into a pooled buffer.
func (body *Body) readKnown(r io.Reader, n int) error {
	if n == 0 {
		body.Bytes = []byte{}
		return nil
	}
	body.buf = body.b.get(n)
	body.Bytes = (*body.buf)[:n]
	if _, err := io.ReadFull(r, body.Bytes); err != nil {
		return err
	}
	return nil
}

// readUnknown reads a body of unknown length, growing pooled buffers up to MaxBody.
func (body *Body) readUnknown(r io.Reader) error {
	max := int(body.b.cfg.MaxBody)
	body.buf = body.b.get(min(1<<minClass, max))
	buf := (*body.buf)[:0]
	for {
		limit := min(cap(buf), max)
		if len(buf) == limit {
			if limit == max {
				// Full: one byte more means too large.
				var one [1]byte
				if k, err := io.ReadFull(r, one[:]); k > 0 {
					return ErrTooLarge
				} else if err != nil && err != io.EOF {
					return err
				}
				break
			}
			bigger := body.b.get(min(2*cap(buf), max))
			nb := append((*bigger)[:0], buf...)
			body.b.put(body.buf)
			body.buf, buf = bigger, nb
			continue
		}
		k, err := r.Read(buf[len(buf):limit])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	body.Bytes = buf
	return nil
}

// Status returns the HTTP status for an error of Read: 413 for ErrTooLarge, 503 for
// ErrBusy, 400 otherwise.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// Refuse answers a request that Read refused with err, with Status(err) and, for ErrBusy,
// Retry-After. The connection is closed after the answer, so the rest of the body is never
// read. It returns the outcome for metrics: "too_large", "busy" or "unreadable".
func (b *Bodies) Refuse(w http.ResponseWriter, err error) string {
	w.Header().Set("Connection", "close")
	switch status := Status(err); status {
	case http.StatusRequestEntityTooLarge:
		http.Error(w, "request body too large", status)
		return "too_large"
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(int((b.cfg.RetryAfter+time.Second-1)/time.Second)))
		http.Error(w, "busy, try again later", status)
		return "busy"
	default:
		http.Error(w, "cannot read request body", status)
		return "unreadable"
	}
}

func (b *Bodies) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reads >= b.cfg.Reads || b.bytes+n > b.cfg.Bytes {
		return false
	}
	b.reads++
	b.bytes += n
	b.peak = max(b.peak, b.bytes)
	return true
}

func (b *Bodies) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reads--
	b.bytes -= n
}

// class returns the power of two, at least minClass, of the smallest pooled buffer that
// holds n bytes.
func class(n int64) int {
	if n <= 1<<minClass {
		return minClass
	}
	return bits.Len64(uint64(n - 1))
}

// get returns a pooled buffer of at least n bytes.
func (b *Bodies) get(n int) *[]byte {
	c := class(int64(n))
	if v := b.pools[c-minClass].Get(); v != nil {
		return v.(*[]byte)
	}
	buf := make([]byte, 1<<c)
	return &buf
}

// put returns a buffer to its pool.
func (b *Bodies) put(buf *[]byte) {
	c := class(int64(cap(*buf)))
	if 1<<c != cap(*buf) || c-minClass >= len(b.pools) {
		return
	}
	*buf = (*buf)[:cap(*buf)]
	b.pools[c-minClass].Put(buf)
}
