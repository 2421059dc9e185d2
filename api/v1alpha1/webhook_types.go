package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ConditionAcsSystemsConnected is False on a connection while Seam reports one of its ACS systems disconnected (acs_system.disconnected): writes to its users wait for the building's system to come back.
const ConditionAcsSystemsConnected = "AcsSystemsConnected"

// ConditionWebhookRegistered is on a connection with spec.webhook.register: True once the webhook is in Seam at that URL, False with the reason it is not (the URL's path does not lead to this connection, or Seam refused the registration). Ready does not depend on it: without the webhook the catch-up and the resync still find every change.
const ConditionWebhookRegistered = "WebhookRegistered"

// WebhookSpec makes Seam push its events to the operator's webhook receiver (the manager's --webhook-bind-address), at /webhooks/seam/<namespace>/<name> for a SeamConnection and /webhooks/seam/cluster/<name> for a ClusterSeamConnection. An event only makes the operator read Seam at once instead of at the next resync.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.register)",message="set exactly one of secretRef (a webhook you created in Seam) and register (the operator creates it)"
type WebhookSpec struct {
	// secretRef is the Secret key holding the signing secret (whsec_...) of a webhook you created in Seam (console or /webhooks/create) with the receiver's URL. For a ClusterSeamConnection it needs a namespace; for a SeamConnection it must not have one (the connection's own namespace).
	// +optional
	SecretRef *WebhookSecretRef `json:"secretRef,omitempty"`

	// register has the operator create the webhook in Seam (/webhooks/create), keep its signing secret in a Secret it owns, and delete the webhook when the connection is deleted.
	// +optional
	Register *WebhookRegistration `json:"register,omitempty"`
}

// WebhookSecretRef names the key of a Secret holding a webhook signing secret.
type WebhookSecretRef struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Name string `json:"name"`

	// namespace of the Secret: only (and always) for a ClusterSeamConnection.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// key in the Secret's data that holds the signing secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:default=signingSecret
	// +optional
	Key string `json:"key,omitempty"`
}

// WebhookRegistration is the webhook the operator creates in Seam.
type WebhookRegistration struct {
	// url is where Seam delivers: the receiver's public address followed by this connection's path, e.g. https://hooks.example.com/webhooks/seam/team-a/seam. Its path must end in the connection's name (/cluster/<name> for a ClusterSeamConnection): a URL copied from another connection is refused.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))",message="must be an absolute http(s) URL"
	// +required
	URL string `json:"url"`
}

// WebhookStatus says whether Seam's events reach the operator.
type WebhookStatus struct {
	// webhookId is the webhook the operator registered (spec.webhook.register).
	// +optional
	WebhookID string `json:"webhookId,omitempty"`

	// secretName is the Secret, in the operator's namespace for a ClusterSeamConnection and the connection's otherwise, where the operator keeps the signing secret of the webhook it registered.
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// lastEventTime is when the newest event the operator received (by webhook or catch-up) was created: if it stops moving while the workspace changes, events are not flowing.
	// +optional
	LastEventTime *metav1.Time `json:"lastEventTime,omitempty"`

	// caughtUpTo is where the next catch-up (/events/list) reads from: every event created before it has been listed. Only the catch-up moves it, so a webhook delivered out of order never makes it skip a lost one.
	// +optional
	CaughtUpTo *metav1.Time `json:"caughtUpTo,omitempty"`

	// lastEventId is the newest event the catch-up listed.
	// +optional
	LastEventID string `json:"lastEventId,omitempty"`

	// disconnectedSystems are the ACS systems Seam last reported disconnected.
	// +listType=set
	// +optional
	DisconnectedSystems []string `json:"disconnectedSystems,omitempty"`
}
