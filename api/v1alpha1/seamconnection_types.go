package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SecretKeySelector names one key of a Secret in the namespace of the object that refers to it.
type SecretKeySelector struct {
	// name of the Secret (a DNS subdomain, as every Secret's name).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Name string `json:"name"`

	// key in the Secret's data that holds the Seam API key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:default=apiKey
	// +optional
	Key string `json:"key,omitempty"`
}

// SeamConnectionSpec says how to reach one Seam workspace.
// +kubebuilder:validation:XValidation:rule="!self.endpoint.startsWith('http://') || (has(self.insecureAllowHTTP) && self.insecureAllowHTTP)",message="a plain http:// endpoint sends the API key unencrypted: use https://, or set insecureAllowHTTP: true for a local sandbox",fieldPath=".endpoint",reason=FieldValueForbidden
type SeamConnectionSpec struct {
	// endpoint is the base URL of the Seam Connect API. The operator only sends requests to endpoints its installer allows (the manager's --allowed-endpoints, by default https://connect.getseam.com); any other gets Ready=False, reason EndpointNotAllowed.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))",message="must be an absolute http(s) URL such as https://connect.getseam.com"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*@') && !self.contains('?') && !self.contains('#')",message="must not carry user info (user@), a query or a fragment: the operator refuses such endpoints"
	// +kubebuilder:default="https://connect.getseam.com"
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// insecureAllowHTTP allows a plain http:// endpoint, if the manager's --allowed-endpoints also lists it. Only for local sandboxes: the API key then crosses the network unencrypted.
	// +optional
	InsecureAllowHTTP bool `json:"insecureAllowHTTP,omitempty"`

	// apiKeySecretRef is the Secret key holding the Seam API key (or personal access token), in the connection's namespace.
	// +required
	APIKeySecretRef SecretKeySelector `json:"apiKeySecretRef"`

	// workspaceId, when set, is sent as the seam-workspace header (needed with a personal access token) and checked against the workspace the key belongs to.
	// +optional
	WorkspaceID SeamID `json:"workspaceId,omitempty"`

	// rateLimit bounds the requests sent through this connection, shared by every AcsUser that uses it. Defaults to 10 requests per second with a burst of 20.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// webhook has Seam push its events (a user deleted in the console, a credential invalidated, a system disconnected) so the operator reacts in seconds instead of at the next resync. Unset, only polling finds drift.
	// +kubebuilder:validation:XValidation:rule="!has(self.secretRef) || !has(self.secretRef.namespace)",message="a SeamConnection's webhook secret is in its own namespace: leave secretRef.namespace unset"
	// +optional
	Webhook *WebhookSpec `json:"webhook,omitempty"`
}

// SeamConnection is how AcsUsers in one namespace reach a Seam workspace: the API endpoint and the Secret that holds the API key.
// +kubebuilder:validation:XValidation:rule="!has(self.spec.webhook) || !has(self.spec.webhook.register) || !isURL(self.spec.webhook.register.url) || url(self.spec.webhook.register.url).getEscapedPath().endsWith('/' + self.metadata.name)",message="spec.webhook.register.url must end in this connection's receiver path, /webhooks/seam/<namespace>/<name>: Seam delivers there, and the receiver finds the connection by that path",fieldPath=".spec.webhook.register.url"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=seam,shortName=seamconn
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.endpoint`
// +kubebuilder:printcolumn:name="Workspace",type=string,JSONPath=`.status.workspaceId`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SeamConnection struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says how to reach the Seam workspace.
	// +required
	Spec SeamConnectionSpec `json:"spec"`

	// status reports whether Seam accepted the API key. The default makes a new object read as not yet reconciled (kstatus InProgress) until the operator first reports on it.
	// +kubebuilder:default={observedGeneration: 0}
	// +optional
	Status ConnectionStatus `json:"status,omitempty"`
}

// SeamConnectionList is a list of SeamConnection.
// +kubebuilder:object:root=true
type SeamConnectionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SeamConnection `json:"items"`
}

func init() {
	SchemeBuilder.Register(&SeamConnection{}, &SeamConnectionList{})
}
