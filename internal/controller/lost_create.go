package controller

import "time"

// clockSkew widens the window in which a lost create's user is looked for: Seam's
// created_at and this machine's clock need not agree.
const clockSkew = 2 * time.Minute

// lostCreateFacts is what a reconcile knows about an object that owns no remote
// user yet: whether an earlier create may have made one, and what a search found.
type lostCreateFacts struct {
	Marker markerState
	// Matches is how many remote users the marked create could have made: created
	// in its window, with its identity, claimed by no other object. Only counted
	// for a valid marker.
	Matches int
	// SinceMarker is the time since the marked create was sent.
	SinceMarker time.Duration
	// MayStillLand is how long after it was sent a create may still make a user
	// (its deadline, or the configured grace if longer).
	MayStillLand time.Duration
}

// lostCreateDecision is what to do about an object that owns no remote user.
type lostCreateDecision string

const (
	// noUserMade: no create was sent, or none made a user and none can any more.
	// The normal path creates; the delete path releases.
	noUserMade lostCreateDecision = "NoUserMade"
	// adoptMatch: exactly one user matches: it is this object's.
	adoptMatch lostCreateDecision = "Adopt"
	// waitForLanding: nothing found yet, but the lost request may still land.
	waitForLanding lostCreateDecision = "Wait"
	// ambiguousMatches: several users match; a person must say which is this one.
	ambiguousMatches lostCreateDecision = "Ambiguous"
	// unverifiedMarker: a marker this operator did not sign. It may hide a real lost
	// create (a signing key lost) or be a forgery to adopt someone else's user: a
	// person decides, nothing is adopted and nothing is created.
	unverifiedMarker lostCreateDecision = "Unverified"
)

// decideLostCreate is the lost-create policy, shared by the create and the delete
// paths. It is pure: the caller searches Seam only for a valid marker.
func decideLostCreate(f lostCreateFacts) lostCreateDecision {
	switch {
	case f.Marker == markerAbsent:
		return noUserMade
	case f.Marker == markerUnverified:
		return unverifiedMarker
	case f.Matches == 1:
		return adoptMatch
	case f.Matches > 1:
		return ambiguousMatches
	case f.SinceMarker < f.MayStillLand:
		return waitForLanding
	}
	return noUserMade
}
