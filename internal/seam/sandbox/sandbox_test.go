package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type harness struct {
	t   *testing.T
	srv *Server
	url string
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	return newSeededHarness(t, DefaultSeed(), opts)
}

// newSeededHarness is newHarness with another seed.
func newSeededHarness(t *testing.T, seed Seed, opts Options) *harness {
	t.Helper()
	srv := New(seed, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &harness{t: t, srv: srv, url: hs.URL}
}

type reply struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

// do sends a request; key "" sends no Authorization header.
func (h *harness) do(method, path, key, body string, header ...string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &r.json)
	return r
}

func (h *harness) post(path, body string) reply { return h.do("POST", path, DefaultSeedAPIKey, body) }

func (h *harness) createUser(body string) string {
	h.t.Helper()
	r := h.post("/acs/users/create", body)
	if r.status != 200 {
		h.t.Fatalf("create: %d %s", r.status, r.raw)
	}
	return r.json["acs_user"].(map[string]any)["acs_user_id"].(string)
}

func errorType(r reply) string {
	e, _ := r.json["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

func TestTransportLevelAnswers(t *testing.T) {
	h := newHarness(t, Options{})
	cases := []struct {
		reason      string
		method      string
		path, key   string
		body        string
		header      []string
		status      int
		plainText   bool
		errType     string
		wantRequest bool
	}{
		{reason: "unknown route: plain-text 404", method: "POST", path: "/acs/nope", key: DefaultSeedAPIKey, status: 404, plainText: true},
		{reason: "malformed JSON: plain-text 400", method: "POST", path: "/acs/users/list", key: DefaultSeedAPIKey, body: "{bad", status: 400, plainText: true},
		{reason: "no Authorization", method: "POST", path: "/acs/users/list", status: 401, errType: "unauthorized"},
		{reason: "unknown key", method: "POST", path: "/acs/users/list", key: "seam_nope", status: 401, errType: "unauthorized"},
		{reason: "client session token is not an API key", method: "POST", path: "/acs/users/list", key: "seam_cst1_x", status: 401, errType: "client_session_token_used_for_api_key"},
		{reason: "JWT is not an API key", method: "POST", path: "/acs/users/list", key: "eyJ.eyJ.sig", status: 401, errType: "unauthorized"},
		{reason: "key used for another workspace", method: "POST", path: "/acs/users/list", key: DefaultSeedAPIKey, header: []string{"seam-workspace", "ws_other"}, status: 401, errType: "unauthorized"},
		{reason: "key with its own workspace header", method: "POST", path: "/acs/users/list", key: DefaultSeedAPIKey, header: []string{"seam-workspace", "ws_sandbox"}, status: 200},
		{reason: "GET with query on a list route", method: "GET", path: "/acs/users/list?acs_system_id=acs_system_hq&limit=5", key: DefaultSeedAPIKey, status: 200},
		{reason: "GET on create is not allowed", method: "GET", path: "/acs/users/create", key: DefaultSeedAPIKey, status: 405, errType: "method_not_allowed"},
		{reason: "empty body is an empty object", method: "POST", path: "/acs/systems/list", key: DefaultSeedAPIKey, status: 200},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			r := h.do(tc.method, tc.path, tc.key, tc.body, tc.header...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.plainText != (r.json == nil) {
				t.Errorf("body %q: plain text = %v, want %v", r.raw, r.json == nil, tc.plainText)
			}
			if got := errorType(r); got != tc.errType {
				t.Errorf("error type %q, want %q", got, tc.errType)
			}
			if r.header.Get("seam-request-id") == "" {
				t.Error("no seam-request-id header")
			}
			if tc.status == 200 && r.json["ok"] != true {
				t.Errorf("no ok:true in %s", r.raw)
			}
		})
	}
}

func TestPersonalAccessTokenNeedsWorkspace(t *testing.T) {
	seed := DefaultSeed()
	seed.APIKeys = append(seed.APIKeys, SeedAPIKey{Key: "seam_pat_token"})
	h := newSeededHarness(t, seed, Options{})
	if r := h.do("POST", "/workspaces/get", "seam_pat_token", "{}"); r.status != 401 {
		t.Errorf("without seam-workspace: %d", r.status)
	}
	if r := h.do("POST", "/workspaces/get", "seam_pat_token", "{}", "seam-workspace", "ws_sandbox"); r.status != 200 {
		t.Errorf("with seam-workspace: %d %s", r.status, r.raw)
	}
}

func TestValidationErrorsHaveSeamsShape(t *testing.T) {
	h := newHarness(t, Options{})
	r := h.post("/acs/users/create", `{"acs_system_id":"acs_system_hq","full_name":"x","phone_number":"123",
		"access_schedule":{"starts_at":"2030-01-01T00:00:00Z","ends_at":"2029-01-01T00:00:00Z"}}`)
	if r.status != 400 || errorType(r) != "invalid_input" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	// The shape @seamapi/fake-seam-connect sends: zod's format() tree.
	want := map[string]any{
		"_errors":      []any{},
		"phone_number": map[string]any{"_errors": []any{"Phone number must be in E.164 format: +14155552671"}},
		"access_schedule": map[string]any{"_errors": []any{},
			"ends_at": map[string]any{"_errors": []any{"ends_at must be after starts_at"}}},
	}
	got := r.json["error"].(map[string]any)["validation_errors"]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("validation_errors = %v\nwant %v", got, want)
	}
	if msg := r.json["error"].(map[string]any)["message"]; msg != `Phone number must be in E.164 format: +14155552671 for "phone_number"` {
		t.Errorf("message = %v", msg)
	}

	cases := []struct{ body, status, errType string }{
		{`{"acs_system_id":"acs_system_hq"}`, "400", "full_name_required"},
		{`{"full_name":"x"}`, "400", "invalid_input"},
		{`{"acs_system_id":"acs_system_hq","full_name":123}`, "400", "invalid_input"},
		{`{"acs_system_id":"acs_system_hq","full_name":"x","email_address":"nope"}`, "400", "invalid_input"},
		{`{"acs_system_id":"acs_system_hq","full_name":"x","user_identity_id":"uid_nope"}`, "400", "user_identity_not_found"},
		{`{"acs_system_id":"acs_system_nope","full_name":"x"}`, "404", "acs_system_not_found"},
		{`{"acs_system_id":"acs_system_hq","full_name":"x","acs_access_group_ids":["acs_access_group_annex_gym"]}`, "404", "acs_access_group_not_found"},
	}
	for _, tc := range cases {
		r := h.post("/acs/users/create", tc.body)
		if fmt.Sprint(r.status) != tc.status || errorType(r) != tc.errType {
			t.Errorf("%s: %d %s, want %s %s", tc.body, r.status, errorType(r), tc.status, tc.errType)
		}
	}
	if n := len(h.srv.Users("")); n != 0 {
		t.Errorf("refused creates made %d users", n)
	}
}

