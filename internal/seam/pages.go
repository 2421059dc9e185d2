package seam

import (
	"fmt"
	"iter"
)

// pagination is the "pagination" object of Seam's paged list routes.
type pagination struct {
	HasNextPage    bool    `json:"has_next_page"`
	NextPageCursor *string `json:"next_page_cursor"`
}

// next is the cursor of the following page, "" on the last one. A response without
// pagination (the npm fake) is a single page.
func (p *pagination) next() string {
	if p == nil || !p.HasNextPage || p.NextPageCursor == nil {
		return ""
	}
	return *p.NextPageCursor
}

// walkPages yields every item of every page of route, asking fetch for each page by
// its cursor (first: the caller's), until a page has no next cursor. On an error it
// yields (nil, err) once and stops; a server that hands back a cursor it gave before
// (which would loop forever) is an error. Each yielded item is a fresh value the
// caller may keep.
func walkPages[T any](route, first string, fetch func(cursor string) (items []T, next string, err error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		seen := map[string]bool{}
		cursor := first
		for {
			items, next, err := fetch(cursor)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range items {
				if !yield(&items[i], nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if seen[next] {
				yield(nil, fmt.Errorf("seam: %s: server repeated page cursor", route))
				return
			}
			seen[next] = true
			cursor = next
		}
	}
}
