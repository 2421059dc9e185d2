package controller

import (
	"context"
	"errors"
	"testing"

	"github.com/go-logr/logr"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeSink answers each Create with the next of its errors, then nil.
type fakeSink struct {
	errs    []error
	creates int
}

func (s *fakeSink) Create(context.Context, *eventsv1.Event) (*eventsv1.Event, error) {
	s.creates++
	if len(s.errs) == 0 {
		return &eventsv1.Event{}, nil
	}
	err := s.errs[0]
	s.errs = s.errs[1:]
	return nil, err
}

func (s *fakeSink) Update(context.Context, *eventsv1.Event) (*eventsv1.Event, error) {
	return nil, errors.New("not used")
}

func (s *fakeSink) Patch(context.Context, *eventsv1.Event, []byte) (*eventsv1.Event, error) {
	return nil, errors.New("not used")
}

func TestWriteEventRetriesOnlyWhatTheAPIServerDidNotAnswer(t *testing.T) {
	unreachable := errors.New("dial tcp: connection refused")
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, "e", nil)
	exists := apierrors.NewAlreadyExists(schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, "e")
	cases := []struct {
		name    string
		errs    []error
		creates int
	}{
		{"written at once", nil, 1},
		{"the apiserver unreachable twice, then written", []error{unreachable, unreachable}, 3},
		{"refused: not tried again", []error{invalid}, 1},
		{"already there: done", []error{exists}, 1},
		{"unreachable every time: given up after client-go's tries", repeat(unreachable, 2*eventWriteTries), eventWriteTries},
	}
	for _, c := range cases {
		sink := &fakeSink{errs: c.errs}
		writeEvent(t.Context(), logr.Discard(), sink, &eventsv1.Event{}, 0)
		if sink.creates != c.creates {
			t.Errorf("%s: %d creates, want %d", c.name, sink.creates, c.creates)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	sink := &fakeSink{errs: repeat(unreachable, 2*eventWriteTries)}
	writeEvent(ctx, logr.Discard(), sink, &eventsv1.Event{}, 0)
	if sink.creates != 1 {
		t.Errorf("the manager stopping: %d creates, want 1 and no retry", sink.creates)
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
