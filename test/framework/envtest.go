// Package framework starts the real control plane (kube-apiserver + etcd built by
// hack/envtest-binaries.sh) that the project's integration suites run against.
package framework

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/test/proc"
)

// RepoRoot is the repository's top directory, found from this file's location so
// suites work from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Scheme knows the built-in kinds and this operator's API.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := seamv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// ControlPlane is a running kube-apiserver + etcd with the operator's CRDs installed.
type ControlPlane struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.Client

	certDir string
}

// StartControlPlane starts envtest with the generated CRDs. The binaries come from
// KUBEBUILDER_ASSETS or, failing that, bin/k8s (make envtest links them there).
func StartControlPlane() (*ControlPlane, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(RepoRoot(), "bin", "k8s")
	}
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("no kube-apiserver in %s: run `make envtest` (it builds the control plane from the Go module proxy)", assets)
	}
	// A certificate directory of our own survives an apiserver restart (envtest
	// would make a new CA, and every kubeconfig handed out would stop working).
	certDir, err := os.MkdirTemp("", "acs-operator-apiserver-")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		ControlPlane:          envtest.ControlPlane{APIServer: &envtest.APIServer{CertDir: certDir}},
	}
	cp := &ControlPlane{Env: env, certDir: certDir}
	cfg, err := env.Start()
	// envtest starts etcd and kube-apiserver in their own process groups, without
	// Pdeathsig: the watchdog ends them if this process dies without Stop.
	if _, guardErr := proc.GuardChildren("etcd", "kube-apiserver"); err == nil {
		err = guardErr
	}
	if err != nil {
		_ = cp.Stop()
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	cp.Config = cfg
	if cp.Client, err = client.New(cfg, client.Options{Scheme: Scheme()}); err != nil {
		_ = cp.Stop()
		return nil, err
	}
	return cp, nil
}

// RestartAPIServer stops kube-apiserver and starts it again on the same port,
// with the same certificates and etcd (its data kept), as an upgrade or a crash
// of the apiserver would.
func (cp *ControlPlane) RestartAPIServer() error {
	api := cp.Env.ControlPlane.APIServer
	// kube-apiserver drains its watches for up to a minute on SIGTERM; a crash is
	// what we want to survive anyway: after a few seconds envtest SIGKILLs it (and
	// returns an error, without waiting for the port to be free).
	api.StopTimeout = 3 * time.Second
	_ = api.Stop()
	addr := net.JoinHostPort(api.SecureServing.Address, api.SecureServing.Port)
	err := proc.Poll(context.Background(), 100*time.Millisecond, 30*time.Second, func() (bool, error) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true, nil
		}
		_ = conn.Close()
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver still listening on %s: %w", addr, err)
	}
	if err := api.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver again: %w", err)
	}
	_, err = proc.GuardChildren("kube-apiserver")
	return err
}

// Kubeconfig writes an admin kubeconfig for the control plane into dir, for kubectl
// and helm run by the tests.
func (cp *ControlPlane) Kubeconfig(dir string) (string, error) {
	user, err := cp.Env.AddUser(envtest.User{Name: "test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// Stop stops the control plane.
func (cp *ControlPlane) Stop() error {
	err := cp.Env.Stop()
	_ = os.RemoveAll(cp.certDir)
	return err
}

// GVK is a shorthand for this API's kinds.
func GVK(kind string) schema.GroupVersionKind { return seamv1alpha1.GroupVersion.WithKind(kind) }
