package controller

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// resyncTimer holds each settled object's next resync until it is due, and only
// then hands it to the controller's queue, where it is ranked as its namespace's
// resync as of that moment (queueRanks.resync). A resync ranked when it was
// scheduled, a period earlier, went ahead of a flood its namespace began in the
// meantime, and the flood's creates shared their connection's tokens with the
// reads of the system's snapshot those resyncs asked for, again and again as the
// flood's own first users came due. A resync due during its own namespace's
// flood waits for it; one of a quiet namespace does not.
type resyncTimer struct {
	waiting workqueue.TypedDelayingInterface[reconcile.Request]
	due     chan event.GenericEvent
}

func newResyncTimer() *resyncTimer {
	return &resyncTimer{
		waiting: workqueue.NewTypedDelayingQueue[reconcile.Request](),
		due:     make(chan event.GenericEvent),
	}
}

// take schedules the resync a reconcile's result asks for (marked priorityResync,
// and no error: an error's retry is the controller's) and returns the result
// without it; any other result is returned as it is. A nil timer leaves the
// resync to the controller's queue.
func (t *resyncTimer) take(res reconcile.Result, err error, req reconcile.Request) reconcile.Result {
	if t == nil || err != nil || res.Priority == nil || *res.Priority != priorityResync {
		return res
	}
	t.waiting.AddAfter(req, res.RequeueAfter)
	return reconcile.Result{}
}

// Start hands each resync to the controller when it is due, until ctx ends. The
// manager runs it on the leader only, as the controllers.
func (t *resyncTimer) Start(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		t.waiting.ShutDown()
	}()
	for {
		req, shutdown := t.waiting.Get()
		if shutdown {
			return nil
		}
		obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: req.Name}}
		select {
		case t.due <- event.GenericEvent{Object: obj}:
		case <-ctx.Done():
		}
		t.waiting.Done(req)
	}
}
