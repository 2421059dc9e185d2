package sandbox

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Credentials (/acs/credentials/*), written to Seam's OpenAPI document: create,
// get, list, update (code and ends_at only) and delete. The document leaves PIN
// rules to each access system; the sandbox picks one rule per system type
// (codeLengths) and refuses a PIN another credential of the system already has.
// No message ever repeats a code: callers must not be able to leak one by
// logging an error.

// credentialRecord is a credential as the store holds it.
type credentialRecord struct {
	seq              int
	id               string
	workspaceID      string
	systemID         string
	userID           string
	accessMethod     string
	code             string
	multiPhoneSync   bool
	entranceIDs      []string
	startsAt, endsAt *time.Time
	createdAt        time.Time
	issuedAt         *time.Time
	errors           []Issue
	warnings         []Issue
}

func (c *credentialRecord) position() cursor {
	return cursor{CreatedAt: c.createdAt.UnixNano(), Seq: c.seq}
}

var accessMethods = map[string]bool{"code": true, "card": true, "mobile_key": true, "cloud_key": true}

// codeLengths are the PIN lengths each system type takes, {min, max} digits;
// other systems take defaultCodeLength.
var codeLengths = map[string][2]int{
	"salto_ks_site": {6, 6},
	"pti_site":      {4, 6},
}

var defaultCodeLength = [2]int{4, 8}

// CodeLengthsFor returns the PIN lengths the sandbox accepts for a system type.
func CodeLengthsFor(systemType string) (lo, hi int) {
	l, ok := codeLengths[systemType]
	if !ok {
		l = defaultCodeLength
	}
	return l[0], l[1]
}

// Error types of refused PINs.
const (
	ErrorTypeDuplicateCode     = "duplicate_code_on_acs_system"
	ErrorTypeInvalidCodeLength = "invalid_code_length"
)

var digitsOnly = regexp.MustCompile(`^\d+$`)

func errCredentialNotFound() *apiError {
	return notFound("acs_credential_not_found", "Access control credential not found")
}

// checkCode applies the system's PIN rules; except is the credential being
// updated (its own code is not a duplicate).
func (st *store) checkCode(systemID, code, except string) *apiError {
	lo, hi := CodeLengthsFor(st.systems[systemID].ExternalType)
	if len(code) < lo || len(code) > hi {
		e := badRequest(ErrorTypeInvalidCodeLength, fmt.Sprintf("This access system takes PIN codes of %d to %d digits", lo, hi))
		e.ValidationErrors = map[string]any{"_errors": []string{}, "code": map[string]any{"_errors": []string{e.Message}}}
		return e
	}
	for _, c := range st.credentials {
		if c.id != except && c.systemID == systemID && c.accessMethod == "code" && c.code == code {
			return errDuplicateCode()
		}
	}
	return nil
}

func errDuplicateCode() *apiError {
	return badRequest(ErrorTypeDuplicateCode, "Another credential in this access system already has this PIN code")
}

// codeParam reads a PIN: a string of digits.
func (p *params) codeParam(name string) (string, bool) {
	v, set, _ := p.str(name)
	if set && !digitsOnly.MatchString(v) {
		p.fail(name, "Invalid: must contain only digits")
		return "", false
	}
	return v, set
}

func (st *store) createCredential(c *call) response {
	p := c.p
	method := p.requiredStr("access_method")
	userID, hasUser, _ := p.str("acs_user_id")
	identityID, hasIdentity, _ := p.str("user_identity_id")
	systemID, hasSystem, _ := p.str("acs_system_id")
	code, hasCode := p.codeParam("code")
	multi, _ := p.boolean("is_multi_phone_sync_credential")
	entrances := p.stringList("allowed_acs_entrance_ids")
	starts, _ := p.datetime("starts_at")
	ends, _ := p.datetime("ends_at")
	if method != "" && !accessMethods[method] {
		p.fail("access_method", "Invalid enum value. Expected 'code' | 'card' | 'mobile_key' | 'cloud_key'")
	}
	if !hasUser && !(hasIdentity && hasSystem) {
		p.fail("acs_user_id", "Required")
	}
	if hasCode && method != "code" {
		p.fail("code", "code is only allowed for access_method code")
	}
	checkWindow(p, c.now, starts, ends)
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	u := st.userByIDOrIdentity(c, userID, hasUser, identityID, systemID)
	if u == nil {
		return errorResponse(errUserNotFound())
	}
	if method == "mobile_key" && u.identityID == "" {
		return errorResponse(badRequest("user_identity_required",
			"A mobile_key credential needs an ACS user linked to a user identity (the phone the key goes to)"))
	}
	if method == "code" {
		if !hasCode {
			lo, _ := CodeLengthsFor(st.systems[u.systemID].ExternalType)
			code = st.freeCode(u.systemID, lo)
		}
		if e := st.checkCode(u.systemID, code, ""); e != nil {
			return errorResponse(e)
		}
		if st.collideCodes > 0 {
			st.collideCodes--
			st.collidedCodes = append(st.collidedCodes, code)
			return errorResponse(errDuplicateCode())
		}
	}
	st.seq++
	cr := &credentialRecord{
		seq: st.seq, id: newUUID(), workspaceID: c.workspaceID, systemID: u.systemID, userID: u.id,
		accessMethod: method, code: code, multiPhoneSync: multi, entranceIDs: entrances,
		startsAt: starts, endsAt: ends, createdAt: c.now.UTC().Truncate(time.Millisecond),
	}
	if method == "card" {
		// A card exists once an encoder writes it: until then Seam waits.
		cr.warnings = []Issue{{Code: "waiting_to_be_issued", Message: "The card has not been encoded yet", CreatedAt: cr.createdAt}}
	} else {
		at := cr.createdAt
		cr.issuedAt = &at
	}
	st.credentials[cr.id] = cr
	if cr.issuedAt != nil {
		st.emit(cr.workspaceID, EventCredentialIssued, c.now, map[string]string{"acs_credential_id": cr.id, "acs_system_id": cr.systemID})
	}
	return okResponse(map[string]any{"acs_credential": st.renderCredential(cr)})
}

// checkWindow applies the document's rule: ends_at in the future and after starts_at.
func checkWindow(p *params, now time.Time, starts, ends *time.Time) {
	switch {
	case ends == nil:
	case !ends.After(now):
		p.fail("ends_at", "ends_at must be in the future")
	case starts != nil && !ends.After(*starts):
		p.fail("ends_at", "ends_at must be after starts_at")
	}
}

// userByIDOrIdentity finds a user by id, or by user identity and system (the
// two ways the document lets a route name one).
func (st *store) userByIDOrIdentity(c *call, userID string, byID bool, identityID, systemID string) *userRecord {
	if byID {
		return st.userInWorkspace(c, userID)
	}
	for _, u := range st.usersSorted(func(u *userRecord) bool {
		return u.workspaceID == c.workspaceID && u.identityID == identityID && u.systemID == systemID
	}) {
		return u
	}
	return nil
}

// freeCode makes up a PIN no credential of the system has (Seam generates one
// when a code credential is created without it).
func (st *store) freeCode(systemID string, n int) string {
	for {
		var b strings.Builder
		for range n {
			d, _ := rand.Int(rand.Reader, big.NewInt(10))
			b.WriteString(d.String())
		}
		if st.checkCode(systemID, b.String(), "") == nil {
			return b.String()
		}
	}
}

func (st *store) credentialInWorkspace(c *call, id string) *credentialRecord {
	cr := st.credentials[id]
	if cr == nil || cr.workspaceID != c.workspaceID {
		return nil
	}
	return cr
}

func (st *store) getCredential(c *call) response {
	id := c.p.requiredStr("acs_credential_id")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	cr := st.credentialInWorkspace(c, id)
	if cr == nil {
		return errorResponse(errCredentialNotFound())
	}
	return okResponse(map[string]any{"acs_credential": st.renderCredential(cr)})
}

func (st *store) listCredentials(c *call) response {
	p := c.p
	lq := p.listQuery("acs_user_id", "acs_system_id", "user_identity_id", "search")
	f := lq.filters
	userID, systemID, identityID := f["acs_user_id"], f["acs_system_id"], f["user_identity_id"]
	if search, set, _ := p.str("search"); set && search == "" {
		p.fail("search", "String must contain at least 1 character(s)")
	}
	if identityID != "" && (userID != "" || systemID != "") {
		p.fail("user_identity_id", "user_identity_id cannot be combined with acs_user_id or acs_system_id")
	}
	multi, hasMulti := p.boolean("is_multi_phone_sync_credential")
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	needle := strings.ToLower(f["search"])
	var items []*credentialRecord
	for _, cr := range st.credentials {
		if cr.workspaceID == c.workspaceID &&
			(userID == "" || cr.userID == userID) && (systemID == "" || cr.systemID == systemID) &&
			(identityID == "" || st.users[cr.userID] != nil && st.users[cr.userID].identityID == identityID) &&
			(!hasMulti || cr.multiPhoneSync == multi) && lq.createdBeforeOK(cr.createdAt) &&
			(needle == "" || st.credentialMatches(cr, needle)) {
			items = append(items, cr)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].position().before(items[j].position()) })
	return page(lq, c, "acs_credentials", items, st.renderCredential)
}

func (st *store) credentialMatches(cr *credentialRecord, lowerNeedle string) bool {
	for _, hay := range []string{credentialDisplayName(cr), cr.code, cr.userID, cr.id} {
		if hay != "" && strings.Contains(strings.ToLower(hay), lowerNeedle) {
			return true
		}
	}
	return false
}

func (st *store) updateCredential(c *call) response {
	p := c.p
	id := p.requiredStr("acs_credential_id")
	code, hasCode := p.codeParam("code")
	ends, hasEnds := p.datetime("ends_at")
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	cr := st.credentialInWorkspace(c, id)
	if cr == nil {
		return errorResponse(errCredentialNotFound())
	}
	if hasCode && cr.accessMethod != "code" {
		p.fail("code", "code is only allowed for access_method code")
	}
	if hasEnds {
		checkWindow(p, c.now, cr.startsAt, ends)
	}
	if e := p.err(); e != nil {
		return errorResponse(e)
	}
	if hasCode {
		if e := st.checkCode(cr.systemID, code, cr.id); e != nil {
			return errorResponse(e)
		}
		cr.code = code
	}
	if hasEnds {
		cr.endsAt = ends
	}
	return okResponse(map[string]any{"acs_credential": st.renderCredential(cr)})
}

func (st *store) deleteCredential(c *call) response {
	id := c.p.requiredStr("acs_credential_id")
	if e := c.p.err(); e != nil {
		return errorResponse(e)
	}
	if st.credentialInWorkspace(c, id) == nil {
		return errorResponse(errCredentialNotFound())
	}
	cr := st.credentials[id]
	delete(st.credentials, id)
	st.emit(cr.workspaceID, EventCredentialDeleted, c.now, map[string]string{"acs_credential_id": id, "acs_system_id": cr.systemID})
	return okResponse(nil)
}

// deleteCredentialsOf removes a deleted user's credentials (Seam invalidates
// them) and returns their ids.
func (st *store) deleteCredentialsOf(userID string) []string {
	var ids []string
	for id, cr := range st.credentials {
		if cr.userID == userID {
			delete(st.credentials, id)
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// credentialDisplayName is what Seam shows instead of the secret: the method,
// with a PIN masked to its length.
func credentialDisplayName(cr *credentialRecord) string {
	switch cr.accessMethod {
	case "code":
		return strings.Repeat("*", len(cr.code))
	case "card":
		return "Card"
	case "mobile_key":
		if cr.multiPhoneSync {
			return "Multi Phone Sync Credential"
		}
		return "Mobile key"
	}
	return "Cloud key"
}

var credentialTypeForSystem = map[string]string{
	"pti_site": "pti_card", "brivo_account": "brivo_credential", "salto_ks_site": "salto_ks_credential",
	"salto_site": "salto_space_key", "hid_credential_manager_organization": "hid_credential",
}

func (st *store) renderCredential(cr *credentialRecord) map[string]any {
	sys := st.systems[cr.systemID]
	out := map[string]any{
		"acs_credential_id":              cr.id,
		"acs_user_id":                    cr.userID,
		"acs_system_id":                  cr.systemID,
		"workspace_id":                   cr.workspaceID,
		"connected_account_id":           sys.ConnectedAccountID,
		"display_name":                   credentialDisplayName(cr),
		"access_method":                  cr.accessMethod,
		"created_at":                     seamTime(cr.createdAt),
		"is_managed":                     true,
		"is_multi_phone_sync_credential": cr.multiPhoneSync,
		"is_one_time_use":                false,
		"is_issued":                      cr.issuedAt != nil,
		"issued_at":                      seamTimePtr(cr.issuedAt),
		"code":                           nil,
		"card_number":                    nil,
		"errors":                         renderIssues(cr.errors, "error_code"),
		"warnings":                       renderIssues(cr.warnings, "warning_code"),
		"is_latest_desired_state_synced_with_provider": !st.offline[cr.systemID],
		"latest_desired_state_synced_with_provider_at": seamTime(cr.createdAt),
	}
	if cr.accessMethod == "code" {
		out["code"] = cr.code
	}
	if u := st.users[cr.userID]; u != nil && u.identityID != "" {
		out["user_identity_id"] = u.identityID
	}
	if t := credentialTypeForSystem[sys.ExternalType]; t != "" {
		out["external_type"], out["external_type_display_name"] = t, t
	}
	if cr.startsAt != nil {
		out["starts_at"] = seamTime(*cr.startsAt)
	}
	if cr.endsAt != nil {
		out["ends_at"] = seamTime(*cr.endsAt)
	}
	return out
}
