package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
)

// webhookAddr is where the demo's manager receives Seam's webhooks.
const webhookAddr = "127.0.0.1:8768"

// showConsoleDelete registers a webhook for the samples' connection
// (spec.webhook.register), makes a user, deletes it "in the Seam console" (the
// sandbox's admin route) and times how long the operator takes to report it.
func showConsoleDelete(ctx context.Context, c client.Client) (time.Duration, error) {
	key := client.ObjectKey{Namespace: "default", Name: "seam"}
	conn := &seamv1alpha1.SeamConnection{}
	if err := c.Get(ctx, key, conn); err != nil {
		return 0, err
	}
	base := conn.DeepCopy()
	conn.Spec.Webhook = &seamv1alpha1.WebhookSpec{Register: &seamv1alpha1.WebhookRegistration{
		URL: "http://" + webhookAddr + "/webhooks/seam/default/seam"}}
	if err := c.Patch(ctx, conn, client.MergeFrom(base)); err != nil {
		return 0, err
	}
	if err := poll(ctx, 30*time.Second, func() bool {
		return c.Get(ctx, key, conn) == nil && conn.Status.Webhook != nil && conn.Status.Webhook.WebhookID != ""
	}); err != nil {
		return 0, fmt.Errorf("the operator did not register the webhook: %w", err)
	}
	fmt.Printf("Webhook %s registered in the sandbox; its secret is in Secret default/%s\n",
		conn.Status.Webhook.WebhookID, conn.Status.Webhook.SecretName)

	u := &seamv1alpha1.AcsUser{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "console-deleted"},
		Spec: seamv1alpha1.AcsUserSpec{ConnectionRef: seamv1alpha1.ConnectionRef{Kind: seamv1alpha1.SeamConnectionKind, Name: "seam"},
			AcsSystemID: "acs_system_hq", FullName: "Deleted In The Console"},
	}
	if err := c.Create(ctx, u); err != nil {
		return 0, err
	}
	if err := poll(ctx, 60*time.Second, func() bool { return readyReason(ctx, c, u) == "True/Available" }); err != nil {
		return 0, fmt.Errorf("AcsUser console-deleted did not become Ready: %w", err)
	}
	resp, err := http.Post("http://"+sandboxAddr+"/_sandbox/users/delete", "application/json",
		strings.NewReader(fmt.Sprintf(`{"acs_user_id":%q}`, u.Status.AcsUserID)))
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	start := time.Now()
	if err := poll(ctx, 60*time.Second, func() bool { return readyReason(ctx, c, u) == "False/RemoteDeleted" }); err != nil {
		return 0, fmt.Errorf("the console deletion was not reported: %w", err)
	}
	return time.Since(start), nil
}

func readyReason(ctx context.Context, c client.Client, u *seamv1alpha1.AcsUser) string {
	if err := c.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		return ""
	}
	cond := meta.FindStatusCondition(u.Status.Conditions, seamv1alpha1.ConditionReady)
	if cond == nil {
		return ""
	}
	return string(cond.Status) + "/" + cond.Reason
}

// poll checks done every 20ms until it holds or timeout passes.
func poll(ctx context.Context, timeout time.Duration, done func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
