package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// staticFS holds the page (index.html, under /static/ its script and style) and the
// widget (widget.js), served from the binary.
//
//go:embed static
var staticFS embed.FS

// staticHandler serves /static/… and /widget.js from staticFS.
func (c *Channel) staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static") // the directory is embedded: cannot fail
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static")
		if name == "/" || name == "/index.html" || strings.HasSuffix(name, "/") {
			http.NotFound(w, r) // no listings; the page is at /
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		r2 := r.Clone(r.Context())
		r2.URL.Path = name
		files.ServeHTTP(w, r2)
	})
}

// page serves the chat page, GET / (GET /?embed=1 in the widget's frame: the page reads
// the parameter itself).
func (c *Channel) page(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, "page missing", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}
