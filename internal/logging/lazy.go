// Package logging holds what the manager adds to its zap logger.
package logging

import (
	"slices"

	"go.uber.org/zap/zapcore"
)

// LazyFields wraps the manager's zap core so that the fields a logger is given
// are encoded only when a line is written. controller-runtime gives every
// reconcile's logger its controller, object and reconcile id in several With
// calls, and zap's core encodes each at once into a new buffer: at 10,000
// AcsUsers resyncing that was a seventh of the manager's allocations, for
// reconciles that nearly all log nothing.
//
// zapcore.NewLazyWith defers one With but encodes as soon as it is chained
// again; here a With only appends to the fields kept for the chain, and the
// line written first encodes them all, once, for every line of that logger.
func LazyFields(base zapcore.Core) zapcore.Core {
	return lazyFields{Core: base, base: base}
}

type lazyFields struct {
	// Core is zapcore.NewLazyWith(base, fields): it encodes them on the first
	// line written and serves the lines after it.
	zapcore.Core
	base   zapcore.Core
	fields []zapcore.Field
}

func (l lazyFields) With(fs []zapcore.Field) zapcore.Core {
	fields := append(slices.Clip(l.fields), fs...)
	return lazyFields{Core: zapcore.NewLazyWith(l.base, fields), base: l.base, fields: fields}
}