func TestPaginationIsStableAcrossDeletes(t *testing.T) {
	h := newHarness(t, Options{})
	var ids []string
	for i := range 7 {
		ids = append(ids, h.createUser(fmt.Sprintf(`{"acs_system_id":"acs_system_hq","full_name":"P %d"}`, i)))
	}
	page := func(cursor string) ([]string, string, string) {
		body := `{"acs_system_id":"acs_system_hq","limit":3`
		if cursor != "" {
			body += `,"page_cursor":"` + cursor + `"`
		}
		r := h.post("/acs/users/list", body+"}")
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		var got []string
		for _, u := range r.json["acs_users"].([]any) {
			got = append(got, u.(map[string]any)["acs_user_id"].(string))
		}
		p := r.json["pagination"].(map[string]any)
		next, _ := p["next_page_cursor"].(string)
		nextURL, _ := p["next_page_url"].(string)
		if (next != "") != (p["has_next_page"] == true) {
			t.Errorf("pagination = %v", p)
		}
		return got, next, nextURL
	}
	first, cur, nextURL := page("")
	if !reflect.DeepEqual(first, ids[:3]) || !strings.Contains(nextURL, "page_cursor=") {
		t.Fatalf("first page %v (url %s), want %v", first, nextURL, ids[:3])
	}
	// Deleting a user already seen does not shift the next page.
	h.post("/acs/users/delete", `{"acs_user_id":"`+ids[0]+`"}`)
	second, cur, _ := page(cur)
	third, last, _ := page(cur)
	if !reflect.DeepEqual(second, ids[3:6]) || !reflect.DeepEqual(third, ids[6:]) || last != "" {
		t.Errorf("pages %v %v (next %q), want %v %v", second, third, last, ids[3:6], ids[6:])
	}
	if r := h.post("/acs/users/list", `{"page_cursor":"garbage"}`); r.status != 400 {
		t.Errorf("bad cursor: %d", r.status)
	}
}

