package connection

import (
	"strings"
	"testing"
)

func TestParseEndpointPolicy(t *testing.T) {
	cases := []struct {
		reason  string
		list    string
		want    string // String() of the policy; empty when an error is expected
		wantErr string
	}{
		{reason: "the default", list: "https://connect.getseam.com", want: "https://connect.getseam.com"},
		{reason: "a trailing slash and the default port are dropped", list: "https://connect.getseam.com:443/", want: "https://connect.getseam.com"},
		{reason: "scheme and host are lowercased", list: "HTTPS://Connect.GetSeam.COM", want: "https://connect.getseam.com"},
		{reason: "several, spaces around commas, empty items skipped", list: " https://connect.getseam.com , ,http://127.0.0.1:8765/api/ ",
			want: "https://connect.getseam.com,http://127.0.0.1:8765/api"},
		{reason: "http's default port is 80", list: "http://seam-proxy.internal:80", want: "http://seam-proxy.internal"},
		{reason: "a leading zero in the port is the same port", list: "https://seam.example.com:0443", want: "https://seam.example.com"},
		{reason: "IPv6 keeps its brackets", list: "http://[::1]:8765", want: "http://[::1]:8765"},
		{reason: "IPv6 on the default port", list: "https://[2001:db8::1]", want: "https://[2001:db8::1]"},
		{reason: "an empty list would allow nothing: refused", list: "", wantErr: "at least one"},
		{reason: "only commas is empty too", list: " , ", wantErr: "at least one"},
		{reason: "no scheme", list: "connect.getseam.com", wantErr: "http:// or https://"},
		{reason: "another scheme", list: "ftp://connect.getseam.com", wantErr: "http:// or https://"},
		{reason: "no host", list: "https:///path", wantErr: "must name a host"},
		{reason: "user info", list: "https://user:pw@connect.getseam.com", wantErr: "user info"},
		{reason: "a query", list: "https://connect.getseam.com/?x=1", wantErr: "query"},
		{reason: "an empty query", list: "https://connect.getseam.com/?", wantErr: "query"},
		{reason: "a fragment", list: "https://connect.getseam.com/#x", wantErr: "fragment"},
		{reason: "an empty fragment", list: "https://connect.getseam.com/#", wantErr: "fragment"},
		{reason: "a port out of range", list: "https://connect.getseam.com:70000", wantErr: "port"},
		{reason: "port 0", list: "https://connect.getseam.com:0", wantErr: "port"},
		{reason: "a dot-dot segment in the base", list: "http://127.0.0.1:8765/api/../admin", wantErr: "segments"},
		{reason: "one bad item fails the whole list", list: "https://connect.getseam.com,file:///etc/passwd", wantErr: "file:///etc/passwd"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			p, err := ParseEndpointPolicy(tc.list)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseEndpointPolicy(%q) = %v, %v; want an error containing %q", tc.list, p, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEndpointPolicy(%q): %v", tc.list, err)
			}
			if got := p.String(); got != tc.want {
				t.Errorf("ParseEndpointPolicy(%q) = %q, want %q", tc.list, got, tc.want)
			}
		})
	}
}

func TestEndpointPolicyAllows(t *testing.T) {
	const seamProd = "https://connect.getseam.com"
	cases := []struct {
		reason   string
		policy   string
		endpoint string
		want     bool
	}{
		{"the base itself", seamProd, "https://connect.getseam.com", true},
		{"with a trailing slash", seamProd, "https://connect.getseam.com/", true},
		{"uppercase host and scheme", seamProd, "HTTPS://CONNECT.GetSeam.com", true},
		{"explicit default port", seamProd, "https://connect.getseam.com:443", true},
		{"a path below a root base", seamProd, "https://connect.getseam.com/v2", true},
		{"plain http to the same host", seamProd, "http://connect.getseam.com", false},
		{"http on port 443", seamProd, "http://connect.getseam.com:443", false},
		{"another port", seamProd, "https://connect.getseam.com:8443", false},
		{"a longer host that starts with the base's", seamProd, "https://connect.getseam.com.evil.com", false},
		{"the base's host as user info", seamProd, "https://connect.getseam.com@evil.com", false},
		{"user info before the right host", seamProd, "https://evil@connect.getseam.com", false},
		{"a backslash before @", seamProd, `https://connect.getseam.com\@evil.com`, false},
		{"a subdomain", seamProd, "https://evil.connect.getseam.com", false},
		{"a trailing dot is another spelling: refused", seamProd, "https://connect.getseam.com.", false},
		{"a query", seamProd, "https://connect.getseam.com/?redirect=http://evil", false},
		{"a fragment", seamProd, "https://connect.getseam.com/#x", false},
		{"not a URL", seamProd, "connect.getseam.com", false},
		{"empty", seamProd, "", false},
		{"percent-encoded host", seamProd, "https://connect%2egetseam.com", false},
		{"a dot-dot segment", seamProd, "https://connect.getseam.com/../x", false},
		{"a percent-encoded dot-dot segment", seamProd, "https://connect.getseam.com/%2e%2e/x", false},
		{"loopback with its port", "http://127.0.0.1:8765", "http://127.0.0.1:8765", true},
		{"loopback on another port", "http://127.0.0.1:8765", "http://127.0.0.1:8766", false},
		{"loopback by another name", "http://127.0.0.1:8765", "http://localhost:8765", false},
		{"loopback as a decimal integer", "http://127.0.0.1:8765", "http://2130706433:8765", false},
		{"https to an http base", "http://127.0.0.1:8765", "https://127.0.0.1:8765", false},
		{"a path base allows itself", "http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api", true},
		{"and below it", "http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/v1/", true},
		{"but not a longer segment", "http://127.0.0.1:8765/api", "http://127.0.0.1:8765/apiX", false},
		{"nor its parent", "http://127.0.0.1:8765/api", "http://127.0.0.1:8765/", false},
		{"nor a way out of it with ..", "http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/../admin", false},
		{"nor an encoded slash", "http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/x%2F..%2F..%2Fadmin", false},
		{"nor an encoded spelling of the base path", "http://127.0.0.1:8765/api", "http://127.0.0.1:8765/%61pi", false},
		{"IPv6 loopback", "http://[::1]:8765", "http://[::1]:8765/", true},
		{"IPv6 in another spelling", "http://[::1]:8765", "http://[0:0:0:0:0:0:0:1]:8765", false},
		{"IPv6 on another port", "http://[::1]:8765", "http://[::1]:8766", false},
		{"one of several", seamProd + ",http://127.0.0.1:8765", "http://127.0.0.1:8765", true},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			p, err := ParseEndpointPolicy(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Allows(tc.endpoint); got != tc.want {
				t.Errorf("%s allows %q = %v, want %v", tc.policy, tc.endpoint, got, tc.want)
			}
		})
	}
}

func TestDefaultEndpointPolicyIsSeamOnly(t *testing.T) {
	if got := DefaultEndpointPolicy().String(); got != "https://connect.getseam.com" {
		t.Errorf("default policy = %q", got)
	}
}

func TestAllowAddsABaseURL(t *testing.T) {
	p := DefaultEndpointPolicy()
	if p.Allows("http://127.0.0.1:8765") {
		t.Fatal("allowed before Allow")
	}
	if err := p.Allow("http://127.0.0.1:8765"); err != nil {
		t.Fatal(err)
	}
	if !p.Allows("http://127.0.0.1:8765") || !p.Allows("https://connect.getseam.com") {
		t.Errorf("after Allow: %s", p)
	}
	if err := p.Allow("http://u@127.0.0.1:1"); err == nil {
		t.Error("Allow accepted user info")
	}
}
