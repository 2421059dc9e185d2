package controller

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
)

func TestMembershipsKnowOnlyWhatThisProcessReadOrWrote(t *testing.T) {
	const uid = types.UID("u1")
	add := func(g string) Action { return Action{Kind: ActionAddToGroup, Group: g} }
	remove := func(g string) Action { return Action{Kind: ActionRemoveFromGroup, Group: g} }
	lost := errors.New("connection reset")
	cases := []struct {
		reason string
		steps  func(ms *memberships)
		asked  string
		want   []string
		known  bool
	}{
		{reason: "never read: unknown (status is not enough)", steps: func(*memberships) {}, asked: "acs1"},
		{reason: "read", steps: func(ms *memberships) { ms.seen(uid, "acs1", []string{"a", "b"}) }, asked: "acs1",
			want: []string{"a", "b"}, known: true},
		{reason: "read, then a removal and a grant accepted", steps: func(ms *memberships) {
			ms.seen(uid, "acs1", []string{"a", "b"})
			ms.sent(uid, remove("a"), nil)
			ms.sent(uid, add("c"), nil)
			ms.sent(uid, Action{Kind: ActionSuspend}, lost)
		}, asked: "acs1", want: []string{"b", "c"}, known: true},
		{reason: "a membership write without an answer: unknown", steps: func(ms *memberships) {
			ms.seen(uid, "acs1", []string{"a"})
			ms.sent(uid, remove("a"), lost)
		}, asked: "acs1"},
		{reason: "writes alone teach nothing", steps: func(ms *memberships) { ms.sent(uid, add("a"), nil) }, asked: "acs1"},
		{reason: "another remote user: unknown", steps: func(ms *memberships) { ms.seen(uid, "acs1", []string{"a"}) }, asked: "acs2"},
		{reason: "forgotten", steps: func(ms *memberships) { ms.seen(uid, "acs1", []string{"a"}); ms.forget(uid) }, asked: "acs1"},
	}
	for _, tc := range cases {
		var ms memberships
		tc.steps(&ms)
		got, known := ms.of(uid, tc.asked)
		if known != tc.known || !cmp.Equal(got, tc.want) {
			t.Errorf("%s: got %v (known %v), want %v (known %v)", tc.reason, got, known, tc.want, tc.known)
		}
	}
}
