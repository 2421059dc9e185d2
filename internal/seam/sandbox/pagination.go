package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"time"
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

// listed is a record in list order: created_at, then creation sequence.
type listed interface {
	position() cursor
}

func (u *userRecord) position() cursor { return cursor{CreatedAt: u.createdAt.UnixNano(), Seq: u.seq} }

func (c cursor) before(o cursor) bool {
	return c.CreatedAt < o.CreatedAt || (c.CreatedAt == o.CreatedAt && c.Seq < o.Seq)
}

// indexAfter is the index of the first of items (in list order) after position c.
func indexAfter[T listed](items []T, c cursor) int {
	return sort.Search(len(items), func(i int) bool { return c.before(items[i].position()) })
}

// paginate returns up to limit records after the cursor (records must be in
// list order) and the cursor of the next page, nil on the last page.
func paginate[T listed](items []T, limit int, after *cursor) ([]T, *cursor) {
	start := 0
	if after != nil {
		start = indexAfter(items, *after)
	}
	end := min(start+limit, len(items))
	page := items[start:end]
	if end >= len(items) || len(page) == 0 {
		return page, nil
	}
	last := page[len(page)-1].position()
	return page, &last
}

// listQuery is what every list route reads besides its filters: created_before,
// limit (default 500) and page_cursor, and the query next_page_url repeats.
type listQuery struct {
	query         map[string]string
	filters       map[string]string
	createdBefore *time.Time
	limit         int
	after         *cursor
}

// listQuery reads the named string filters and the paging parameters.
func (p *params) listQuery(filters ...string) listQuery {
	lq := listQuery{query: map[string]string{}, filters: map[string]string{}}
	for _, name := range filters {
		if v, set, _ := p.str(name); set {
			lq.query[name], lq.filters[name] = v, v
		}
	}
	lq.createdBefore, _ = p.datetime("created_before")
	if lq.createdBefore != nil {
		lq.query["created_before"] = seamTime(*lq.createdBefore)
	}
	limit, hasLimit := p.integer("limit", 1, 10000)
	if !hasLimit {
		limit = 500
	}
	lq.limit = limit
	lq.query["limit"] = itoa(limit)
	if cur, ok := p.cursor("page_cursor"); ok {
		lq.after = &cur
	}
	return lq
}

// createdBeforeOK applies created_before.
func (lq listQuery) createdBeforeOK(t time.Time) bool {
	return lq.createdBefore == nil || t.Before(*lq.createdBefore)
}

// page renders one page of items (in list order) under key, with its pagination.
func page[T listed](lq listQuery, c *call, key string, items []T, render func(T) map[string]any) response {
	pg, next := paginate(items, lq.limit, lq.after)
	rendered := make([]map[string]any, 0, len(pg))
	for _, it := range pg {
		rendered = append(rendered, render(it))
	}
	return okResponse(map[string]any{key: rendered, "pagination": paginationJSON(next, lq.query, c.pageURL)})
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
