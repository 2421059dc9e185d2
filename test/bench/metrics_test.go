package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	in := `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",resource="acsusers",subresource="",verb="POST"} 100
apiserver_request_total{code="200",resource="acsusers",subresource="status",verb="PATCH"} 250
apiserver_request_total{code="200",resource="acsusers",subresource="",verb="GET"} 7
apiserver_request_total{code="200",resource="pods",subresource="",verb="PUT"} 9
go_memstats_heap_inuse_bytes 1.2e+07
weird{msg="a \"quoted\", comma}"} 1 1700000000000
`
	samples, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 6 {
		t.Fatalf("got %d samples, want 6", len(samples))
	}
	w := acsUserWrites(samples)
	if w["POST"] != 100 || w["PATCH status"] != 250 || len(w) != 2 {
		t.Errorf("acsUserWrites = %v", w)
	}
	if v := value(samples, "go_memstats_heap_inuse_bytes"); v != 1.2e7 {
		t.Errorf("heap = %v", v)
	}
	if got := samples[len(samples)-1].labels["msg"]; got != `a "quoted", comma}` {
		t.Errorf("escaped label = %q", got)
	}
	if got := withoutHarness(w, 100, 0); len(got) != 1 || got["PATCH status"] != 250 {
		t.Errorf("withoutHarness = %v", got)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]string{0.5: "50ms", 0.99: "99ms", 1: "100ms"} {
		if got := pct(d, p); got != want {
			t.Errorf("pct(%v) = %s, want %s", p, got, want)
		}
	}
	if got := pct(nil, 0.5); got != "-" {
		t.Errorf("pct(nil) = %s", got)
	}
}

func TestEveryNth(t *testing.T) {
	got := everyNth(userNames("user", 1000), 100)
	if len(got) != 100 || got[0] != "user-00000" || got[1] != "user-00010" || got[99] != "user-00990" {
		t.Errorf("everyNth = %v ...", got[:3])
	}
}

func TestRevokeTargetSetsAreDisjoint(t *testing.T) {
	names := userNames("user", 1000)
	singles, bursts := revokeTargetSets(names, 20, []int{50, 100, 50})
	sets := append([][]string{singles}, bursts...)
	for i, want := range []int{20, 50, 100, 50} {
		if len(sets[i]) != want {
			t.Errorf("set %d has %d users, want %d", i, len(sets[i]), want)
		}
	}
	phase := map[string]int{}
	for i, set := range sets {
		for _, n := range set {
			if j, ok := phase[n]; ok {
				t.Errorf("%s is suspended by phases %d and %d", n, j, i)
			}
			phase[n] = i
		}
	}
}
