package logging

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// withCounter counts the With calls that reach the core under the lazy one:
// each is an encoder cloned into a new buffer.
type withCounter struct {
	zapcore.Core
	withs *int
}

func (c withCounter) With(fs []zapcore.Field) zapcore.Core {
	*c.withs++
	return withCounter{Core: c.Core.With(fs), withs: c.withs}
}

// A reconcile's logger gets its values (controller, object, reconcile id) in
// several With calls and, most of the time, writes nothing: its fields must be
// encoded only when a line is written, and then all of them, in order.
func TestLazyFieldsEncodeOnlyWhenALineIsWritten(t *testing.T) {
	obs, logs := observer.New(zapcore.InfoLevel)
	withs := 0
	log := zap.New(LazyFields(withCounter{Core: obs, withs: &withs})).
		With(zap.String("controller", "acsuser")).
		With(zap.String("namespace", "tenant"), zap.String("name", "alice"))
	log.With(zap.String("reconcileID", "a")) // a reconcile that logs nothing
	log.Debug("below the level")
	if withs != 0 {
		t.Fatalf("%d With calls reached the core before any line was written, want 0", withs)
	}

	log = log.With(zap.String("reconcileID", "b"))
	log.Info("one")
	log.Info("two")
	if withs != 1 {
		t.Errorf("%d With calls reached the core for two lines, want 1", withs)
	}
	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("%d lines written, want 2", len(entries))
	}
	var keys []string
	for _, f := range entries[0].Context {
		keys = append(keys, f.Key+"="+f.String)
	}
	if want := "[controller=acsuser namespace=tenant name=alice reconcileID=b]"; fmtKeys(keys) != want {
		t.Errorf("fields of the line: %s, want %s", fmtKeys(keys), want)
	}
}

func fmtKeys(keys []string) string {
	out := "["
	for i, k := range keys {
		if i > 0 {
			out += " "
		}
		out += k
	}
	return out + "]"
}
