package controller

import (
	"testing"
	"time"
)

func TestDecideLostCreate(t *testing.T) {
	const land = time.Minute
	cases := []struct {
		reason string
		facts  lostCreateFacts
		want   lostCreateDecision
	}{
		{"no marker: nothing was sent", lostCreateFacts{Marker: markerAbsent}, noUserMade},
		{"a marker the operator did not sign is never acted on, even with a match",
			lostCreateFacts{Marker: markerUnverified, Matches: 1}, unverifiedMarker},
		{"one match is this object's user", lostCreateFacts{Marker: markerValid, Matches: 1, SinceMarker: time.Hour, MayStillLand: land}, adoptMatch},
		{"one match is adopted at once, inside the window too", lostCreateFacts{Marker: markerValid, Matches: 1, MayStillLand: land}, adoptMatch},
		{"several matches: a person decides", lostCreateFacts{Marker: markerValid, Matches: 2, MayStillLand: land}, ambiguousMatches},
		{"nothing yet, but the request may still land", lostCreateFacts{Marker: markerValid, SinceMarker: 10 * time.Second, MayStillLand: land}, waitForLanding},
		{"nothing, and it can no longer land", lostCreateFacts{Marker: markerValid, SinceMarker: land, MayStillLand: land}, noUserMade},
	}
	for _, tc := range cases {
		if got := decideLostCreate(tc.facts); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.reason, got, tc.want)
		}
	}
}
