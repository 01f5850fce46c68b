package slacktest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// File is a file in the fake workspace: one a person shared (AddFile), or one the app
// uploaded with files.getUploadURLExternal, the upload URL and
// files.completeUploadExternal.
type File struct {
	ID       string
	Name     string
	Title    string
	Mimetype string
	Content  []byte
	// Declared is the length files.getUploadURLExternal was given (uploads only).
	Declared int
	// Channel and ThreadTS are where files.completeUploadExternal shared it; Shared is
	// whether it has been (an upload that was never completed is not).
	Channel, ThreadTS string
	Shared            bool
	// Comment is the initial_comment it was shared with.
	Comment string
	// Uploads counts the bodies posted to its upload URL.
	Uploads int
	// URL, when set, is the file's url_private and url_private_download instead of the
	// fake's own (a file files.info says is elsewhere).
	URL string
}

// AddFile adds a file a person shared in Slack and returns it with its id: files.info
// describes it and its url_private_download serves Content to the bot token.
func (s *Server) AddFile(f File) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.ID = s.id("F")
	f.Shared = true
	s.files = append(s.files, &f)
	return f
}

// FileShareEvent returns the message event Slack sends when user shares files with text
// in the thread at threadTS of channel (subtype file_share), and the message.
func (s *Server) FileShareEvent(channel, user, text, threadTS string, files ...File) (body []byte, m Message) {
	m = s.Post(channel, user, text, threadTS)
	objs := make([]map[string]any, len(files))
	for i, f := range files {
		objs[i] = s.fileObject(f)
	}
	ev := map[string]any{
		"type": "message", "subtype": "file_share", "channel": channel, "user": user, "text": text, "ts": m.TS,
		"event_ts": m.TS, "channel_type": "channel", "files": objs, "upload": false,
	}
	if threadTS != "" {
		ev["thread_ts"] = threadTS
		ev["parent_user_id"] = BotUserID
	}
	body, _ = s.EventCallback(ev)
	return body, m
}

// Files returns the files of the workspace, uploads included, in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, len(s.files))
	for i, f := range s.files {
		out[i] = *f
	}
	return out
}

// WaitSharedFiles waits until at least n uploaded files are shared in the thread at
// threadTS of channel, and returns them.
func (s *Server) WaitSharedFiles(ctx context.Context, channel, threadTS string, n int) ([]File, error) {
	var out []File
	err := s.wait(ctx, func() bool {
		out = out[:0]
		for _, f := range s.files {
			if f.Shared && f.Channel == channel && f.ThreadTS == threadTS {
				out = append(out, *f)
			}
		}
		return len(out) >= n
	})
	return out, err
}

// fileObject is a file as Slack describes it in events and files.info; s.mu is held or
// f is a copy.
func (s *Server) fileObject(f File) map[string]any {
	base := s.srv.URL + "/files/" + f.ID + "/"
	o := map[string]any{
		"id": f.ID, "name": f.Name, "title": f.Title, "mimetype": f.Mimetype, "size": len(f.Content),
		"url_private": base + f.Name, "url_private_download": base + "download/" + f.Name, "mode": "hosted",
	}
	if strings.HasPrefix(f.Mimetype, "image/") {
		o["thumb_360"] = base + "thumb_360.png"
	}
	if f.URL != "" {
		o["url_private"], o["url_private_download"] = f.URL, f.URL
	}
	return o
}

func (s *Server) file(id string) *File {
	i := slices.IndexFunc(s.files, func(f *File) bool { return f.ID == id })
	if i < 0 {
		return nil
	}
	return s.files[i]
}

// fileMethod answers the files.* Web API methods; s.mu is held.
func (s *Server) fileMethod(method string, form map[string][]string) map[string]any {
	switch method {
	case "files.getUploadURLExternal":
		name := first(form, "filename")
		n, err := strconv.Atoi(first(form, "length"))
		if name == "" || err != nil || n <= 0 {
			return map[string]any{"error": "invalid_arguments"}
		}
		f := &File{ID: s.id("F"), Name: name, Declared: n}
		s.files = append(s.files, f)
		return map[string]any{"upload_url": s.srv.URL + "/upload/" + f.ID, "file_id": f.ID}
	case "files.completeUploadExternal":
		return s.completeUpload(form)
	case "conversations.replies":
		return s.threadReplies(form)
	case "files.info":
		f := s.file(first(form, "file"))
		if f == nil || !f.Shared {
			return map[string]any{"error": "file_not_found"}
		}
		return map[string]any{"file": s.fileObject(*f), "comments": []any{}, "paging": map[string]any{}}
	}
	return map[string]any{"error": "unknown_method"}
}

