package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkListUsersPaging pages through 20,000 users, 500 a page, as a
// snapshot of a system does (go test -bench ListUsersPaging ./internal/seam/sandbox/).
func BenchmarkListUsersPaging(b *testing.B) {
	srv := New(DefaultSeed(), Options{})
	do := func(path, body string) []byte {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+DefaultSeedAPIKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	for i := range 20000 {
		do("/acs/users/create", fmt.Sprintf(`{"acs_system_id":"acs_system_hq","full_name":"B %d"}`, i))
	}
	for b.Loop() {
		cursor, pages := "", 0
		for {
			body := `{"acs_system_id":"acs_system_hq","limit":500`
			if cursor != "" {
				body += `,"page_cursor":"` + cursor + `"`
			}
			var r struct {
				Pagination struct {
					Next *string `json:"next_page_cursor"`
				} `json:"pagination"`
			}
			if err := json.Unmarshal(do("/acs/users/list", body+"}"), &r); err != nil {
				b.Fatal(err)
			}
			pages++
			if r.Pagination.Next == nil {
				break
			}
			cursor = *r.Pagination.Next
		}
		if pages != 40 {
			b.Fatalf("%d pages, want 40", pages)
		}
	}
}
