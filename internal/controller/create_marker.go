package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

// Annotations of the create protocol. Seam has no idempotency keys, so a create
// whose response is lost (timeout, dropped connection, manager killed before the id
// reaches status) may have made a user. Before every create the operator records
// when it asked and what it asked for; a later reconcile that finds the marker and no
// id in status looks for that user and adopts it instead of creating another.
const (
	// AnnotationCreatePending holds "<RFC 3339 time> <identity hash>" of the last create sent.
	AnnotationCreatePending = "seam.acs-operator.io/create-pending"
	// AnnotationRecreate asks the operator to create a new remote user after the one it
	// managed was deleted outside Kubernetes (Ready=False, reason RemoteDeleted). Any
	// value; the operator removes the annotation when it acts on it.
	AnnotationRecreate = "seam.acs-operator.io/recreate"
	// Finalizer keeps the AcsUser until its remote user is deleted (or orphaned).
	Finalizer = "seam.acs-operator.io/finalizer"
)

// createMarker is the parsed AnnotationCreatePending.
type createMarker struct {
	At   time.Time
	Hash string
}

func (m createMarker) String() string { return m.At.UTC().Format(time.RFC3339) + " " + m.Hash }

func createMarkerOf(u *seamv1alpha1.AcsUser) (createMarker, bool) {
	v, ok := u.Annotations[AnnotationCreatePending]
	if !ok {
		return createMarker{}, false
	}
	at, hash, _ := strings.Cut(v, " ")
	t, err := time.Parse(time.RFC3339, at)
	if err != nil || hash == "" {
		// A marker we cannot read still means a create may have been sent: recover
		// from the beginning of time rather than create blindly.
		return createMarker{Hash: hash}, true
	}
	return createMarker{At: t, Hash: hash}, true
}

// identityHash is what identifies the user a create made: the fields the server stores
// as sent. Groups and schedule are left out: servers may drop unknown groups and
// reformat date-times.
func identityHash(systemID, fullName, email, phone, userIdentityID string) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s", systemID, fullName, email, phone, userIdentityID)))
	return "sha256:" + hex.EncodeToString(h[:12])
}

func identityOfRequest(req seam.CreateUserRequest) string {
	return identityHash(req.AcsSystemID, req.FullName, req.EmailAddress, req.PhoneNumber, req.UserIdentityID)
}

func identityOfUser(u *seam.AcsUser) string {
	email := u.EmailAddress
	if email == "" {
		email = u.Email
	}
	return identityHash(u.AcsSystemID, u.FullName, email, u.PhoneNumber, u.UserIdentityID)
}

// createRequest is the one call that creates the user with everything inline.
func createRequest(u *seamv1alpha1.AcsUser) seam.CreateUserRequest {
	req := seam.CreateUserRequest{
		AcsSystemID:    string(u.Spec.AcsSystemID),
		FullName:       u.Spec.FullName,
		EmailAddress:   u.Spec.EmailAddress,
		PhoneNumber:    u.Spec.PhoneNumber,
		UserIdentityID: string(u.Spec.UserIdentityID),
		AccessSchedule: toSeamSchedule(u.Spec.AccessSchedule),
	}
	for _, g := range u.Spec.AccessGroupIDs {
		req.AccessGroupIDs = append(req.AccessGroupIDs, string(g))
	}
	return req
}