// threadReplies answers conversations.replies: the thread's root and replies, oldest
// first, with the files shared with them and, when include_all_metadata is set, their
// metadata, two a page (so that pagination is exercised).
func (s *Server) threadReplies(form map[string][]string) map[string]any {
	channel, ts := first(form, "channel"), first(form, "ts")
	if !strings.HasPrefix(channel, "D") && !s.members[channel] {
		return map[string]any{"error": "not_in_channel"}
	}
	if s.find(channel, ts) == nil {
		return map[string]any{"error": "thread_not_found"}
	}
	var all []map[string]any
	for _, m := range s.messages {
		if m.Channel != channel || (m.TS != ts && m.ThreadTS != ts) {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "thread_ts": ts, "text": m.Text, "user": m.User}
		if m.BotID != "" {
			msg["bot_id"] = m.BotID
		}
		if m.Metadata != nil && withMetadata(form) {
			msg["metadata"] = m.Metadata
		}
		var files []map[string]any
		for _, id := range m.Files {
			if f := s.file(id); f != nil {
				files = append(files, s.fileObject(*f))
			}
		}
		if files != nil {
			msg["files"] = files
		}
		all = append(all, msg)
	}
	start, _ := strconv.Atoi(first(form, "cursor"))
	end := min(start+2, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return map[string]any{"messages": all[min(start, end):end], "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}}
}

// completeUpload shares uploaded files in a channel or thread, as one message of the bot
// with the initial comment.
func (s *Server) completeUpload(form map[string][]string) map[string]any {
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(first(form, "files")), &files); err != nil || len(files) == 0 {
		return map[string]any{"error": "invalid_arguments"}
	}
	channel, thread := first(form, "channel_id"), first(form, "thread_ts")
	switch {
	case channel == "":
		return map[string]any{"error": "invalid_arguments"}
	case !strings.HasPrefix(channel, "D") && !s.members[channel]:
		return map[string]any{"error": "not_in_channel"}
	case thread != "" && s.find(channel, thread) == nil:
		return map[string]any{"error": "thread_not_found"}
	}
	if probs := CheckText(first(form, "initial_comment")); len(probs) > 0 {
		return map[string]any{"error": "invalid_text", "response_metadata": map[string]any{"messages": probs}}
	}
	var done []map[string]any
	for _, fs := range files {
		f := s.file(fs.ID)
		switch {
		case f == nil || f.Uploads == 0:
			return map[string]any{"error": "file_not_found"}
		case len(f.Content) != f.Declared:
			return map[string]any{"error": "file_upload_size_mismatch"}
		case f.Shared:
			return map[string]any{"error": "file_already_completed"}
		}
		done = append(done, map[string]any{"id": f.ID, "title": fs.Title})
	}
	for _, fs := range files {
		f := s.file(fs.ID)
		f.Title, f.Channel, f.ThreadTS, f.Shared, f.Comment = fs.Title, channel, thread, true, first(form, "initial_comment")
	}
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: thread, User: BotUserID, BotID: BotID,
		Text: first(form, "initial_comment")}
	for _, fs := range files {
		m.Files = append(m.Files, fs.ID)
	}
	s.messages = append(s.messages, m)
	s.notify()
	return map[string]any{"files": done}
}

// upload receives a file's body at its upload URL (a multipart form with a "file"
// part, as slack-go posts it).
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	part, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(part)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "upload")
	f := s.file(r.PathValue("id"))
	if f == nil || f.Shared {
		http.Error(w, "no such upload", http.StatusNotFound)
		return
	}
	f.Content, f.Uploads = body, f.Uploads+1
	s.notify()
	_, _ = io.WriteString(w, "OK - "+strconv.Itoa(len(body)))
}

// download serves a shared file's content to the bot token, as url_private_download
// does; thumbnails serve the content too.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.calls = append(s.calls, "download")
	f := s.file(r.PathValue("id"))
	var body []byte
	var typ string
	if f != nil {
		body, typ = f.Content, f.Mimetype
	}
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+BotToken {
		// Slack answers a sign-in page, not an error, to a request without the token.
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>sign in</html>")
		return
	}
	if f == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}
