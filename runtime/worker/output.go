package worker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

// maxLine bounds one log line; longer lines are cut and marked.
const maxLine = 16 << 10

// LogAppender stores log records: the store, or anything that forwards to
// it.
type LogAppender interface {
	AppendLogs(ctx context.Context, recs []flow.LogRecord) error
}

// OutputLog turns the output of a run's child (a process, a container)
// into the run's log records, stored in batches (every 200ms or 256
// lines), and keeps the last lines for the error of a run that ends
// badly. Launchers share it: the process launcher and the Docker launcher
// report output the same way.
type OutputLog struct {
	logs  LogAppender
	runID string
	log   *slog.Logger

	mu      sync.Mutex
	pending []flow.LogRecord
	last    []string // ring of the last lines
	next    int
	kick    chan struct{}
	done    chan struct{}
	flushed chan struct{}
}

// NewOutputLog starts an OutputLog for runID. logs may be nil (the lines
// are then only kept for Tail); tail is how many last lines to keep
// (default 20); log receives failures to store lines (default
// slog.Default()). Close it when the output has ended.
func NewOutputLog(logs LogAppender, runID string, tail int, log *slog.Logger) *OutputLog {
	if tail <= 0 {
		tail = 20
	}
	if log == nil {
		log = slog.Default()
	}
	o := &OutputLog{logs: logs, runID: runID, log: log, last: make([]string, 0, tail), kick: make(chan struct{}, 1), done: make(chan struct{}), flushed: make(chan struct{})}
	go o.flusher()
	return o
}

func (o *OutputLog) line(level slog.Level, s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.last) < cap(o.last) {
		o.last = append(o.last, s)
	} else {
		o.last[o.next] = s
		o.next = (o.next + 1) % len(o.last)
	}
	if o.logs == nil {
		return
	}
	o.pending = append(o.pending, flow.LogRecord{RunID: o.runID, FlowRunID: o.runID, Time: time.Now(), Level: level, Message: s})
	if len(o.pending) >= 256 {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
}

// Tail returns the last lines, oldest first.
func (o *OutputLog) Tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append(append([]string(nil), o.last[o.next:]...), o.last[:o.next]...)
}

func (o *OutputLog) flush() {
	o.mu.Lock()
	recs := o.pending
	o.pending = nil
	o.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.logs.AppendLogs(ctx, recs); err != nil {
		o.log.Warn("store output of run", slog.String("run_id", o.runID), slog.Int("lines", len(recs)), slog.String("error", err.Error()))
	}
}

func (o *OutputLog) flusher() {
	defer close(o.flushed)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			o.flush()
			return
		case <-t.C:
		case <-o.kick:
		}
		o.flush()
	}
}

// Close stores what is left; the writers must be done (End called).
func (o *OutputLog) Close() {
	close(o.done)
	<-o.flushed
}

// Writer returns a writer for one stream of output (stdout, stderr),
// whose lines are logged at level. Each writer is used by one goroutine.
func (o *OutputLog) Writer(level slog.Level) *LineWriter {
	return &LineWriter{o: o, level: level}
}

// LineWriter splits one stream of output into log lines.
type LineWriter struct {
	o     *OutputLog
	level slog.Level
	buf   []byte
	cut   bool // the current line was too long and is being skipped
}

// End emits a last line that had no newline.
func (w *LineWriter) End() {
	if len(w.buf) > 0 && !w.cut {
		w.o.line(w.level, strings.TrimRight(string(w.buf), "\r"))
	}
	w.buf, w.cut = w.buf[:0], false
}

// Write implements io.Writer.
func (w *LineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !w.cut {
			room := maxLine - len(w.buf)
			if len(chunk) > room {
				w.buf = append(w.buf, chunk[:room]...)
				w.o.line(w.level, strings.TrimRight(string(w.buf), "\r")+" …(line cut)")
				w.buf, w.cut = w.buf[:0], true
			} else {
				w.buf = append(w.buf, chunk...)
			}
		}
		if i < 0 {
			break
		}
		if !w.cut {
			w.o.line(w.level, strings.TrimRight(string(w.buf), "\r"))
		}
		w.buf, w.cut = w.buf[:0], false
		p = p[i+1:]
	}
	return n, nil
}
