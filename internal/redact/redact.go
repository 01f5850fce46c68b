// Package redact keeps secrets out of logs: a slog.Handler that masks gift-card codes and
// replaces known secret values (tokens, channel secrets, signing secrets) in every message
// and attribute before the wrapped handler writes them.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// minSecretLen is the shortest secret value that is searched for; shorter values would
// mangle ordinary words.
const minSecretLen = 8

// Redactor masks secrets in strings. It is safe for concurrent use.
type Redactor struct {
	codes   func(string) string
	secrets *strings.Replacer
	ids     map[string]bool
}

// New returns a Redactor that masks gift-card codes with codes (e.g. flows.RedactCodes)
// and replaces each of secrets (empty and short values are ignored) with "[REDACTED]".
func New(codes func(string) string, secrets ...string) *Redactor {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			pairs = append(pairs, s, "[REDACTED]")
		}
	}
	r := &Redactor{codes: codes}
	if len(pairs) > 0 {
		r.secrets = strings.NewReplacer(pairs...)
	}
	return r
}

// WithIDs returns a copy of r that does not mask codes in the attributes named keys: they
// hold identifiers giftdesk makes or gets from the platforms (conversation keys, event
// ids, file paths), never customer text, and masking them would make logs useless for
// following one conversation. Secrets are still replaced there.
func (r *Redactor) WithIDs(keys ...string) *Redactor {
	c := *r
	c.ids = make(map[string]bool, len(keys))
	for _, k := range keys {
		c.ids[k] = true
	}
	return &c
}

// String returns s with secrets replaced and codes masked.
func (r *Redactor) String(s string) string {
	if r.secrets != nil {
		s = r.secrets.Replace(s)
	}
	if r.codes != nil {
		s = r.codes(s)
	}
	return s
}

// Handler wraps h so that every record's message and attribute values pass through r.
// Errors, Stringers and other values are formatted to strings first, so nothing reaches
// h unredacted.
func (r *Redactor) Handler(h slog.Handler) slog.Handler {
	return &handler{r: r, next: h}
}

type handler struct {
	r    *Redactor
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &handler{r: h.r, next: h.next.WithAttrs(clean)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{r: h.r, next: h.next.WithGroup(name)}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if h.r.ids[a.Key] && v.Kind() == slog.KindString {
		s := v.String()
		if h.r.secrets != nil {
			s = h.r.secrets.Replace(s)
		}
		return slog.String(a.Key, s)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]any, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		return slog.String(a.Key, h.r.String(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
