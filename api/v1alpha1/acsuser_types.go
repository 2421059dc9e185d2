package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConnectionRef names the SeamConnection (same namespace) or ClusterSeamConnection an AcsUser is managed through.
type ConnectionRef struct {
	// kind of the connection: SeamConnection (in the AcsUser's namespace) or ClusterSeamConnection (whose namespaceSelector must allow this namespace).
	// +kubebuilder:validation:Enum=SeamConnection;ClusterSeamConnection
	// +kubebuilder:default=SeamConnection
	// +optional
	Kind string `json:"kind,omitempty"`

	// name of the connection (a DNS subdomain, as every object's name).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +required
	Name string `json:"name"`
}

// Connection kinds an AcsUser may refer to.
const (
	SeamConnectionKind        = "SeamConnection"
	ClusterSeamConnectionKind = "ClusterSeamConnection"
)

// AccessSchedule is when the user's credentials grant access. Either end may be left open.
// +kubebuilder:validation:XValidation:rule="!has(self.startsAt) || !has(self.endsAt) || self.endsAt > self.startsAt",message="endsAt must be after startsAt",fieldPath=".endsAt"
type AccessSchedule struct {
	// startsAt is when access begins, an RFC 3339 date-time such as 2026-01-31T09:00:00Z.
	// +optional
	StartsAt *metav1.Time `json:"startsAt,omitempty"`

	// endsAt is when access ends, an RFC 3339 date-time after startsAt.
	// +optional
	EndsAt *metav1.Time `json:"endsAt,omitempty"`
}

// DeletionPolicy says what happens to the remote ACS user when the AcsUser is deleted.
// +kubebuilder:validation:Enum=Delete;Orphan
type DeletionPolicy string

const (
	// DeletionPolicyDelete deletes the remote ACS user, revoking its credentials.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyOrphan leaves the remote ACS user as it is.
	DeletionPolicyOrphan DeletionPolicy = "Orphan"
)

// MaxAccessGroups bounds spec.accessGroupIds.
const MaxAccessGroups = 64

// ManagementPolicy says whether the operator may write to the remote ACS user.
// +kubebuilder:validation:Enum=Manage;ObserveOnly
type ManagementPolicy string

const (
	// ManagementPolicyManage makes the remote user match the spec, and deletes it with the object unless deletionPolicy is Orphan.
	ManagementPolicyManage ManagementPolicy = "Manage"
	// ManagementPolicyObserveOnly only reads the remote user and reports how it differs from the spec: nothing is written or deleted in Seam.
	ManagementPolicyObserveOnly ManagementPolicy = "ObserveOnly"
)

// AccessGroupRef is an access group the user is in, by id and name.
type AccessGroupRef struct {
	// id is the Seam id of the access group.
	ID string `json:"id"`
	// name is the access group's name in Seam, empty when it could not be read.
	// +optional
	Name string `json:"name,omitempty"`
}

// ObservedUser is what Seam holds for the fields of the spec, as last read.
type ObservedUser struct {
	// fullName as Seam holds it.
	// +optional
	FullName string `json:"fullName,omitempty"`
	// emailAddress as Seam holds it.
	// +optional
	EmailAddress string `json:"emailAddress,omitempty"`
	// phoneNumber as Seam holds it.
	// +optional
	PhoneNumber string `json:"phoneNumber,omitempty"`
	// accessSchedule as Seam holds it.
	// +optional
	AccessSchedule *AccessSchedule `json:"accessSchedule,omitempty"`
}

