package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/signing"
)

// Annotations the operator keeps on an AcsUser. Annotations are writable by anyone
// who can edit the object, so the two the operator trusts (create-pending and
// acs-user) are signed records ("v1 <fields> <mac>"): the MAC is keyed by a Secret
// only the operator reads. One it did not sign is never acted on.
const (
	// AnnotationCreatePending records a create that was sent and whose answer may be
	// lost: when, the identity fields it sent and their hash, bound to the object's
	// UID. Seam has no idempotency keys; a later reconcile that finds this record and
	// no owned user looks for the user that create made, in the window it could have
	// made it, and adopts it instead of creating another.
	AnnotationCreatePending = "seam.acs-operator.io/create-pending"
	// AnnotationAcsUser records the remote user this object owns: its workspace and
	// id. It survives what status does not (a restore without status, a status lost
	// any other way), as crossplane's external-name does.
	AnnotationAcsUser = "seam.acs-operator.io/acs-user"
	// AnnotationRecreate asks for a new remote user after the one this object owned
	// was deleted outside Kubernetes (Ready=False, reason RemoteDeleted). Its value
	// must be the id of that deleted user, so an annotation left in git cannot
	// resurrect a user deleted later as an urgent revocation.
	AnnotationRecreate = "seam.acs-operator.io/recreate"
	// Finalizer keeps the AcsUser until its remote user is deleted (or orphaned).
	Finalizer = "seam.acs-operator.io/finalizer"
)

// createMarker is the content of AnnotationCreatePending.
type createMarker struct {
	At   time.Time
	Hash string
	// Fields are the identity fields the create set; only those are compared, because
	// servers fill some they were not sent (the npm fake makes up an email address).
	Fields []string
}

// markerState is what a reconcile knows of an earlier create.
type markerState int

const (
	markerAbsent markerState = iota
	// markerValid: signed by this operator for this object.
	markerValid
	// markerUnverified: present, but not signed by this operator for this object
	// (written by hand, copied from another object, or signed with a lost key).
	markerUnverified
)

func markerMACParts(uid types.UID, at, hash, fields string) []string {
	return []string{"create-pending", string(uid), at, hash, fields}
}

// encode signs the marker for the object uid.
func (m createMarker) encode(key *signing.Key, uid types.UID) string {
	at, fields := m.At.UTC().Format(time.RFC3339), strings.Join(m.Fields, ",")
	return signing.Record(key.Sign(markerMACParts(uid, at, m.Hash, fields)...), at, m.Hash, fields)
}

// createMarkerOf reads and verifies the object's create marker.
func createMarkerOf(key *signing.Key, u *seamv1alpha1.AcsUser) (createMarker, markerState) {
	m, state := readCreateMarker(key, u, "system", "fullName")
	return m, state
}

// readCreateMarker reads and verifies the create marker of any object. A signed
// marker without every one of the required fields was not made for this kind of
// object: the operator always sends them.
func readCreateMarker(key *signing.Key, obj metav1.Object, required ...string) (createMarker, markerState) {
	v, ok := obj.GetAnnotations()[AnnotationCreatePending]
	if !ok {
		return createMarker{}, markerAbsent
	}
	parts, mac, ok := signing.Fields(v)
	if !ok || len(parts) != 3 || !key.Verify(mac, markerMACParts(obj.GetUID(), parts[0], parts[1], parts[2])...) {
		return createMarker{}, markerUnverified
	}
	at, err := time.Parse(time.RFC3339, parts[0])
	m := createMarker{At: at, Hash: parts[1], Fields: strings.Split(parts[2], ",")}
	if err != nil {
		return createMarker{}, markerUnverified
	}
	for _, f := range required {
		if !slices.Contains(m.Fields, f) {
			return createMarker{}, markerUnverified
		}
	}
	return m, markerValid
}

// claim is the content of AnnotationAcsUser: the remote user an object owns.
type claim struct {
	WorkspaceID string
	AcsUserID   string
}

