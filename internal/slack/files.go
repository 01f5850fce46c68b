package slack

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/giftdesk/giftdesk/bot"
)

// MediaHandler serves agents' files to customers' channels by signed links
// (bot.MediaLinks), at GET /media/{id}: the link is checked (403 for a bad signature, 410
// once expired), the file found with files.info and streamed from its
// url_private_download with the bot token; an id ending in bot.MediaPreview serves its
// thumbnail. Nothing is stored on giftdesk's side. The route must be registered with the
// {id} wildcard.
func (c *Channel) MediaHandler(links *bot.MediaLinks) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		q := r.URL.Query()
		switch err := links.Check(id, q.Get("exp"), q.Get("sig")); {
		case errors.Is(err, bot.ErrLinkExpired):
			http.Error(w, "link expired", http.StatusGone)
			return
		case err != nil:
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fileID, preview := strings.CutSuffix(id, bot.MediaPreview)
		f, _, _, err := c.api.GetFileInfoContext(r.Context(), fileID, 0, 0)
		if err != nil {
			var resp slackapi.SlackErrorResponse
			if errors.As(err, &resp) && resp.Err == "file_not_found" || errors.As(err, &resp) && resp.Err == "file_deleted" {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			c.log.Warn("media link: files.info", "err", apiError("files.info", err))
			http.Error(w, "unavailable", http.StatusBadGateway)
			return
		}
		src, typ := f.URLPrivateDownload, f.Mimetype
		if preview {
			for _, t := range []string{f.Thumb360, f.Thumb480, f.Thumb160} {
				if t != "" {
					src, typ = t, mime.TypeByExtension(path.Ext(t))
					break
				}
			}
		}
		out := &lazyWriter{w: w, header: func(h http.Header) {
			if typ == "" {
				typ = "application/octet-stream"
			}
			h.Set("Content-Type", typ)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "private, max-age=3600")
			// An agent's file is served from giftdesk's origin: nothing in it may run
			// there (an SVG's script, an HTML page).
			h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
			if !inlineTypes[typ] {
				h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
			}
			if !preview && f.Size > 0 {
				h.Set("Content-Length", strconv.Itoa(f.Size))
			}
		}}
		if err := c.api.GetFileContext(r.Context(), src, out); err != nil {
			c.log.Warn("media link: download", "err", apiError("download", err))
			if !out.started {
				http.Error(w, "unavailable", http.StatusBadGateway)
			}
		}
	})
}

// inlineTypes are the types shown in the browser; anything else is a download.
var inlineTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// lazyWriter writes the headers before the first byte, so that a download that fails
// before any can still be answered with an error.
type lazyWriter struct {
	w       http.ResponseWriter
	header  func(http.Header)
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.header(l.w.Header())
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}

var _ io.Writer = (*lazyWriter)(nil)
