package controller

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	eventsv1client "k8s.io/client-go/kubernetes/typed/events/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
)

const (
	// eventWriteTries and eventRetryWait are client-go's: an Event the apiserver
	// could not be reached for is tried 12 times, about 10 s apart.
	eventWriteTries = 12
	eventRetryWait  = 10 * time.Second
	// reportingController names the operator in the Events it writes.
	reportingController = "acs-operator"
)

// newEventRecorder returns the events.k8s.io recorder the controllers use until
// ctx ends. It is client-go's (tools/events: the same Events, names, checks and
// V(1) log lines as the manager's GetEventRecorder), except that each Event goes
// to the apiserver through writeEvent instead of the broadcaster's own recording
// to a sink. That one keeps every Event it wrote for 6 to 12 minutes, to count a
// repeat as a series: after 10,000 creates it held 10 MB of Events, a fifth of
// the manager's live heap at 10,000 AcsUsers, and the heap grows twice that.
// Nothing here repeats an Event for a series to count: the controllers emit one
// when something happened, not on every reconcile that sees the same state
// (concludeOn), and client-go's series key holds the object's resourceVersion.
func newEventRecorder(ctx context.Context, mgr ctrl.Manager) (EventRecorder, error) {
	client, err := eventsv1client.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return nil, err
	}
	sink := &events.EventSinkImpl{Interface: client}
	broadcaster := events.NewBroadcaster(sink)
	log := mgr.GetLogger().WithName("events")
	if _, err := broadcaster.StartLogging(log.V(1)); err != nil {
		return nil, err
	}
	if _, err := broadcaster.StartEventWatcher(func(obj runtime.Object) {
		if e, ok := obj.(*eventsv1.Event); ok {
			go writeEvent(ctx, log, sink, e, eventRetryWait)
		}
	}); err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, broadcaster.Shutdown)
	return broadcaster.NewRecorder(mgr.GetScheme(), reportingController), nil
}

// writeEvent creates e, retrying as client-go does when the apiserver could not
// be reached, and not when it answered: an Event it refused is refused again.
// It gives up when ctx ends.
func writeEvent(ctx context.Context, log logr.Logger, sink events.EventSink, e *eventsv1.Event, retryWait time.Duration) {
	for try := 1; ; try++ {
		_, err := sink.Create(ctx, e)
		if err == nil || ctx.Err() != nil || apierrors.IsAlreadyExists(err) {
			return
		}
		var status apierrors.APIStatus
		var construction *rest.RequestConstructionError
		if errors.As(err, &status) || errors.As(err, &construction) {
			log.Error(err, "The apiserver refused an Event (not retried)", "reason", e.Reason, "object", e.Regarding.Name, "namespace", e.Namespace)
			return
		}
		if try == eventWriteTries {
			log.Error(err, "Could not write an Event (gave up)", "reason", e.Reason, "object", e.Regarding.Name, "namespace", e.Namespace)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait.Jitter(retryWait, 0.25)):
		}
	}
}
