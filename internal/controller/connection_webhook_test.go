package controller

import (
	"strings"
	"testing"

	"github.com/acs-operator/acs-operator/internal/webhook"
)

func TestWebhookPathProblem(t *testing.T) {
	teamA := webhook.Connection{Namespace: "team-a", Name: "seam"}
	shared := webhook.Connection{Name: "shared"}
	cases := []struct {
		name    string
		conn    webhook.Connection
		url     string
		problem string // a part of the message; "" for none
	}{
		{"the connection's own path", teamA, "https://hooks.example.com/webhooks/seam/team-a/seam", ""},
		{"behind a proxy that adds a prefix", teamA, "https://example.com/acs/webhooks/seam/team-a/seam", ""},
		{"a ClusterSeamConnection's own path", shared, "https://hooks.example.com/webhooks/seam/cluster/shared", ""},
		{"another namespace's connection of the same name", teamA, "https://hooks.example.com/webhooks/seam/team-b/seam", "does not end in team-a/seam"},
		{"a name that only ends the same", teamA, "https://hooks.example.com/webhooks/seam/team-a/myseam", "does not end in team-a/seam"},
		{"a trailing slash (the receiver refuses it)", teamA, "https://hooks.example.com/webhooks/seam/team-a/seam/", "does not end in"},
		{"the path in the query, not the path", teamA, "https://hooks.example.com/?next=/webhooks/seam/team-a/seam", "does not end in"},
		{"a namespaced connection at a cluster path", teamA, "https://hooks.example.com/webhooks/seam/cluster/seam", "does not end in"},
		{"a ClusterSeamConnection at a namespaced path", shared, "https://hooks.example.com/webhooks/seam/ops/shared", "does not end in cluster/shared"},
		{"a namespace named cluster", webhook.Connection{Namespace: "cluster", Name: "seam"},
			"https://hooks.example.com/webhooks/seam/cluster/seam", "a namespace named cluster cannot receive webhooks"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := webhookPathProblem(tc.conn, tc.url)
			switch {
			case tc.problem == "" && got != "":
				t.Errorf("webhookPathProblem(%v, %q) = %q, want none", tc.conn, tc.url, got)
			case tc.problem != "" && !strings.Contains(got, tc.problem):
				t.Errorf("webhookPathProblem(%v, %q) = %q, want it to say %q", tc.conn, tc.url, got, tc.problem)
			}
		})
	}
}
