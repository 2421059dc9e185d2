package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// params reads one request's parameters (a JSON body, or the query string of
// a GET) and collects validation errors in the shape Seam sends: zod's
// "format" tree, {"_errors": [], "field": {"_errors": ["msg"]}}.
type params struct {
	raw       map[string]json.RawMessage
	fromQuery bool
	path      []string
	errs      *validation
}

type validation struct {
	tree      map[string]any
	firstPath []string
	firstMsg  string
}

// parseBody returns false for a body that is not a JSON object.
func parseBody(body []byte) (*params, bool) {
	p := &params{raw: map[string]json.RawMessage{}, errs: &validation{}}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, true
	}
	if err := json.Unmarshal(body, &p.raw); err != nil {
		return nil, false
	}
	return p, true
}

func parseQuery(q url.Values) *params {
	p := &params{raw: map[string]json.RawMessage{}, fromQuery: true, errs: &validation{}}
	for k, v := range q {
		if len(v) > 0 {
			b, _ := json.Marshal(v[0])
			p.raw[k] = b
		}
	}
	return p
}

func (p *params) fail(name, msg string) {
	path := append(append([]string{}, p.path...), name)
	v := p.errs
	if v.tree == nil {
		v.tree = map[string]any{"_errors": []string{}}
	}
	node := v.tree
	for _, key := range path {
		child, ok := node[key].(map[string]any)
		if !ok {
			child = map[string]any{"_errors": []string{}}
			node[key] = child
		}
		node = child
	}
	node["_errors"] = append(node["_errors"].([]string), msg)
	if v.firstPath == nil {
		v.firstPath, v.firstMsg = path, msg
	}
}

// err returns the invalid_input error, or nil when everything was valid.
func (p *params) err() *apiError {
	v := p.errs
	if v.tree == nil {
		return nil
	}
	dotted := strings.Join(v.firstPath, ".")
	msg := fmt.Sprintf("%s for %q", v.firstMsg, dotted)
	if v.firstMsg == "Required" {
		msg = dotted + " is required"
	}
	e := badRequest("invalid_input", msg)
	e.ValidationErrors = v.tree
	return e
}

func jsonKind(b json.RawMessage) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "undefined"
	}
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// field reports how a parameter was given: absent, null, or with a value.
func (p *params) field(name string) (json.RawMessage, string) {
	b, ok := p.raw[name]
	if !ok {
		return nil, "undefined"
	}
	return b, jsonKind(b)
}

// str returns a string parameter. set is false when it is absent or null;
// isNull tells the two apart.
func (p *params) str(name string) (value string, set, isNull bool) {
	b, kind := p.field(name)
	switch kind {
	case "undefined":
		return "", false, false
	case "null":
		return "", false, true
	case "string":
		_ = json.Unmarshal(b, &value)
		return value, true, false
	}
	p.fail(name, "Expected string, received "+kind)
	return "", false, false
}

func (p *params) requiredStr(name string) string {
	v, set, _ := p.str(name)
	if !set {
		if _, kind := p.field(name); kind == "undefined" || kind == "null" {
			p.fail(name, "Required")
		}
	}
	return v
}

func (p *params) boolean(name string) (value, set bool) {
	b, kind := p.field(name)
	switch kind {
	case "undefined", "null":
		return false, false
	case "boolean":
		_ = json.Unmarshal(b, &value)
		return value, true
	case "string":
		if p.fromQuery {
			var s string
			_ = json.Unmarshal(b, &s)
			if v, err := strconv.ParseBool(s); err == nil {
				return v, true
			}
		}
	}
	p.fail(name, "Expected boolean, received "+kind)
	return false, false
}