// The MAC binds the claim to the object's namespace, name and system (immutable in
// the spec), not to its UID: a restore from backup makes a new UID and must still
// recover its user, while a copy on another object (another name, another
// namespace) does not verify, so only one object can hold a verified claim.
func claimMACParts(u *seamv1alpha1.AcsUser, c claim) []string {
	return []string{"acs-user", u.Namespace, u.Name, string(u.Spec.AcsSystemID), c.WorkspaceID, c.AcsUserID}
}

func (c claim) encode(key *signing.Key, u *seamv1alpha1.AcsUser) string {
	return signing.Record(key.Sign(claimMACParts(u, c)...), c.WorkspaceID, c.AcsUserID)
}

// claimOf reads the object's AnnotationAcsUser. present is false when there is none;
// ok is false when there is one this operator did not sign for this object (c then
// holds what it names, unverified).
func claimOf(key *signing.Key, u *seamv1alpha1.AcsUser) (c claim, present, ok bool) {
	v, present := u.Annotations[AnnotationAcsUser]
	if !present {
		return claim{}, false, false
	}
	parts, mac, ok := signing.Fields(v)
	if !ok || len(parts) != 2 {
		return claim{}, true, false
	}
	c = claim{WorkspaceID: parts[0], AcsUserID: parts[1]}
	if c.WorkspaceID == "" || c.AcsUserID == "" || !key.Verify(mac, claimMACParts(u, c)...) {
		return c, true, false
	}
	return c, true, true
}

// The identity fields of a user: what the server stores as sent. Groups and schedule
// are left out: servers may drop unknown groups and reformat date-times.
var allIdentityFields = []string{"system", "fullName", "email", "phone", "userIdentity"}

func identityFields(systemID, fullName, email, phone, userIdentityID string) map[string]string {
	return map[string]string{"system": systemID, "fullName": fullName, "email": email, "phone": phone, "userIdentity": userIdentityID}
}

// identityHash hashes the named fields.
func identityHash(values map[string]string, fields []string) string {
	h := sha256.New()
	for _, f := range fields {
		fmt.Fprintf(h, "%s=%s\x00", f, values[f])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:12])
}

// markerFor is the marker of a create request: the fields it sets and their hash.
func markerFor(at time.Time, req seam.CreateUserRequest) createMarker {
	values := identityFields(req.AcsSystemID, req.FullName, req.EmailAddress, req.PhoneNumber, req.UserIdentityID)
	var fields []string
	for _, f := range allIdentityFields {
		if values[f] != "" {
			fields = append(fields, f)
		}
	}
	return createMarker{At: at.UTC().Truncate(time.Second), Hash: identityHash(values, fields), Fields: fields}
}

// matches reports whether a remote user has the identity the marked create sent.
func (m createMarker) matches(u *seam.AcsUser) bool {
	email := u.EmailAddress
	if email == "" {
		email = u.Email
	}
	values := identityFields(u.AcsSystemID, u.FullName, email, u.PhoneNumber, u.UserIdentityID)
	return identityHash(values, m.Fields) == m.Hash
}

// window is when Seam can have created the user of the marked create: from the
// marker (written before the create was sent) to the create's deadline, widened by
// the clock skew between this machine and Seam on both sides.
func (m createMarker) window(createTimeout time.Duration) (from, to time.Time) {
	return m.At.Add(-clockSkew), m.At.Add(createTimeout + clockSkew)
}

// createRequest is the one call that creates the user with everything inline.
func createRequest(spec seamv1alpha1.AcsUserSpec, now time.Time) seam.CreateUserRequest {
	req := seam.CreateUserRequest{
		AcsSystemID:    string(spec.AcsSystemID),
		FullName:       spec.FullName,
		EmailAddress:   spec.EmailAddress,
		PhoneNumber:    spec.PhoneNumber,
		UserIdentityID: string(spec.UserIdentityID),
	}
	// Seam cannot create a suspended user, nor one whose schedule has already ended.
	// One that must have no access is created without its groups and schedule, so
	// it never holds access before the suspension that follows; the groups are
	// added after it.
	if effectivelySuspended(spec, now) {
		return req
	}
	req.AccessSchedule = toSeamSchedule(spec.AccessSchedule)
	for _, g := range spec.AccessGroupIDs {
		req.AccessGroupIDs = append(req.AccessGroupIDs, string(g))
	}
	return req
}
