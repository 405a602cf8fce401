package redact

import (
	"context"
	"log/slog"
)

// Handler returns a slog.Handler that writes through h every record with [Text] applied to its
// message and to the text of its attributes (strings, errors, anything printed), groups
// included, so that no secret of the list and no URL's password reaches a log.
func Handler(h slog.Handler, secrets []string) slog.Handler {
	if r, ok := h.(*handler); ok { // one pass is enough: merge the lists
		return &handler{next: r.next, secrets: append(append([]string(nil), r.secrets...), secrets...)}
	}
	return &handler{next: h, secrets: secrets}
}

type handler struct {
	next    slog.Handler
	secrets []string
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Text(r.Message, h.secrets), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(clean), secrets: h.secrets}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), secrets: h.secrets}
}

// attr masks one attribute's value: a string or any other value as the text a handler would
// write for it; numbers, booleans, times and durations are left as they are.
func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		clean := make([]slog.Attr, len(g))
		for i, x := range g {
			clean[i] = h.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindString, slog.KindAny:
		s := v.String() // what a handler writes: fmt's %+v, an error's message
		if clean := Text(s, h.secrets); clean != s {
			return slog.String(a.Key, clean)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