func TestServerRateLimit(t *testing.T) {
	h := newHarness(t, Options{RateLimit: 1, RateLimitBurst: 2})
	var statuses []int
	for range 3 {
		statuses = append(statuses, h.post("/acs/systems/list", "{}").status)
	}
	if !reflect.DeepEqual(statuses, []int{200, 200, 429}) {
		t.Errorf("statuses = %v", statuses)
	}
	r := h.post("/acs/systems/list", "{}")
	if r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("429 with Retry-After 1: got %d %q", r.status, r.header.Get("Retry-After"))
	}
}

// The limit is each API key's: another key of the workspace has its own bucket.
func TestServerRateLimitIsPerAPIKey(t *testing.T) {
	seed := DefaultSeed()
	const second = "seam_sandbox_key_second"
	seed.APIKeys = append(seed.APIKeys, SeedAPIKey{Key: second, WorkspaceID: seed.Workspaces[0].ID})
	h := newSeededHarness(t, seed, Options{RateLimit: 1, RateLimitBurst: 1})
	var statuses []int
	for _, key := range []string{DefaultSeedAPIKey, DefaultSeedAPIKey, second, second} {
		statuses = append(statuses, h.do("POST", "/acs/systems/list", key, "{}").status)
	}
	if !reflect.DeepEqual(statuses, []int{200, 429, 200, 429}) {
		t.Errorf("statuses = %v, want each key its own bucket of one", statuses)
	}
}

func TestFaultsThroughAdminRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	set := h.do("POST", "/_sandbox/faults", "", `{"error_rates":{"/acs/systems/list":{"probability":1,"status":502}},
		"rate_limit_storm":{"remaining":1,"retry_after":"3"},"drop_after_commit":{"/acs/users/create":2},"latency":"10ms"}`)
	if set.status != 200 {
		t.Fatalf("set faults: %d %s", set.status, set.raw)
	}
	if f := h.srv.Faults(); f.Latency != 10*time.Millisecond || f.Storm == nil || f.DropAfterCommit["/acs/users/create"] != 2 {
		t.Errorf("faults = %+v", f)
	}
	if r := h.post("/acs/systems/get", `{"acs_system_id":"acs_system_hq"}`); r.status != 429 || r.header.Get("Retry-After") != "3" {
		t.Errorf("storm: %d %q", r.status, r.header.Get("Retry-After"))
	}
	if r := h.post("/acs/systems/list", "{}"); r.status != 502 || errorType(r) != "bad_gateway" {
		t.Errorf("error rate: %d %s", r.status, r.raw)
	}
	for range 2 {
		req, _ := http.NewRequest("POST", h.url+"/acs/users/create", strings.NewReader(`{"acs_system_id":"acs_system_hq","full_name":"Drop"}`))
		req.Header.Set("Authorization", "Bearer "+DefaultSeedAPIKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Error("a dropped create got a response")
		}
	}
	h.createUser(`{"acs_system_id":"acs_system_hq","full_name":"Third"}`)
	if n := len(h.srv.Users("acs_system_hq")); n != 3 {
		t.Errorf("%d users, want 3 (two committed before the drop)", n)
	}

	var counters map[string]map[string]int
	_ = json.Unmarshal([]byte(h.do("GET", "/_sandbox/counters", "", "").raw), &counters)
	if c := counters["/acs/users/create"]; c["0"] != 2 || c["200"] != 1 {
		t.Errorf("counters = %v", counters)
	}
	h.do("POST", "/_sandbox/faults/clear", "", "")
	h.do("POST", "/_sandbox/counters/reset", "", "")
	if r := h.post("/acs/systems/list", "{}"); r.status != 200 {
		t.Errorf("after clear: %d", r.status)
	}
	if got := h.srv.Counters(); len(got) != 1 {
		t.Errorf("after reset: %v", got)
	}
}

