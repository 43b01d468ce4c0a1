package flow

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Logger returns the logger of the run in ctx. Its records go to the
// engine's recorder with the run's IDs (so the runtime stores and streams
// them) and, if the engine has one, to its Logs handler with run_id and
// flow_run_id attributes. Outside a run it returns a logger on the
// engine's Logs handler, or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	r := RunFrom(ctx)
	if r == nil {
		if h := EngineFrom(ctx).Logs; h != nil {
			return slog.New(h)
		}
		return slog.Default()
	}
	if l := r.logger.Load(); l != nil {
		return l
	}
	h := &runHandler{run: r}
	if r.eng.Logs != nil {
		h.next = r.eng.Logs.WithAttrs([]slog.Attr{
			slog.String("run_id", r.rec.ID),
			slog.String("flow_run_id", r.rec.FlowRunID),
			slog.String(string(r.rec.Kind), r.rec.Name),
		})
	}
	l := slog.New(h)
	r.logger.CompareAndSwap(nil, l)
	return r.logger.Load()
}

// runHandler turns slog records into LogRecords for the recorder.
type runHandler struct {
	run    *Run
	next   slog.Handler
	attrs  []slog.Attr // from WithAttrs, already qualified by groups
	prefix string      // group prefix, "a.b."
}

func (h *runHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || (h.next != nil && h.next.Enabled(ctx, l))
}

func (h *runHandler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelInfo {
		attrs := make(map[string]any, len(h.attrs)+rec.NumAttrs())
		for _, a := range h.attrs {
			addAttr(attrs, "", a)
		}
		rec.Attrs(func(a slog.Attr) bool {
			addAttr(attrs, h.prefix, a)
			return true
		})
		var raw json.RawMessage
		if len(attrs) > 0 {
			raw, _ = json.Marshal(attrs) // values were resolved to JSON-safe forms
		}
		t := rec.Time
		if t.IsZero() {
			t = time.Now()
		}
		h.run.eng.Recorder.Log(h.run.rctx, LogRecord{
			RunID:     h.run.rec.ID,
			FlowRunID: h.run.rec.FlowRunID,
			Time:      t,
			Level:     rec.Level,
			Message:   rec.Message,
			Attrs:     raw,
		})
	}
	if h.next != nil && h.next.Enabled(ctx, rec.Level) {
		return h.next.Handle(ctx, rec)
	}
	return nil
}

func (h *runHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		a.Key = h.prefix + a.Key
		c.attrs = append(c.attrs, a)
	}
	if h.next != nil {
		c.next = h.next.WithAttrs(as)
	}
	return &c
}

func (h *runHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + name + "."
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	return &c
}

// addAttr flattens a into m under dotted keys, resolving LogValuers (so a
// secret type that masks itself in LogValue stays masked here).
func addAttr(m map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Key == "" && v.Kind() != slog.KindGroup {
		return
	}
	switch v.Kind() {
	case slog.KindGroup:
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(m, p, g)
		}
	case slog.KindString:
		m[prefix+a.Key] = v.String()
	case slog.KindInt64:
		m[prefix+a.Key] = v.Int64()
	case slog.KindUint64:
		m[prefix+a.Key] = v.Uint64()
	case slog.KindFloat64:
		m[prefix+a.Key] = v.Float64()
	case slog.KindBool:
		m[prefix+a.Key] = v.Bool()
	case slog.KindDuration:
		m[prefix+a.Key] = v.Duration().String()
	case slog.KindTime:
		m[prefix+a.Key] = v.Time().Format(time.RFC3339Nano)
	default:
		if e, ok := v.Any().(error); ok {
			m[prefix+a.Key] = e.Error()
			return
		}
		if _, err := json.Marshal(v.Any()); err != nil {
			m[prefix+a.Key] = v.String()
			return
		}
		m[prefix+a.Key] = v.Any()
	}
}
