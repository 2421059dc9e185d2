package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AccessMethod is the kind of credential.
// +kubebuilder:validation:Enum=code;card;mobile_key
type AccessMethod string

const (
	// AccessMethodCode is a PIN code typed on a keypad.
	AccessMethodCode AccessMethod = "code"
	// AccessMethodCard is a key card, encoded on the site.
	AccessMethodCard AccessMethod = "card"
	// AccessMethodMobileKey is a key in the tenant's phone app.
	AccessMethodMobileKey AccessMethod = "mobile_key"
)

// LocalObjectRef names an object in the same namespace.
type LocalObjectRef struct {
	// name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// SecretKeyRef names one key of a Secret in the same namespace.
type SecretKeyRef struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// key in the Secret whose value is the PIN (digits only).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Key string `json:"key"`
}

// GeneratePIN asks the operator to make up the PIN.
type GeneratePIN struct {
	// length of the PIN in digits; the access system decides which lengths it takes.
	// +kubebuilder:validation:Minimum=4
	// +kubebuilder:validation:Maximum=12
	// +kubebuilder:default=6
	// +optional
	Length int32 `json:"length,omitempty"`
}

// CodeSource says where a PIN comes from. The PIN itself is never in the spec.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.generate)",message="set exactly one of secretRef and generate"
type CodeSource struct {
	// secretRef is a Secret key holding the digits. Changing the value rotates the code.
	// +optional
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
	// generate has the operator generate a PIN (crypto random, digits only) into a Secret it owns, named in status.codeSecretName, so the tenant can be told it.
	// +optional
	Generate *GeneratePIN `json:"generate,omitempty"`
	// rotate: changing it to any new value (e.g. a date) sets a new PIN (a new one is generated; a secretRef's value is sent again).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Rotate string `json:"rotate,omitempty"`
}

// AcsCredentialSpec is the credential as it should be in Seam.
// +kubebuilder:validation:XValidation:rule="self.accessMethod == oldSelf.accessMethod",message="accessMethod is immutable: create a new AcsCredential instead",fieldPath=".accessMethod",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="self.acsUserRef.name == oldSelf.acsUserRef.name",message="acsUserRef is immutable: create a new AcsCredential instead",fieldPath=".acsUserRef",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="(self.accessMethod == 'code') == has(self.code)",message="code is required for accessMethod code and not allowed otherwise",fieldPath=".code"
// +kubebuilder:validation:XValidation:rule="!has(self.isMultiPhoneSyncCredential) || !self.isMultiPhoneSyncCredential || self.accessMethod == 'mobile_key'",message="isMultiPhoneSyncCredential is for mobile keys",fieldPath=".isMultiPhoneSyncCredential"
// +kubebuilder:validation:XValidation:rule="!has(self.startsAt) || !has(self.endsAt) || self.endsAt > self.startsAt",message="endsAt must be after startsAt",fieldPath=".endsAt"
type AcsCredentialSpec struct {
	// acsUserRef is the AcsUser (same namespace) the credential belongs to.
	// +required
	AcsUserRef LocalObjectRef `json:"acsUserRef"`

	// accessMethod: code (a PIN), card or mobile_key. Immutable.
	// +required
	AccessMethod AccessMethod `json:"accessMethod"`

	// code is where the PIN comes from (accessMethod code only).
	// +optional
	Code *CodeSource `json:"code,omitempty"`

	// startsAt is when the credential starts to open doors. Changing it replaces the credential.
	// +optional
	StartsAt *metav1.Time `json:"startsAt,omitempty"`

	// endsAt is when it stops; changed in place.
	// +optional
	EndsAt *metav1.Time `json:"endsAt,omitempty"`

	// isMultiPhoneSyncCredential makes a mobile key one that syncs to all the user's phones. Changing it replaces the credential.
	// +optional
	IsMultiPhoneSyncCredential bool `json:"isMultiPhoneSyncCredential,omitempty"`

	// allowedAcsEntranceIds limits the entrances the credential opens. Changing it replaces the credential.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	AllowedAcsEntranceIDs []SeamID `json:"allowedAcsEntranceIds,omitempty"`

	// deletionPolicy: Delete (default) deletes the remote credential with the object; Orphan leaves it in Seam.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// AcsCredentialStatus is the credential as last observed in Seam. It never holds the PIN.
type AcsCredentialStatus struct {
	// acsCredentialId is the id Seam gave the credential.
	// +optional
	AcsCredentialID string `json:"acsCredentialId,omitempty"`

	// acsUserId is the ACS user the credential was created for.
	// +optional
	AcsUserID string `json:"acsUserId,omitempty"`

	// displayName is Seam's name for the credential (a PIN is masked).
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// isIssued: a card was encoded, a key delivered, a PIN set.
	// +optional
	IsIssued *bool `json:"isIssued,omitempty"`

	// issuedAt is when it was issued.
	// +optional
	IssuedAt *metav1.Time `json:"issuedAt,omitempty"`

	// synced is Seam's is_latest_desired_state_synced_with_provider.
	// +optional
	Synced *bool `json:"synced,omitempty"`

	// codeSecretName is the Secret holding a generated PIN.
	// +optional
	CodeSecretName string `json:"codeSecretName,omitempty"`

	// unmanagedCredentials counts the user's other credentials in Seam (issued at the front desk, say), which the operator leaves alone.
	// +optional
	UnmanagedCredentials int32 `json:"unmanagedCredentials,omitempty"`

	// appliedCodeHash identifies (salted hash, not the PIN) the code and rotation last sent.
	// +optional
	AppliedCodeHash string `json:"appliedCodeHash,omitempty"`

	// appliedAcsEntranceIds are the allowed entrances the credential was created with (Seam does not report them back): a spec that differs replaces the credential.
	// +listType=atomic
	// +optional
	AppliedAcsEntranceIDs []string `json:"appliedAcsEntranceIds,omitempty"`

	// observedGeneration is the metadata.generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Synced, and the kstatus Reconciling and Stalled; Seam's warnings and errors on the credential appear as conditions of their own type.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AcsCredential is a PIN code, key card or mobile key of one AcsUser: what opens a door. Deleting it (or its AcsUser) deletes it in Seam unless deletionPolicy is Orphan.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=seam;acs
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.acsUserRef.name`
// +kubebuilder:printcolumn:name="Method",type=string,JSONPath=`.spec.accessMethod`
// +kubebuilder:printcolumn:name="Issued",type=boolean,JSONPath=`.status.isIssued`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AcsCredential struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the credential as it should be in Seam.
	// +required
	Spec AcsCredentialSpec `json:"spec"`

	// status is the credential as last observed in Seam.
	// +kubebuilder:default={observedGeneration: 0}
	// +optional
	Status AcsCredentialStatus `json:"status,omitempty"`
}

// AcsCredentialList is a list of AcsCredential.
// +kubebuilder:object:root=true
type AcsCredentialList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AcsCredential `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AcsCredential{}, &AcsCredentialList{})
}
