package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestOptionsHaveSecureDefaults(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "acs-operator-system")
	o, err := parseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.metricsAddr != "0" || !o.metricsSecure || o.enableHTTP2 || o.leaderElect {
		t.Errorf("defaults: metrics %q secure %v, http2 %v, leader election %v; want metrics off and secure when on, HTTP/2 off, no election outside the Deployment",
			o.metricsAddr, o.metricsSecure, o.enableHTTP2, o.leaderElect)
	}
	if got := o.allowedEndpoints.String(); got != "https://connect.getseam.com" {
		t.Errorf("default --allowed-endpoints = %q, want Seam's production API only", got)
	}
	if o.resyncPeriod != 5*time.Minute || o.maxConcurrentReconciles != 4 || o.createGrace != time.Minute {
		t.Errorf("defaults: resync %s, concurrency %d, create grace %s", o.resyncPeriod, o.maxConcurrentReconciles, o.createGrace)
	}
	if o.operatorNamespace != "acs-operator-system" || o.signingKeySecret != "acs-operator-signing-key" || o.createTimeout != 30*time.Second {
		t.Errorf("defaults: operator namespace %q, signing key Secret %q, create timeout %s", o.operatorNamespace, o.signingKeySecret, o.createTimeout)
	}
	if o.webhookAddr != "0" || o.webhookCertDir != "" || o.catchUpInterval != 3*time.Minute {
		t.Errorf("defaults: webhook receiver %q (cert dir %q), catch-up %s; want the receiver off and a 3m catch-up", o.webhookAddr, o.webhookCertDir, o.catchUpInterval)
	}
	if o.leaseDuration != 15*time.Second || o.renewDeadline != 10*time.Second || o.retryPeriod != 2*time.Second {
		t.Errorf("leader election defaults: lease %s, renew %s, retry %s; want controller-runtime's 15s, 10s, 2s", o.leaseDuration, o.renewDeadline, o.retryPeriod)
	}
}

func TestOptionsRefuseNonsense(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "acs-operator-system")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--resync-period=1s"}, "--resync-period must be at least 10s"},
		{[]string{"--max-concurrent-reconciles=0"}, "--max-concurrent-reconciles must be at least 1"},
		{[]string{"--events-catch-up-interval=1s"}, "--events-catch-up-interval must be at least 10s"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--operator-namespace="}, "--operator-namespace is required"},
		{[]string{"--create-timeout=10ms"}, "--create-timeout must be at least 1s"},
		{[]string{"--allowed-endpoints="}, "--allowed-endpoints: no base URL"},
		{[]string{"--leader-elect-renew-deadline=20s"}, "--leader-elect-renew-deadline < --leader-elect-lease-duration"},
		{[]string{"--leader-elect-retry-period=0s"}, "0 < --leader-elect-retry-period"},
		{[]string{"--allowed-endpoints=connect.getseam.com"}, "--allowed-endpoints: allowed endpoint \"connect.getseam.com\": must be an http:// or https:// URL"},
		{[]string{"--allowed-endpoints=https://connect.getseam.com,https://u:p@proxy"}, "must not carry user info"},
	} {
		if _, err := parseOptions(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestAllowedEndpointsFlag(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "acs-operator-system")
	for _, tc := range []struct {
		reason   string
		flag     string
		endpoint string
		want     bool
	}{
		{"the default allows Seam", "", "https://connect.getseam.com", true},
		{"the default refuses a loopback sandbox", "", "http://127.0.0.1:8765", false},
		{"a list allows each of its base URLs", "https://connect.getseam.com,http://127.0.0.1:8765", "http://127.0.0.1:8765/", true},
		{"a list replaces the default", "http://127.0.0.1:8765", "https://connect.getseam.com", false},
		{"a path base allows below it", "https://proxy.example.com/seam", "https://proxy.example.com/seam/v1", true},
		{"a path base refuses beside it", "https://proxy.example.com/seam", "https://proxy.example.com/seamless", false},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			var args []string
			if tc.flag != "" {
				args = []string{"--allowed-endpoints=" + tc.flag}
			}
			o, err := parseOptions(args)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.allowedEndpoints.Allows(tc.endpoint); got != tc.want {
				t.Errorf("--allowed-endpoints=%q allows %q = %v, want %v", tc.flag, tc.endpoint, got, tc.want)
			}
		})
	}
}

// Outside a pod (make chaos, a laptop) controller-runtime cannot guess the lease's
// namespace: it must be --operator-namespace, or --leader-elect fails at start.
func TestLeaderElectionOutsideAPod(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("POD_NAMESPACE", "")
	o, err := parseOptions([]string{"--leader-elect", "--operator-namespace=ops", "--health-probe-bind-address=0"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newManager(o); err != nil {
		t.Fatalf("--leader-elect outside a pod: %v", err)
	}
}

// gcPercent reads the collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestGOGCDefaultsToHalfTheLiveHeapAndTheEnvironmentWins(t *testing.T) {
	before := gcPercent()
	defer debug.SetGCPercent(before)

	t.Setenv("GOGC", "100") // restored after the test
	debug.SetGCPercent(100)
	setGCPercent()
	if got := gcPercent(); got != 100 {
		t.Errorf("GOGC=100 in the environment: the target is %d, want 100", got)
	}

	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	setGCPercent()
	if got := gcPercent(); got != defaultGOGC {
		t.Errorf("no GOGC in the environment: the target is %d, want %d", got, defaultGOGC)
	}
}
