package seam_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// A small checker of JSON bodies against the schemas of Seam's OpenAPI document
// (testdata/openapi-credentials.json, a subset of /work/shared/seam/openapi-seam.json).
// It checks type, nullable, required, enum, pattern, minLength, date-time, items,
// $ref, allOf and oneOf, and refuses properties a schema does not name: a sandbox
// that answers more than the document says, or a client that sends more, is wrong.
// oneOf is read as zod's union (any branch), as Seam's server does: the list
// request's branches overlap (an empty object matches every body).

type openAPIDoc struct {
	Paths map[string]struct {
		Request  map[string]any `json:"request"`
		Response map[string]any `json:"response"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	return loadOpenAPIFrom(t, "testdata/openapi-credentials.json")
}

// loadOpenAPIFrom reads another subset of the document.
func loadOpenAPIFrom(t *testing.T, file string) *openAPIDoc {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d openAPIDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// check returns every way v breaks schema s, each prefixed with its path.
func (d *openAPIDoc) check(s map[string]any, v any, path string) []string {
	return d.checkIn(s, v, path, false)
}

// checkIn checks v; open (inside allOf) leaves unknown properties to the
// enclosing schema, which knows every branch's.
func (d *openAPIDoc) checkIn(s map[string]any, v any, path string, open bool) []string {
	if ref, ok := s["$ref"].(string); ok {
		return d.checkIn(d.Components.Schemas[ref[strings.LastIndex(ref, "/")+1:]], v, path, open)
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		return []string{path + ": null, not nullable"}
	}
	var errs []string
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, d.checkIn(sub.(map[string]any), v, path, true)...)
		}
		if open {
			return errs
		}
		return append(errs, d.unknownProperties(s, v, path)...)
	}
	if one, ok := s["oneOf"].([]any); ok {
		var first []string
		for i, sub := range one {
			e := d.checkIn(sub.(map[string]any), v, path, open)
			if len(e) == 0 {
				return nil
			}
			if i == 0 {
				first = e
			}
		}
		return append([]string{path + ": matches no branch of oneOf"}, first...)
	}
	switch typ, _ := s["type"].(string); typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want object", path, v)}
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := obj[r]; !ok {
				errs = append(errs, path+"."+r+": required")
			}
		}
		for k, val := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, d.check(ps, val, path+"."+k)...)
			}
		}
		if !open {
			errs = append(errs, d.unknownProperties(s, v, path)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want array", path, v)}
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range arr {
				errs = append(errs, d.check(items, it, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want string", path, v)}
		}
		if enum := asStrings(s["enum"]); len(enum) > 0 && !contains(enum, str) {
			errs = append(errs, fmt.Sprintf("%s: %q not in %v", path, str, enum))
		}
		if pat, ok := s["pattern"].(string); ok && !regexp.MustCompile(pat).MatchString(str) {
			errs = append(errs, fmt.Sprintf("%s: does not match %s", path, pat))
		}
		if n, ok := s["minLength"].(float64); ok && len(str) < int(n) {
			errs = append(errs, fmt.Sprintf("%s: shorter than %v", path, n))
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: not a date-time", path))
			}
		}
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want boolean", path, v)}
		}
		if enum, ok := s["enum"].([]any); ok && !(len(enum) == 1 && enum[0] == b) {
			errs = append(errs, fmt.Sprintf("%s: %v not in %v", path, b, enum))
		}
	case "number", "integer":
		if _, ok := v.(float64); !ok {
			return []string{fmt.Sprintf("%s: %T, want number", path, v)}
		}
	}
	return errs
}

// unknownProperties lists the properties of v that no branch of s names.
func (d *openAPIDoc) unknownProperties(s map[string]any, v any, path string) []string {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	known := d.propertyNames(s)
	var errs []string
	for k := range obj {
		if !known[k] {
			errs = append(errs, path+"."+k+": not in the schema")
		}
	}
	sort.Strings(errs)
	return errs
}

func (d *openAPIDoc) propertyNames(s map[string]any) map[string]bool {
	if ref, ok := s["$ref"].(string); ok {
		s = d.Components.Schemas[ref[strings.LastIndex(ref, "/")+1:]]
	}
	out := map[string]bool{}
	if props, ok := s["properties"].(map[string]any); ok {
		for k := range props {
			out[k] = true
		}
	}
	for _, key := range []string{"allOf", "oneOf"} {
		subs, _ := s[key].([]any)
		for _, sub := range subs {
			for k := range d.propertyNames(sub.(map[string]any)) {
				out[k] = true
			}
		}
	}
	return out
}

func asStrings(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// schemaChecker wraps a server: every request to a route the document covers
// that the server accepts, and every 200 answer, is checked against its schema.
type schemaChecker struct {
	doc  *openAPIDoc
	next http.Handler
	mu   sync.Mutex
	seen map[string]int
	errs []string
}

func (c *schemaChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, ok := c.doc.Paths[r.URL.Path]
	if !ok || r.Method != http.MethodPost {
		c.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w}
	c.next.ServeHTTP(rec, r)
	var errs []string
	var req, resp any
	// A request the document forbids must be refused: the sandbox answering it
	// 2xx is the lenient server that hides a client's bug. One it refuses is a
	// case testing the refusal.
	if err := json.Unmarshal(body, &req); err != nil {
		errs = append(errs, "request: "+err.Error())
	} else if bad := c.doc.check(route.Request, req, "request"); len(bad) > 0 && rec.status < 300 {
		errs = append(errs, "accepted a request the document forbids:")
		errs = append(errs, bad...)
	}
	if rec.status == http.StatusOK {
		if err := json.Unmarshal(rec.body.Bytes(), &resp); err != nil {
			errs = append(errs, "response: "+err.Error())
		} else {
			errs = append(errs, c.doc.check(route.Response, resp, "response")...)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[fmt.Sprintf("%s %d", r.URL.Path, rec.status)]++
	for _, e := range errs {
		c.errs = append(c.errs, r.URL.Path+": "+e)
	}
}

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
