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
	// Fields are the identity fields the create set; only those are compared, because
	// servers fill some they were not sent (the npm fake makes up an email address).
	Fields []string
}

func (m createMarker) String() string {
	return m.At.UTC().Format(time.RFC3339) + " " + m.Hash + " " + strings.Join(m.Fields, ",")
}

func createMarkerOf(u *seamv1alpha1.AcsUser) (createMarker, bool) {
	v, ok := u.Annotations[AnnotationCreatePending]
	if !ok {
		return createMarker{}, false
	}
	parts := strings.Fields(v)
	m := createMarker{Fields: allIdentityFields}
	if len(parts) > 1 {
		m.Hash = parts[1]
	}
	if len(parts) > 2 {
		m.Fields = strings.Split(parts[2], ",")
	}
	if len(parts) > 0 {
		// An unreadable time still means a create may have been sent: recover from
		// the beginning of time rather than create blindly.
		m.At, _ = time.Parse(time.RFC3339, parts[0])
	}
	return m, true
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
	return createMarker{At: at, Hash: identityHash(values, fields), Fields: fields}
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
	// Seam cannot create a suspended user. One declared suspended is created without
	// its groups, so it never holds access before the suspension that follows; the
	// groups are added after it.
	if u.Spec.Suspended {
		return req
	}
	for _, g := range u.Spec.AccessGroupIDs {
		req.AccessGroupIDs = append(req.AccessGroupIDs, string(g))
	}
	return req
}
