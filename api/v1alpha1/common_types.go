package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// SeamID is an identifier issued by Seam (an ACS system, user, access group, user identity or workspace). Seam ids are opaque: they are usually UUIDs but other forms exist, so only their length and the absence of whitespace are checked.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=128
// +kubebuilder:validation:Pattern=`^\S+$`
type SeamID string

// Condition types and reasons shared by the kinds of this API. Reasons are CamelCase, stable, and documented in the README's troubleshooting table.
const (
	// ConditionReady is True when the object matches its spec remotely and nothing is pending.
	ConditionReady = "Ready"
	// ConditionSynced is True when the last attempt to reach Seam for this object succeeded.
	ConditionSynced = "Synced"
)

// DefaultEndpoint is the Seam Connect API's public base URL.
const DefaultEndpoint = "https://connect.getseam.com"

// RateLimit bounds the requests the operator sends to one Seam workspace through one connection. Every AcsUser using the connection shares the same budget.
type RateLimit struct {
	// requestsPerSecond is the sustained rate of requests sent to Seam.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=10
	// +optional
	RequestsPerSecond int32 `json:"requestsPerSecond,omitempty"`

	// burst is how many requests may be sent at once above the sustained rate.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=20
	// +optional
	Burst int32 `json:"burst,omitempty"`
}

// ConnectionStatus is the observed state of a SeamConnection or ClusterSeamConnection.
type ConnectionStatus struct {
	// conditions: Ready is True when the API key was read and Seam accepted it.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation last checked successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// workspaceId is the Seam workspace the API key belongs to, as Seam reported it.
	// +optional
	WorkspaceID string `json:"workspaceId,omitempty"`

	// workspaceName is the name of that workspace, as Seam reported it.
	// +optional
	WorkspaceName string `json:"workspaceName,omitempty"`

	// webhook reports Seam's events: the registered webhook and the last event seen.
	// +optional
	Webhook *WebhookStatus `json:"webhook,omitempty"`
}
