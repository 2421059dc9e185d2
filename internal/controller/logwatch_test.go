package controller_test

import (
	"fmt"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// infoLogs watches every line the managers log at info level or above (V(0) and
// errors) for strings a spec says must never appear there. Debug lines (V(1)+) are
// not watched: they may keep a redacted excerpt of what a server answered.
var infoLogs = &logWatch{}

// allLogs watches every line at every verbosity, whether the suite's logger prints
// it or not: for what must never be logged at all (a PIN).
var allLogs = &logWatch{}

type logWatch struct {
	mu      sync.Mutex
	needles map[string][]string // needle -> lines that contained it
}

// watch starts recording the info lines containing needle, and returns a function
// that reports them.
func (w *logWatch) watch(needle string) func() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.needles == nil {
		w.needles = map[string][]string{}
	}
	w.needles[needle] = nil
	return func() []string {
		w.mu.Lock()
		defer w.mu.Unlock()
		return append([]string(nil), w.needles[needle]...)
	}
}

func (w *logWatch) check(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for needle := range w.needles {
		if strings.Contains(line, needle) {
			w.needles[needle] = append(w.needles[needle], line)
		}
	}
}

// teeSink passes everything to the suite's logger and shows info lines to infoLogs.
type teeSink struct {
	logr.LogSink
	names  []string
	values []any
}

func withInfoWatch(l logr.Logger) logr.Logger { return logr.New(teeSink{LogSink: l.GetSink()}) }

// Enabled is true at every level, so allLogs sees the most verbose lines too.
func (t teeSink) Enabled(int) bool { return true }

func (t teeSink) Info(level int, msg string, kv ...any) {
	line := t.render(nil, msg, kv)
	allLogs.check(line)
	if level == 0 {
		infoLogs.check(line)
	}
	if t.LogSink.Enabled(level) {
		t.LogSink.Info(level, msg, kv...)
	}
}

func (t teeSink) Error(err error, msg string, kv ...any) {
	line := t.render(err, msg, kv)
	allLogs.check(line)
	infoLogs.check(line)
	t.LogSink.Error(err, msg, kv...)
}

func (t teeSink) WithValues(kv ...any) logr.LogSink {
	return teeSink{LogSink: t.LogSink.WithValues(kv...), names: t.names, values: append(append([]any(nil), t.values...), kv...)}
}

func (t teeSink) WithName(name string) logr.LogSink {
	return teeSink{LogSink: t.LogSink.WithName(name), names: append(append([]string(nil), t.names...), name), values: t.values}
}

func (t teeSink) render(err error, msg string, kv []any) string {
	return fmt.Sprintf("%s %s err=%v %v %v", strings.Join(t.names, "."), msg, err, t.values, kv)
}
