package seam_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// The credential routes' contract. The npm fake has none (plain-text 404), so the
// sandbox, written to the OpenAPI document, is the reference; TestCredentialRoutesMatchOpenAPI
// runs the same cases with every request and answer checked against the document.

const noCredentialRoutes = "no /acs/credentials/* routes (plain-text 404)"

func init() {
	for _, cc := range credentialCases {
		contractCases = append(contractCases, cc)
		fakeSkips[cc.name] = noCredentialRoutes
	}
}

var pinSeq atomic.Int64

// uniquePIN is a 6-digit PIN no other case uses (a system refuses duplicates).
func uniquePIN() seam.PIN {
	return seam.PIN(fmt.Sprintf("%06d", (time.Now().UnixNano()/1000+pinSeq.Add(7919))%1000000))
}

func createCredential(t *testing.T, ctx context.Context, c *seam.Client, req seam.CreateCredentialRequest) *seam.AcsCredential {
	t.Helper()
	cred, err := c.CreateCredential(ctx, req)
	if err != nil {
		t.Fatalf("CreateCredential: %v", err)
	}
	if cred.AcsCredentialID == "" {
		t.Fatal("CreateCredential returned a credential without acs_credential_id")
	}
	return cred
}

func listCredentials(t *testing.T, ctx context.Context, c *seam.Client, req seam.ListCredentialsRequest) []seam.AcsCredential {
	t.Helper()
	var out []seam.AcsCredential
	for cred, err := range c.ListCredentials(ctx, req) {
		if err != nil {
			t.Fatalf("ListCredentials: %v", err)
		}
		out = append(out, *cred)
	}
	return out
}

