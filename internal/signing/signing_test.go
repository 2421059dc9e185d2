package signing

import (
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	k, err := NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey([]byte("another key of at least 16 bytes"))
	mac := k.Sign("create-pending", "uid-1", "2026-01-01T00:00:00Z")
	cases := []struct {
		reason string
		key    *Key
		mac    string
		parts  []string
		want   bool
	}{
		{"the same parts verify", k, mac, []string{"create-pending", "uid-1", "2026-01-01T00:00:00Z"}, true},
		{"another object's uid does not", k, mac, []string{"create-pending", "uid-2", "2026-01-01T00:00:00Z"}, false},
		{"another time does not", k, mac, []string{"create-pending", "uid-1", "1970-01-01T00:00:00Z"}, false},
		{"parts cannot be re-split", k, mac, []string{"create-pendinguid-1", "", "2026-01-01T00:00:00Z"}, false},
		{"another key does not", other, mac, []string{"create-pending", "uid-1", "2026-01-01T00:00:00Z"}, false},
		{"an empty MAC does not", k, "", []string{"create-pending", "uid-1", "2026-01-01T00:00:00Z"}, false},
	}
	for _, tc := range cases {
		if got := tc.key.Verify(tc.mac, tc.parts...); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.reason, got, tc.want)
		}
	}
	if _, err := NewKey([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
	if strings.Contains(k.String(), "0123") {
		t.Error("String shows the key")
	}
}

func TestRecord(t *testing.T) {
	fields, mac, ok := Fields(Record("MAC", "a", "b"))
	if !ok || mac != "MAC" || strings.Join(fields, ",") != "a,b" {
		t.Errorf("round trip: %v %q %v", fields, mac, ok)
	}
	for _, bad := range []string{"", "v1", "v1 mac", "v2 a b mac", "2026-01-01T00:00:00Z sha256:abc system"} {
		if _, _, ok := Fields(bad); ok {
			t.Errorf("Fields(%q) accepted", bad)
		}
	}
}

// The records in clusters were signed by earlier builds: the bytes a MAC covers
// must never change, or every signed annotation turns unverified at an upgrade.
func TestSignIsStableAcrossBuilds(t *testing.T) {
	k, err := NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		parts []string
		want  string
	}{
		{[]string{"create-pending", "uid-1", "2026-01-01T00:00:00Z", "hash", "system,fullName"}, "Q-9jRPm0aNfZ3SCNieOsZ70FOZHREK0zvbApxYhaJy4"},
		{[]string{"a b", "", "ü;:9"}, "veWypmRKWHqAZAGTVLffUa5NIc4qMovxpGsR6s_KK_4"},
		{nil, "eWzTB4rxRjZ1PSaztVVUIv9Vo-Jhz4R7SOlTcbm9CqI"},
	}
	for _, c := range cases {
		if got := k.Sign(c.parts...); got != c.want {
			t.Errorf("Sign(%q) = %s, want %s (as signed by earlier builds)", c.parts, got, c.want)
		}
		if !k.Verify(c.want, c.parts...) {
			t.Errorf("Verify(%s, %q) = false", c.want, c.parts)
		}
	}
	// The same bytes written another way (a padding bit set) are not the MAC.
	if k.Verify("Q-9jRPm0aNfZ3SCNieOsZ70FOZHREK0zvbApxYhaJy5", cases[0].parts...) {
		t.Error("a MAC with a padding bit set verified")
	}
}