func TestOutOfBandAdminRoutesAndState(t *testing.T) {
	h := newHarness(t, Options{MutationDelay: time.Hour})
	id := h.createUser(`{"acs_system_id":"acs_system_hq","full_name":"Pending","acs_access_group_ids":["acs_access_group_hq_gym"]}`)
	if u, _ := h.srv.User(id); !reflect.DeepEqual(u.PendingMutations, []string{"creating"}) || len(u.GroupIDs) != 0 {
		t.Errorf("before settle: %+v", u)
	}
	h.do("POST", "/_sandbox/mutations/settle", "", "")
	if got := h.srv.GroupMembers("acs_access_group_hq_gym"); !reflect.DeepEqual(got, []string{id}) {
		t.Errorf("members = %v", got)
	}
	r := h.do("POST", "/_sandbox/users/update", "", `{"acs_user_id":"`+id+`","full_name":"Console Edit","is_suspended":true,"acs_access_group_ids":["acs_access_group_hq_staff"]}`)
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	got := h.post("/acs/users/get", `{"acs_user_id":"`+id+`"}`).json["acs_user"].(map[string]any)
	if got["full_name"] != "Console Edit" || got["is_suspended"] != true {
		t.Errorf("user = %v", got)
	}
	groups := h.post("/acs/access_groups/list", `{"acs_user_id":"`+id+`"}`).json["acs_access_groups"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["acs_access_group_id"] != "acs_access_group_hq_staff" {
		t.Errorf("groups = %v", groups)
	}

	var st State
	raw := h.do("GET", "/_sandbox/state", "", "").raw
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Users) != 1 || len(st.Systems) != 2 || len(st.AccessGroups) != 8 || strings.Contains(raw, DefaultSeedAPIKey) {
		t.Errorf("state: %d users, %d systems, %d groups, key hidden: %v", len(st.Users), len(st.Systems), len(st.AccessGroups), !strings.Contains(raw, DefaultSeedAPIKey))
	}
	if r := h.do("POST", "/_sandbox/users/delete", "", `{"acs_user_id":"`+id+`"}`); r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := h.post("/acs/users/get", `{"acs_user_id":"`+id+`"}`); r.status != 404 || errorType(r) != "acs_user_not_found" {
		t.Errorf("after out-of-band delete: %d %s", r.status, r.raw)
	}
}

