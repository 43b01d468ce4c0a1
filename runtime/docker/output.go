package docker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

// lineMax bounds one log line; the rest of a longer line is dropped.
const lineMax = 16 << 10

// output turns a container's output into the run's log records, sent to
// the store in batches (each 200ms, or at 256 lines), and remembers the
// last lines for the error of a run that ends badly.
type output struct {
	l     *Launcher
	runID string

	mu      sync.Mutex
	batch   []flow.LogRecord
	ring    []string
	head    int
	full    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

func newOutput(l *Launcher, runID string) *output {
	n := l.Tail
	if n <= 0 {
		n = 20
	}
	o := &output{l: l, runID: runID, ring: make([]string, 0, n), full: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go o.loop()
	return o
}

func (o *output) add(level slog.Level, s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.ring) < cap(o.ring) {
		o.ring = append(o.ring, s)
	} else {
		o.ring[o.head] = s
		o.head = (o.head + 1) % len(o.ring)
	}
	o.batch = append(o.batch, flow.LogRecord{RunID: o.runID, FlowRunID: o.runID, Time: time.Now(), Level: level, Message: s})
	if len(o.batch) >= 256 {
		select {
		case o.full <- struct{}{}:
		default:
		}
	}
}

func (o *output) tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append(append([]string(nil), o.ring[o.head:]...), o.ring[:o.head]...)
}

func (o *output) send() {
	o.mu.Lock()
	recs := o.batch
	o.batch = nil
	o.mu.Unlock()
	if len(recs) == 0 || o.l.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.l.Store.AppendLogs(ctx, recs); err != nil {
		o.l.logger().Warn("store container output", slog.String("run_id", o.runID), slog.Int("lines", len(recs)), slog.String("error", err.Error()))
	}
}

func (o *output) loop() {
	defer close(o.stopped)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-o.stop:
			o.send()
			return
		case <-tick.C:
		case <-o.full:
		}
		o.send()
	}
}

// close sends what is left and stops the sender.
func (o *output) close() {
	close(o.stop)
	<-o.stopped
}

func (o *output) writer(level slog.Level) *lines {
	return &lines{o: o, level: level}
}

// lines splits one stream of output into lines.
type lines struct {
	o     *output
	level slog.Level
	cur   []byte
	skip  bool
}

func (w *lines) emit() {
	if !w.skip {
		w.o.add(w.level, strings.TrimRight(string(w.cur), "\r"))
	}
	w.cur, w.skip = w.cur[:0], false
}

// end emits a last line without a newline.
func (w *lines) end() {
	if len(w.cur) > 0 {
		w.emit()
	}
}

func (w *lines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		part := p
		if i >= 0 {
			part = p[:i]
		}
		if !w.skip {
			if room := lineMax - len(w.cur); len(part) > room {
				w.cur = append(w.cur, part[:room]...)
				w.o.add(w.level, strings.TrimRight(string(w.cur), "\r")+" …(line cut)")
				w.cur, w.skip = w.cur[:0], true
			} else {
				w.cur = append(w.cur, part...)
			}
		}
		if i < 0 {
			break
		}
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}