// AcsUserSpec is the ACS user as it should be in Seam.
// +kubebuilder:validation:XValidation:rule="has(self.acsUserId) == has(oldSelf.acsUserId) && (!has(self.acsUserId) || self.acsUserId == oldSelf.acsUserId)",message="acsUserId is set at creation only: it cannot be added, changed or removed later; create a new AcsUser to adopt another remote user",fieldPath=".acsUserId",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="(has(self.accessGroupIds) ? size(self.accessGroupIds) : 0) + (has(self.accessGroupNames) ? size(self.accessGroupNames) : 0) <= 64",message="accessGroupIds and accessGroupNames together may list at most 64 access groups",fieldPath=".accessGroupNames"
// +kubebuilder:validation:XValidation:rule="has(self.userIdentityId) == has(oldSelf.userIdentityId) && (!has(self.userIdentityId) || self.userIdentityId == oldSelf.userIdentityId)",message="userIdentityId is fixed at creation: it cannot be added, changed or removed (Seam cannot re-link an ACS user); create a new AcsUser instead",fieldPath=".userIdentityId",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.accessSchedule) || !has(self.accessSchedule.startsAt) || has(self.accessSchedule.endsAt) || (has(oldSelf.accessSchedule) && has(oldSelf.accessSchedule.startsAt) && !has(oldSelf.accessSchedule.endsAt) && oldSelf.accessSchedule.startsAt == self.accessSchedule.startsAt)",message="Seam changes an existing schedule only with both ends: a schedule without endsAt can only be set when the AcsUser is created; add endsAt, or remove accessSchedule",fieldPath=".accessSchedule",reason=FieldValueForbidden
type AcsUserSpec struct {
	// connectionRef names the SeamConnection or ClusterSeamConnection used to reach Seam.
	// +required
	ConnectionRef ConnectionRef `json:"connectionRef"`

	// acsSystemId is the Seam ACS system (a building's access control system) the user lives in. It cannot be changed: create a new AcsUser to move someone.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="acsSystemId is immutable: create a new AcsUser to move a user to another system"
	// +required
	AcsSystemID SeamID `json:"acsSystemId"`

	// acsUserId adopts an existing remote ACS user instead of creating a new one. It is set at creation only. Before any write the operator checks that the user exists in acsSystemId, in the workspace of the connection's key, and that no other AcsUser manages it; otherwise the Ready condition says why and nothing is sent. Fields the spec sets are then corrected in Seam; fields it leaves out are left as they are.
	// +optional
	AcsUserID SeamID `json:"acsUserId,omitempty"`

	// managementPolicy is Manage (the default: the remote user is made to match the spec) or ObserveOnly: the operator only reads the remote user and reports, in status.drift and the Drifted condition, which spec fields differ; it never writes to the user nor deletes it, whatever deletionPolicy says. Switching from ObserveOnly to Manage applies the spec from then on, access removals first.
	// +kubebuilder:default=Manage
	// +optional
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// fullName is the person's full name as the access control system shows it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.trim() != ''",message="fullName must not be blank"
	// +required
	FullName string `json:"fullName"`

	// emailAddress of the person.
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self.matches('^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$')",message="must be an email address such as ada@example.com"
	// +optional
	EmailAddress string `json:"emailAddress,omitempty"`

	// phoneNumber of the person, in E.164 form: a plus sign, the country code and the number, digits only, such as +15555550100.
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^\\\\+[1-9][0-9]{1,14}$')",message="must be an E.164 phone number: '+', country code and number, digits only, such as +15555550100"
	// +optional
	PhoneNumber string `json:"phoneNumber,omitempty"`

	// userIdentityId links the ACS user to a Seam user identity (so the person can use mobile keys). It is fixed at creation: it cannot be added, changed or removed later.
	// +optional
	UserIdentityID SeamID `json:"userIdentityId,omitempty"`

	// accessSchedule limits when the user's credentials grant access. Unset, access has no time bounds (removing it clears the schedule in Seam). Seam refuses a schedule that has already ended: an endsAt in the past ends access by suspending the user in Seam, and the Ready condition says so. Seam changes an existing schedule only with both ends, so one without endsAt can only be set at creation.
	// +optional
	AccessSchedule *AccessSchedule `json:"accessSchedule,omitempty"`

	// accessGroupIds are the Seam access groups the user is in, exactly: the operator adds the user to the groups listed and removes it from any other.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +optional
	AccessGroupIDs []SeamID `json:"accessGroupIds,omitempty"`

	// accessGroupNames are access groups by their name in the system, next to or instead of accessGroupIds: together they are the groups the user is in, exactly. A name must match exactly one group of the system; a name that matches none or several is reported in the Ready condition and grants nothing, while removals from other groups still go ahead.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +optional
	AccessGroupNames []string `json:"accessGroupNames,omitempty"`

	// suspended suspends the user: its credentials stop granting access until it is set back to false. The user and its groups are kept.
	// +kubebuilder:default=false
	// +optional
	Suspended bool `json:"suspended,omitempty"`

	// deletionPolicy says what happens to the remote ACS user when this object is deleted: Delete removes it in Seam (the person loses access); Orphan leaves it.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// AcsUserStatus is the ACS user as last observed in Seam.
type AcsUserStatus struct {
	// acsUserId is the id Seam gave the ACS user this object manages.
	// +optional
	AcsUserID string `json:"acsUserId,omitempty"`

	// workspaceId is the Seam workspace the ACS user lives in. The operator writes and deletes it only through a connection whose key opens this workspace.
	// +optional
	WorkspaceID string `json:"workspaceId,omitempty"`

	// isSuspended is whether Seam reports the user as suspended.
	// +optional
	IsSuspended *bool `json:"isSuspended,omitempty"`

	// accessGroupIds are the access groups the user was last seen in, plus any the operator is putting it in (written here before the grant is sent), or last put in by the operator where Seam cannot report membership.
	// +listType=set
	// +optional
	AccessGroupIDs []string `json:"accessGroupIds,omitempty"`

	// accessGroups are the access groups the user was last seen in, by id and name.
	// +listType=atomic
	// +optional
	AccessGroups []AccessGroupRef `json:"accessGroups,omitempty"`

	// observed is the remote user's fields as last read, reported under managementPolicy ObserveOnly.
	// +optional
	Observed *ObservedUser `json:"observed,omitempty"`

	// drift lists the spec fields whose remote value differs, under managementPolicy ObserveOnly.
	// +listType=atomic
	// +optional
	Drift []string `json:"drift,omitempty"`

	// pendingMutations are the changes Seam accepted but has not yet applied on the access control system, by mutation code (creating, updating_user_information, ...).
	// +listType=atomic
	// +optional
	PendingMutations []string `json:"pendingMutations,omitempty"`

	// createdAt is when Seam created the ACS user.
	// +optional
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`

	// observedGeneration is the metadata.generation last reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the remote user matches the spec with nothing pending; Synced is True when the last attempt to reach Seam succeeded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AcsUser is one person's user in one Seam access control system: it exists, matches this spec, is suspended or not, and sits in exactly the listed access groups. Deleting the AcsUser deletes the remote user unless deletionPolicy is Orphan.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=seam;acs
// +kubebuilder:printcolumn:name="Full Name",type=string,JSONPath=`.spec.fullName`
// +kubebuilder:printcolumn:name="System",type=string,JSONPath=`.spec.acsSystemId`
// +kubebuilder:printcolumn:name="ACS User ID",type=string,JSONPath=`.status.acsUserId`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.status.isSuspended`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AcsUser struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the ACS user as it should be in Seam.
	// +required
	Spec AcsUserSpec `json:"spec"`

	// status is the ACS user as last observed in Seam. The default makes a new object read as not yet reconciled (kstatus InProgress) until the operator first reports on it.
	// +kubebuilder:default={observedGeneration: 0}
	// +optional
	Status AcsUserStatus `json:"status,omitempty"`
}

// AcsUserList is a list of AcsUser.
// +kubebuilder:object:root=true
type AcsUserList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AcsUser `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AcsUser{}, &AcsUserList{})
}
