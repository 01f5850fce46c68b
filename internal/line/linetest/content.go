package linetest

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// PathContent is the content endpoint of LINE's data host (api-data.line.me), which the
// fake serves on its one URL: point the SDK's blob client (messaging_api.
// NewMessagingApiBlobAPI with WithBlobEndpoint) at URL.
const PathContent = "/v2/bot/message/{messageId}/content"

// content is what the content endpoint serves for one message id.
type content struct {
	typ  string
	body []byte
	// chunked leaves out Content-Length, as a streamed answer does.
	chunked bool
}

// SetContent makes GET /v2/bot/message/{id}/content answer body with Content-Type typ,
// as for a photo, video, voice message or file a user sent. Unknown ids get 404.
func (s *Server) SetContent(id, typ string, body []byte) {
	s.setContent(id, content{typ: typ, body: body})
}

// SetChunkedContent is SetContent without a Content-Length in the answer.
func (s *Server) SetChunkedContent(id, typ string, body []byte) {
	s.setContent(id, content{typ: typ, body: body, chunked: true})
}

func (s *Server) setContent(id string, c content) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contents == nil {
		s.contents = map[string]content{}
	}
	s.contents[id] = c
}

// serveContent answers the content endpoint: the bytes set for the id, after the same
// authentication and scripted faults (FailNext(PathContent, …)) as the other endpoints.
// The call is recorded, without its answer's bytes.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request) {
	c := Call{Method: r.Method, Path: r.URL.Path, Route: PathContent, Header: r.Header.Clone(), RequestID: newUUID()}
	s.mu.Lock()
	c.Time = s.now()
	var res response
	var body content
	found := false
	switch {
	case s.revoked.Load() || r.Header.Get("Authorization") != "Bearer "+s.token:
		res = errorResponse(http.StatusUnauthorized, msgUnauthorized)
	case s.popFaultLocked(r.URL.Path, PathContent, &res):
	default:
		body, found = s.contents[r.PathValue("messageId")]
		if !found {
			res = errorResponse(http.StatusNotFound, msgNotFound)
		} else {
			res.status = http.StatusOK
		}
	}
	c.Status = res.status
	if !s.noHistory {
		s.calls = append(s.calls, c)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.onCall != nil {
		s.onCall(c)
	}
	w.Header().Set("X-Line-Request-Id", c.RequestID)
	if !found {
		for k, vs := range res.header {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(res.status)
		_ = json.NewEncoder(w).Encode(res.body)
		return
	}
	w.Header().Set("Content-Type", body.typ)
	if !body.chunked {
		w.Header().Set("Content-Length", strconv.Itoa(len(body.body)))
	} else if f, ok := w.(http.Flusher); ok {
		w.WriteHeader(http.StatusOK)
		f.Flush() // headers out before the body: no Content-Length
	}
	_, _ = w.Write(body.body)
}
