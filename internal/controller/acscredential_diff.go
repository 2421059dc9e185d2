package controller

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/seam"
)

type credentialAction int

const (
	credentialInSync credentialAction = iota
	// credentialUpdate: the PIN or endsAt change in place (/acs/credentials/update).
	credentialUpdate
	// credentialReplace: Seam cannot change it in place; delete, then create.
	credentialReplace
)

// credentialDiff is what diffCredential decided.
type credentialDiff struct {
	action credentialAction
	why    string
	// sendPIN: send the spec's PIN (it differs, or a rotation asks for it again).
	sendPIN bool
	// endsAt: the end to send, nil for none.
	endsAt *time.Time
}

// diffCredential compares the spec with the remote credential. It is pure: the
// spec's PIN and the hash of the PIN last applied are passed in. Checks run in
// order; the first that asks for a replacement wins, since a new credential gets
// every field anyway.
func diffCredential(cred *seamv1alpha1.AcsCredential, pin seam.PIN, remote *seam.AcsCredential, wantHash string) credentialDiff {
	spec := cred.Spec
	switch {
	case spec.StartsAt != nil && !timeMatches(spec.StartsAt, remote.StartsAt):
		return credentialDiff{action: credentialReplace, why: "spec.startsAt changed"}
	case spec.IsMultiPhoneSyncCredential != remote.IsMultiPhoneSyncCredential:
		return credentialDiff{action: credentialReplace, why: "spec.isMultiPhoneSyncCredential changed"}
	case spec.EndsAt == nil && remote.EndsAt != nil:
		return credentialDiff{action: credentialReplace, why: "spec.endsAt was removed (Seam cannot clear an end)"}
	case !slices.Equal(entranceIDs(spec), cred.Status.AppliedAcsEntranceIDs):
		return credentialDiff{action: credentialReplace, why: "spec.allowedAcsEntranceIds changed"}
	}
	var d credentialDiff
	if spec.EndsAt != nil && !timeMatches(spec.EndsAt, remote.EndsAt) {
		end := spec.EndsAt.Time
		d.action, d.endsAt, d.why = credentialUpdate, &end, "spec.endsAt changed"
	}
	if spec.AccessMethod == seamv1alpha1.AccessMethodCode &&
		((remote.Code != "" && remote.Code.Reveal() != pin.Reveal()) || cred.Status.AppliedCodeHash != wantHash) {
		d.action, d.sendPIN = credentialUpdate, true
		d.why = joinWhy(d.why, "the PIN changed (its Secret or spec.code.rotate)")
	}
	return d
}

// entranceIDs are the spec's allowed entrances, sorted; nil for none.
func entranceIDs(spec seamv1alpha1.AcsCredentialSpec) []string {
	var out []string
	for _, e := range spec.AllowedAcsEntranceIDs {
		out = append(out, string(e))
	}
	slices.Sort(out)
	return out
}

func timeMatches(want *metav1.Time, got *time.Time) bool {
	return got != nil && want.Time.Truncate(time.Second).Equal(got.Truncate(time.Second))
}

func joinWhy(a, b string) string {
	if a == "" {
		return b
	}
	return fmt.Sprintf("%s; %s", a, b)
}