func (p *params) integer(name string, lo, hi int) (int, bool) {
	b, kind := p.field(name)
	var n float64
	switch kind {
	case "undefined", "null":
		return 0, false
	case "number":
		_ = json.Unmarshal(b, &n)
	case "string":
		var s string
		_ = json.Unmarshal(b, &s)
		f, err := strconv.ParseFloat(s, 64)
		if !p.fromQuery || err != nil {
			p.fail(name, "Expected number, received "+kind)
			return 0, false
		}
		n = f
	default:
		p.fail(name, "Expected number, received "+kind)
		return 0, false
	}
	if n != float64(int(n)) {
		p.fail(name, "Expected integer, received float")
		return 0, false
	}
	if int(n) < lo || int(n) > hi {
		p.fail(name, fmt.Sprintf("Number must be between %d and %d", lo, hi))
		return 0, false
	}
	return int(n), true
}

func (p *params) stringList(name string) []string {
	b, kind := p.field(name)
	switch kind {
	case "undefined", "null":
		return nil
	case "array":
		var items []json.RawMessage
		_ = json.Unmarshal(b, &items)
		out := make([]string, 0, len(items))
		for i, item := range items {
			if jsonKind(item) != "string" {
				p.fail(fmt.Sprintf("%s.%d", name, i), "Expected string, received "+jsonKind(item))
				continue
			}
			var s string
			_ = json.Unmarshal(item, &s)
			out = append(out, s)
		}
		return out
	}
	p.fail(name, "Expected array, received "+kind)
	return nil
}

// object returns a nested parameter set whose errors land under name.
func (p *params) object(name string) (sub *params, set, isNull bool) {
	b, kind := p.field(name)
	switch kind {
	case "undefined":
		return nil, false, false
	case "null":
		return nil, false, true
	case "object":
		sub = &params{raw: map[string]json.RawMessage{}, path: append(append([]string{}, p.path...), name), errs: p.errs}
		_ = json.Unmarshal(b, &sub.raw)
		return sub, true, false
	}
	p.fail(name, "Expected object, received "+kind)
	return nil, false, false
}

var e164 = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)

// phone validates an E.164 phone number the way Seam words the error.
func (p *params) phone(name string) (value string, set, isNull bool) {
	value, set, isNull = p.str(name)
	if set && !e164.MatchString(value) {
		p.fail(name, "Phone number must be in E.164 format: +14155552671")
		return "", false, false
	}
	return value, set, isNull
}

func (p *params) email(name string) (value string, set, isNull bool) {
	value, set, isNull = p.str(name)
	if set {
		addr, err := mail.ParseAddress(value)
		if err != nil || addr.Address != value || !strings.Contains(value[strings.LastIndex(value, "@"):], ".") {
			p.fail(name, "Invalid email")
			return "", false, false
		}
	}
	return value, set, isNull
}

func (p *params) datetime(name string) (*time.Time, bool) {
	v, set, _ := p.str(name)
	if !set {
		return nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		p.fail(name, "Invalid datetime")
		return nil, false
	}
	t = t.UTC()
	return &t, true
}

// schedule reads access_schedule as Seam's OpenAPI document states it. On create
// (requireBoth false) starts_at defaults to now and ends_at is optional; on update
// (requireBoth true) an access_schedule object must carry both ends. Either way
// ends_at must be in the future and after starts_at. A lenient sandbox once hid a
// diff that sent half a schedule: this one refuses it as Seam does.
func (p *params) schedule(name string, now time.Time, requireBoth bool) (sched *schedule, set, isNull bool) {
	sub, set, isNull := p.object(name)
	if !set {
		return nil, false, isNull
	}
	starts, hasStarts := sub.datetime("starts_at")
	ends, hasEnds := sub.datetime("ends_at")
	if requireBoth && !hasStarts {
		sub.fail("starts_at", "Required")
	}
	if requireBoth && !hasEnds {
		sub.fail("ends_at", "Required")
	}
	if starts == nil {
		t := now.UTC()
		starts = &t
	}
	switch {
	case ends == nil:
	case !ends.After(now):
		sub.fail("ends_at", "ends_at must be in the future")
	case !ends.After(*starts):
		sub.fail("ends_at", "ends_at must be after starts_at")
	}
	return &schedule{StartsAt: starts, EndsAt: ends}, true, false
}