var credentialCases = []contractCase{
	{"credentials/code_create_get_list_delete", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		pin := uniquePIN()
		created := createCredential(t, ctx, c, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCode, Code: pin})
		got := must[*seam.AcsCredential](t)(c.GetCredential(ctx, created.AcsCredentialID))
		for _, cr := range []*seam.AcsCredential{created, got} {
			if cr.AcsUserID != u.AcsUserID || cr.AcsSystemID != tg.systemID || cr.AccessMethod != "code" || !cr.IsIssued ||
				cr.Code.Reveal() != pin.Reveal() || cr.WorkspaceID != tg.workspaceID {
				t.Errorf("credential = %+v", cr)
			}
			if cr.DisplayName == "" || strings.Contains(cr.DisplayName, pin.Reveal()) {
				t.Errorf("display_name %q must be set and masked", cr.DisplayName)
			}
			if cr.Errors == nil || cr.Warnings == nil {
				t.Error("absent arrays must decode as empty, not nil")
			}
		}
		listed := listCredentials(t, ctx, c, seam.ListCredentialsRequest{AcsUserID: u.AcsUserID})
		if len(listed) != 1 || listed[0].AcsCredentialID != created.AcsCredentialID {
			t.Errorf("list = %+v", listed)
		}
		if err := c.DeleteCredential(ctx, created.AcsCredentialID); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetCredential(ctx, created.AcsCredentialID)
		if e := wantErr(t, err, seam.ErrNotFound); e.Type != "acs_credential_not_found" {
			t.Errorf("type = %q", e.Type)
		}
		wantErr(t, c.DeleteCredential(ctx, created.AcsCredentialID), seam.ErrNotFound)
	}},
	{"credentials/update_code_and_ends_at", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		start, end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
		cr := createCredential(t, ctx, c, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCode,
			Code: uniquePIN(), StartsAt: &start, EndsAt: &end})
		if !sameInstant(cr.StartsAt, &start) || !sameInstant(cr.EndsAt, &end) {
			t.Errorf("starts_at, ends_at = %v, %v", cr.StartsAt, cr.EndsAt)
		}
		pin, later := uniquePIN(), end.AddDate(1, 0, 0)
		if _, err := c.UpdateCredential(ctx, seam.UpdateCredentialRequest{AcsCredentialID: cr.AcsCredentialID, Code: pin, EndsAt: &later}); err != nil {
			t.Fatal(err)
		}
		got := must[*seam.AcsCredential](t)(c.GetCredential(ctx, cr.AcsCredentialID))
		if got.Code.Reveal() != pin.Reveal() || !sameInstant(got.EndsAt, &later) || !sameInstant(got.StartsAt, &start) {
			t.Errorf("after update: ends_at %v, code changed %v", got.EndsAt, got.Code.Reveal() == pin.Reveal())
		}
		before := start.AddDate(0, 0, -1)
		_, err := c.UpdateCredential(ctx, seam.UpdateCredentialRequest{AcsCredentialID: cr.AcsCredentialID, EndsAt: &before})
		wantErr(t, err, seam.ErrInvalidInput)
		_, err = c.UpdateCredential(ctx, seam.UpdateCredentialRequest{AcsCredentialID: "5e0a1b8e-0000-4000-8000-000000000000", Code: uniquePIN()})
		wantErr(t, err, seam.ErrNotFound)
	}},
	{"credentials/duplicate_pin_refused", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		a := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		b := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		pin := uniquePIN()
		createCredential(t, ctx, c, seam.CreateCredentialRequest{AcsUserID: a.AcsUserID, AccessMethod: seam.AccessMethodCode, Code: pin})
		_, err := c.CreateCredential(ctx, seam.CreateCredentialRequest{AcsUserID: b.AcsUserID, AccessMethod: seam.AccessMethodCode, Code: pin})
		e := wantErr(t, err, seam.ErrInvalidInput)
		if e.Type != sandbox.ErrorTypeDuplicateCode || strings.Contains(err.Error(), pin.Reveal()) {
			t.Errorf("got %v, want %s without the PIN in it", err, sandbox.ErrorTypeDuplicateCode)
		}
		if got := listCredentials(t, ctx, c, seam.ListCredentialsRequest{AcsUserID: b.AcsUserID}); len(got) != 0 {
			t.Errorf("a refused create made %d credentials", len(got))
		}
	}},
	{"credentials/pin_rules", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		lo, hi := sandbox.CodeLengthsFor("salto_site")
		for _, pin := range []string{strings.Repeat("1", lo-1), strings.Repeat("2", hi+1)} {
			_, err := c.CreateCredential(ctx, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCode, Code: seam.PIN(pin)})
			if e := wantErr(t, err, seam.ErrInvalidInput); e.Type != sandbox.ErrorTypeInvalidCodeLength || len(e.ValidationErrors["code"]) == 0 {
				t.Errorf("%d digits: got %+v", len(pin), e)
			}
		}
		_, err := c.CreateCredential(ctx, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCode, Code: "12a4"})
		if e := wantErr(t, err, seam.ErrInvalidInput); e.Type != "invalid_input" || len(e.ValidationErrors["code"]) == 0 {
			t.Errorf("not digits: got %+v", e)
		}
		_, err = c.CreateCredential(ctx, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCard, Code: uniquePIN()})
		wantErr(t, err, seam.ErrInvalidInput)
	}},
	{"credentials/schedule_rules", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		start, past := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		before := start.Add(-time.Hour)
		for _, end := range []time.Time{before, past} {
			_, err := c.CreateCredential(ctx, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCode,
				Code: uniquePIN(), StartsAt: &start, EndsAt: &end})
			if e := wantErr(t, err, seam.ErrInvalidInput); len(e.ValidationErrors["ends_at"]) == 0 {
				t.Errorf("ends_at %v: got %+v", end, e)
			}
		}
	}},
	{"credentials/mobile_key_needs_identity", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		plain := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		_, err := c.CreateCredential(ctx, seam.CreateCredentialRequest{AcsUserID: plain.AcsUserID, AccessMethod: seam.AccessMethodMobileKey})
		wantErr(t, err, seam.ErrInvalidInput)
		linked := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID, UserIdentityID: tg.identityID})
		cr := createCredential(t, ctx, c, seam.CreateCredentialRequest{AcsUserID: linked.AcsUserID, AccessMethod: seam.AccessMethodMobileKey,
			IsMultiPhoneSyncCredential: true})
		if !cr.IsMultiPhoneSyncCredential || cr.AccessMethod != "mobile_key" || cr.Code != "" || cr.UserIdentityID != tg.identityID {
			t.Errorf("credential = %+v", cr)
		}
	}},
	{"credentials/card_waits_to_be_issued", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		cr := createCredential(t, ctx, c, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCard})
		if cr.IsIssued || cr.IssuedAt != nil || !cr.HasWarning(seam.CredentialWarningWaitingToBeIssued) {
			t.Errorf("new card = %+v, want not issued and waiting_to_be_issued", cr)
		}
	}},
	{"credentials/list_pages_and_filters", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		want := map[string]bool{}
		for range 3 {
			cr := createCredential(t, ctx, c, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCode, Code: uniquePIN()})
			want[cr.AcsCredentialID] = true
		}
		got := listCredentials(t, ctx, c, seam.ListCredentialsRequest{AcsUserID: u.AcsUserID, Limit: 1})
		if len(got) != 3 {
			t.Fatalf("paged list = %d credentials, want 3", len(got))
		}
		for _, cr := range got {
			if !want[cr.AcsCredentialID] {
				t.Errorf("unexpected credential %s", cr.AcsCredentialID)
			}
		}
		bySystem := listCredentials(t, ctx, c, seam.ListCredentialsRequest{AcsSystemID: tg.systemID})
		if len(bySystem) < 3 {
			t.Errorf("list by system = %d", len(bySystem))
		}
	}},
	{"credentials/deleted_with_their_user", func(t *testing.T, ctx context.Context, tg target, c *seam.Client) {
		u := createUser(t, ctx, c, seam.CreateUserRequest{AcsSystemID: tg.systemID})
		cr := createCredential(t, ctx, c, seam.CreateCredentialRequest{AcsUserID: u.AcsUserID, AccessMethod: seam.AccessMethodCode, Code: uniquePIN()})
		if err := c.DeleteUser(ctx, u.AcsUserID); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetCredential(ctx, cr.AcsCredentialID)
		wantErr(t, err, seam.ErrNotFound)
	}},
}

