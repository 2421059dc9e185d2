package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
)

// cursor is keyset pagination over the list order (created_at, then creation
// sequence): the next page starts after this position, so users created or
// deleted between pages neither repeat nor shift the pages.
type cursor struct {
	CreatedAt int64 `json:"c"` // unix nanoseconds
	Seq       int   `json:"s"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	var c cursor
	if json.Unmarshal(b, &c) != nil || c.Seq <= 0 {
		return cursor{}, false
	}
	return c, true
}

// cursor reads an opaque page cursor parameter.
func (p *params) cursor(name string) (cursor, bool) {
	v, set, _ := p.str(name)
	if !set || v == "" {
		return cursor{}, false
	}
	c, ok := decodeCursor(v)
	if !ok {
		p.fail(name, "Invalid page cursor")
	}
	return c, ok
}

func (u *userRecord) after(c cursor) bool {
	t := u.createdAt.UnixNano()
	return t > c.CreatedAt || (t == c.CreatedAt && u.seq > c.Seq)
}

// paginate returns up to limit users after the cursor (users must be in list
// order) and the cursor of the next page, nil on the last page.
func paginate(users []*userRecord, limit int, after *cursor) ([]*userRecord, *cursor) {
	start := 0
	if after != nil {
		start = sort.Search(len(users), func(i int) bool { return users[i].after(*after) })
	}
	end := min(start+limit, len(users))
	page := users[start:end]
	if end >= len(users) || len(page) == 0 {
		return page, nil
	}
	last := page[len(page)-1]
	return page, &cursor{CreatedAt: last.createdAt.UnixNano(), Seq: last.seq}
}

func paginationJSON(next *cursor, query map[string]string, pageURL func(map[string]string) string) map[string]any {
	if next == nil {
		return map[string]any{"has_next_page": false, "next_page_cursor": nil, "next_page_url": nil}
	}
	token := next.encode()
	q := map[string]string{}
	for k, v := range query {
		q[k] = v
	}
	q["page_cursor"] = token
	return map[string]any{"has_next_page": true, "next_page_cursor": token, "next_page_url": pageURL(q)}
}

func encodeQuery(q map[string]string) string {
	v := url.Values{}
	for k, s := range q {
		v.Set(k, s)
	}
	return v.Encode()
}

func itoa(n int) string { return strconv.Itoa(n) }
