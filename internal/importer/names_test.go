package importer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestObjectNames(t *testing.T) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		reason string
		people []person
		want   map[string]string
	}{
		{"full names become DNS-1123 labels, accents folded",
			[]person{{id: "u1", fullName: "Zoë Ångström"}, {id: "u2", fullName: "  O'Brien, Pat (night shift) "}, {id: "u3", fullName: "李雷"}},
			map[string]string{"u1": "zoe-angstrom", "u2": "o-brien-pat-night-shift", "u3": "user"}},
		{"the oldest of two namesakes keeps the plain name; the other's suffix comes from its id",
			[]person{{id: "u9", fullName: "Ada", createdAt: t0}, {id: "u1", fullName: "ada", createdAt: t0.Add(time.Hour)}},
			map[string]string{"u9": "ada", "u1": "ada-" + suffixOf("u1")}},
		{"a namesake added later renames no one",
			[]person{{id: "u9", fullName: "Ada", createdAt: t0}, {id: "u1", fullName: "ada", createdAt: t0.Add(time.Hour)}, {id: "u0", fullName: "ADA", createdAt: t0.Add(2 * time.Hour)}},
			map[string]string{"u9": "ada", "u1": "ada-" + suffixOf("u1"), "u0": "ada-" + suffixOf("u0")}},
	}
	for _, c := range cases {
		got := objectNames(c.people)
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.reason, d)
		}
		for _, n := range got {
			if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
				t.Errorf("%s: %q is not a DNS-1123 label: %v", c.reason, n, errs)
			}
		}
	}
	long := objectNames([]person{{id: "u1", fullName: "Maximiliana Wilhelmina Theodora von und zu Something-Longer-Than-Fifty"}})
	if n := long["u1"]; len(n) > maxBase || validation.IsDNS1123Label(n) != nil {
		t.Errorf("long name %q: want a label of at most %d characters", n, maxBase)
	}
}

func suffixOf(id string) string {
	return suffixed("x", id, map[string]bool{})[2:]
}
