package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/giftdesk/giftdesk/internal/web/weblog"
)

// readBatch is how many log entries a stream reads at once.
const readBatch = 100

// writeWindow bounds each write to a stream: a client that stops reading is dropped.
const writeWindow = 30 * time.Second

// streamRetry is the Retry-After of a stream refused because too many are open.
const streamRetry = 10 * time.Second

// events answers GET /api/events with Server-Sent Events: the conversation's log from
// the resume point (Last-Event-ID, else ?after=N, else the start), then each new entry as
// it is appended, "typing" events while an event of the conversation awaits its answer,
// and a comment every Config.Heartbeat. The stream ends when the client goes, or at
// CloseStreams (after which new streams end at once, telling EventSource to reconnect
// in 2s).
func (c *Channel) events(w http.ResponseWriter, r *http.Request) {
	conv, refused := c.enter(w, r)
	if refused != "" {
		return
	}
	after := int64(0)
	resume := r.Header.Get("Last-Event-ID")
	if resume == "" {
		resume = r.URL.Query().Get("after")
	}
	if resume != "" {
		n, err := strconv.ParseInt(resume, 10, 64)
		if err != nil || n < 0 {
			c.fail(w, r, "bad_after", conv)
			return
		}
		after = n
	}
	release, ok := c.streams.open(conv, c.cfg.ClientIP(r))
	if !ok {
		c.tooMany(w, r, conv, streamRetry)
		return
	}
	defer release()
	// Subscribed before the first read: an entry appended meanwhile wakes the loop.
	wake, unsubscribe := c.hub.subscribe(conv)
	defer unsubscribe()

	rc := http.NewResponseController(w)
	// The server's read timeout is for requests, not for a stream that lasts: past it, the
	// server would end the stream (its connection's read fails and cancels the request).
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	buf.WriteString("retry: 2000\n\n")
	select {
	case <-c.closed:
		// Shutting down: the page reconnects in 2s (an error status would make
		// EventSource give up), to another replica or to this server restarted.
		_, _ = w.Write(buf.Bytes())
		return
	default:
	}

	ctx := r.Context()
	heartbeat := time.NewTicker(c.cfg.Heartbeat)
	defer heartbeat.Stop()
	poll := time.NewTimer(0)
	defer poll.Stop()
	typing := false
	for {
		// What is new in the log, then the typing state after it.
		for {
			recs, err := c.cfg.Log.ReadWeb(ctx, conv, after, readBatch)
			if err != nil {
				if ctx.Err() == nil {
					c.log.Error("read web log", "conversation", conv, "err", err)
				}
				return // the page reconnects and resumes
			}
			for _, rec := range recs {
				writeEntry(&buf, rec)
				after = rec.Seq
			}
			if len(recs) < readBatch {
				break
			}
		}
		on, until := c.hub.typing(conv)
		if on != typing {
			fmt.Fprintf(&buf, "event: typing\ndata: {\"on\":%t}\n\n", on)
			typing = on
		}
		if buf.Len() > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(writeWindow))
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			buf.Reset()
		}
		next := c.cfg.Poll
		if on {
			next = min(next, max(until.Sub(c.cfg.Now()), time.Millisecond))
		}
		poll.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-c.closed:
			return
		case <-wake:
		case <-poll.C:
		case <-heartbeat.C:
			buf.WriteString(": ping\n\n")
		}
	}
}

// writeEntry writes rec as a "message" event with its Seq as the id. The stored entry is a
// JSON object without its seq, which goes in front.
func writeEntry(buf *bytes.Buffer, rec weblog.Record) {
	fmt.Fprintf(buf, "id: %d\nevent: message\ndata: {\"seq\":%d", rec.Seq, rec.Seq)
	data := bytes.TrimSpace(rec.Data)
	if len(data) > 2 && data[0] == '{' && !bytes.ContainsAny(data, "\r\n") {
		buf.WriteByte(',')
		buf.Write(data[1:])
	} else {
		buf.WriteByte('}') // not an entry of ours: shown as an empty one rather than break the stream
	}
	buf.WriteString("\n\n")
}