func TestPendingMutationShapes(t *testing.T) {
	h := newHarness(t, Options{MutationDelay: time.Hour})
	id := h.createUser(`{"acs_system_id":"acs_system_hq","full_name":"Old"}`)
	h.srv.SettleMutations()
	h.post("/acs/users/update", `{"acs_user_id":"`+id+`","full_name":"New","access_schedule":{"starts_at":"2030-01-01T00:00:00Z","ends_at":"2031-01-01T00:00:00Z"}}`)
	h.post("/acs/users/add_to_access_group", `{"acs_user_id":"`+id+`","acs_access_group_id":"acs_access_group_hq_gym"}`)
	h.post("/acs/users/add_to_access_group", `{"acs_user_id":"`+id+`","acs_access_group_id":"acs_access_group_hq_gym"}`) // repeat: no second mutation
	h.post("/acs/users/suspend", `{"acs_user_id":"`+id+`"}`)
	u := h.post("/acs/users/get", `{"acs_user_id":"`+id+`"}`).json["acs_user"].(map[string]any)
	if u["full_name"] != "Old" || u["is_suspended"] != false {
		t.Errorf("visible fields changed before the delay: %v", u)
	}
	var codes []string
	for _, m := range u["pending_mutations"].([]any) {
		mm := m.(map[string]any)
		codes = append(codes, mm["mutation_code"].(string))
		if mm["mutation_code"] == "updating_group_membership" {
			if mm["to"].(map[string]any)["acs_access_group_id"] != "acs_access_group_hq_gym" || mm["from"].(map[string]any)["acs_access_group_id"] != nil {
				t.Errorf("group mutation = %v", mm)
			}
		}
	}
	want := []string{"updating_user_information", "updating_access_schedule", "updating_group_membership", "updating_suspension_state"}
	if !reflect.DeepEqual(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	h.srv.SettleMutations()
	after, _ := h.srv.User(id)
	if after.FullName != "New" || !after.IsSuspended || !reflect.DeepEqual(after.GroupIDs, []string{"acs_access_group_hq_gym"}) || after.AccessStartsAt == nil {
		t.Errorf("after settle: %+v", after)
	}
}

func TestLoadSeed(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "seed.yaml")
	_ = os.WriteFile(good, []byte(`
workspaces: [{id: ws1, name: One}]
api_keys: [{key: seam_k1, workspace_id: ws1}]
systems: [{id: sys1, workspace_id: ws1, name: Building}]
access_groups: [{id: g1, system_id: sys1, name: Door}]
user_identities: [{id: uid1, workspace_id: ws1, email: a@example.com}]
`), 0o600)
	s, err := LoadSeed(good)
	if err != nil || len(s.AccessGroups) != 1 || s.APIKeys[0].Key != "seam_k1" {
		t.Fatalf("LoadSeed = %+v, %v", s, err)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"systems":[{"id":"s","workspace_id":"nope","name":"x"}],"typo":1}`), 0o600)
	if _, err := LoadSeed(bad); err == nil {
		t.Error("a seed with an unknown field and a dangling reference loaded")
	}
	if err := DefaultSeed().Validate(); err != nil {
		t.Errorf("DefaultSeed: %v", err)
	}
}

func TestAuditListsCommittedWritesOnly(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.createUser(`{"acs_system_id":"acs_system_hq","full_name":"Audited","email_address":"audited@example.com"}`)
	h.post("/acs/users/get", `{"acs_user_id":"`+id+`"}`)
	h.srv.DropAfterCommit("/acs/users/suspend", 1)
	req, _ := http.NewRequest("POST", h.url+"/acs/users/suspend", strings.NewReader(`{"acs_user_id":"`+id+`"}`))
	req.Header.Set("Authorization", "Bearer "+DefaultSeedAPIKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("suspend answered %d, want a dropped connection", resp.StatusCode)
	}
	h.post("/acs/users/remove_from_access_group", `{"acs_user_id":"`+id+`","acs_access_group_id":"acs_access_group_hq_gym"}`)
	h.post("/acs/users/delete", `{"acs_user_id":"nobody"}`) // 404: nothing committed

	var got []AuditEntry
	if err := json.Unmarshal([]byte(h.do("GET", "/_sandbox/audit", "", "").raw), &got); err != nil {
		t.Fatal(err)
	}
	type row struct {
		route, user, group, email string
		answered                  bool
	}
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.Route, e.AcsUserID, e.AccessGroupID, e.EmailAddress, e.Answered})
	}
	want := []row{
		{"/acs/users/create", id, "", "audited@example.com", true},
		{"/acs/users/suspend", id, "", "audited@example.com", false},
		{"/acs/users/remove_from_access_group", id, "acs_access_group_hq_gym", "audited@example.com", true},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("audit:\n got %+v\nwant %+v", rows, want)
	}
}

func TestOutOfBandDeleteLeavesTheList(t *testing.T) {
	h := newHarness(t, Options{})
	id := h.createUser(`{"acs_system_id":"acs_system_hq","full_name":"Gone"}`)
	if err := h.srv.DeleteUserOutOfBand(id); err != nil {
		t.Fatal(err)
	}
	r := h.post("/acs/users/list", `{"acs_system_id":"acs_system_hq"}`)
	if users := r.json["acs_users"].([]any); len(users) != 0 {
		t.Errorf("a user deleted out of band is still listed: %v", users)
	}
}
