package main

import (
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
	if o.resyncPeriod != 5*time.Minute || o.maxConcurrentReconciles != 4 || o.createGrace != time.Minute {
		t.Errorf("defaults: resync %s, concurrency %d, create grace %s", o.resyncPeriod, o.maxConcurrentReconciles, o.createGrace)
	}
	if o.operatorNamespace != "acs-operator-system" || o.signingKeySecret != "acs-operator-signing-key" || o.createTimeout != 30*time.Second {
		t.Errorf("defaults: operator namespace %q, signing key Secret %q, create timeout %s", o.operatorNamespace, o.signingKeySecret, o.createTimeout)
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
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--operator-namespace="}, "--operator-namespace is required"},
		{[]string{"--create-timeout=10ms"}, "--create-timeout must be at least 1s"},
	} {
		if _, err := parseOptions(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