// TestPINNeverPrints: a PIN inside a request or a credential prints as redacted
// with every verb.
func TestPINNeverPrints(t *testing.T) {
	pin := seam.PIN("90210468")
	req := seam.CreateCredentialRequest{AcsUserID: "u", AccessMethod: "code", Code: pin}
	cred := seam.AcsCredential{AcsCredentialID: "c", Code: pin}
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s %q %x %d", pin, pin, pin, pin, pin, pin, pin),
		fmt.Sprintf("%v %+v %#v", req, req, req), fmt.Sprintf("%v %+v %#v", cred, &cred, cred),
		fmt.Sprint(pin.MarshalLog()),
	} {
		if strings.Contains(s, pin.Reveal()) || strings.Contains(s, "3930323130343638") {
			t.Errorf("PIN printed: %s", s)
		}
	}
}

// TestCredentialRoutesMatchOpenAPI runs the credential cases against the sandbox
// with every request the client sends and every answer the sandbox gives checked
// against the OpenAPI document's schemas.
func TestCredentialRoutesMatchOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	runSchemaChecked(t, doc, credentialCases, slices.Collect(maps.Keys(doc.Paths)))
}

// runSchemaChecked runs cases against the sandbox with every request and answer
// checked against doc, and fails if a route in mustAnswer was never answered 200
// (its response schema would have gone unchecked).
func runSchemaChecked(t *testing.T, doc *openAPIDoc, cases []contractCase, mustAnswer []string) {
	checker := &schemaChecker{doc: doc, seen: map[string]int{}}
	tg := sandboxTargetWrapped(t, func(h http.Handler) http.Handler { checker.next = h; return checker })
	c := tg.client(t)
	for _, cc := range cases {
		t.Run(cc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cc.run(t, ctx, tg, c)
		})
	}
	checker.mu.Lock()
	defer checker.mu.Unlock()
	for _, e := range checker.errs {
		t.Error(e)
	}
	for _, route := range mustAnswer {
		if checker.seen[route+" 200"] == 0 {
			t.Errorf("%s was never answered 200: the document's response schema went unchecked", route)
		}
	}
}

// TestSchemaCheckerCatchesViolations: the checker is only worth something if it fails.
func TestSchemaCheckerCatchesViolations(t *testing.T) {
	doc := loadOpenAPI(t)
	create := doc.Paths["/acs/credentials/create"]
	cases := []struct {
		reason string
		schema map[string]any
		body   string
	}{
		{"access_method is required", create.Request, `{"acs_user_id":"x"}`},
		{"a PIN is digits", create.Request, `{"access_method":"code","code":"12a4"}`},
		{"an unknown access method", create.Request, `{"access_method":"pin"}`},
		{"a field the document does not name", create.Request, `{"access_method":"code","pin":"1234"}`},
		{"a credential without display_name", create.Response, `{"ok":true,"acs_credential":{"acs_credential_id":"a","connected_account_id":"b","acs_system_id":"c","access_method":"code","created_at":"2025-01-01T00:00:00Z","workspace_id":"w","errors":[],"warnings":[],"is_managed":true}}`},
	}
	for _, tc := range cases {
		var v any
		if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
			t.Fatal(err)
		}
		if errs := doc.check(tc.schema, v, "body"); len(errs) == 0 {
			t.Errorf("%s: the checker found nothing wrong", tc.reason)
		}
	}
}
