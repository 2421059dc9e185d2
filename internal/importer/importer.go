// Package importer is `kubectl acs import`: it reads the users, access groups and
// membership of one ACS system through a connection in the cluster, and prints one
// AcsUser per remote user that adopts it (spec.acsUserId), ready for git. It runs
// with the user's own kubeconfig and RBAC: the API key is read from the connection's
// Secret as that user, sent only to the connection's endpoint, and never printed.
package importer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	seamv1alpha1 "github.com/acs-operator/acs-operator/api/v1alpha1"
	"github.com/acs-operator/acs-operator/internal/connection"
	"github.com/acs-operator/acs-operator/internal/scheme"
	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/snapshot"
)

const usage = `Print AcsUser manifests that adopt the existing users of an ACS system.

Usage:
  kubectl acs import (--connection NAMESPACE/NAME | --cluster-connection NAME) --system ACS_SYSTEM_ID [flags] > users.yaml

Each remote user becomes one AcsUser with spec.acsUserId set and, unless --manage,
managementPolicy: ObserveOnly, so applying the output writes nothing to Seam.
Access groups are given by name where the name is unique in the system, by id
otherwise. The output is sorted: a second import diffs cleanly against the first.
Progress goes to stderr; the API key is never printed.

Flags:
`

// Run is the command: args are the arguments after "import".
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	c, defaultNamespace, err := kubeClient(o.kubeconfig, o.context)
	if err != nil {
		return err
	}
	t, err := o.target(defaultNamespace)
	if err != nil {
		return err
	}
	policy := connection.DefaultEndpointPolicy()
	for _, e := range o.allowedEndpoints {
		if err := policy.Allow(e); err != nil {
			return fmt.Errorf("--allowed-endpoint %s: %w", e, err)
		}
	}
	resolver := connection.NewResolver(c, c, connection.Options{Logger: logr.Discard(), AllowedEndpoints: policy,
		ClientDefaults: seam.Config{Timeout: 30 * time.Second}})
	var conn *connection.Resolved
	if t.connectionKind == seamv1alpha1.ClusterSeamConnectionKind {
		conn, err = resolver.ForClusterSeamConnection(ctx, t.connectionName)
	} else {
		conn, err = resolver.ForSeamConnection(ctx, types.NamespacedName{Namespace: o.connectionNamespace, Name: t.connectionName})
	}
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}

	fmt.Fprintf(stderr, "Reading users, access groups and membership of system %s...\n", t.system)
	snap, err := (&snapshot.Cache{MaxAge: time.Hour, PageSize: 500}).Get(ctx,
		snapshot.Key{Connection: conn.Key, System: t.system}, progress{Client: conn.Client, out: stderr, groupsRead: new(int)}, time.Time{})
	if err != nil {
		return fmt.Errorf("reading system %s: %w", t.system, err)
	}
	managed := map[string]bool{}
	if o.skipManaged {
		if managed, err = managedIDs(ctx, c, t, stderr); err != nil {
			return err
		}
	}
	out, n, err := manifests(t, snap, managed)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Printed %d AcsUser(s) of %d remote user(s) in system %s\n", n, len(snap.Users()), t.system)
	return nil
}

// manifests prints one AcsUser per user of the snapshot not in skip, ordered by name.
func manifests(t target, snap *snapshot.Snapshot, skip map[string]bool) ([]byte, int, error) {
	users := snap.Users()
	people := make([]person, 0, len(users))
	for _, u := range users {
		people = append(people, person{id: u.AcsUserID, fullName: fullNameOf(u), createdAt: u.CreatedAt})
	}
	// Names come from every user, skipped or not, so skipping never renames anyone.
	names := objectNames(people)
	var docs []map[string]any
	for _, u := range users {
		if !skip[u.AcsUserID] {
			docs = append(docs, manifest(t, names[u.AcsUserID], u, snap.Groups(u.AcsUserID), snap.AccessGroups()))
		}
	}
	slices.SortFunc(docs, func(a, b map[string]any) int {
		return strings.Compare(a["metadata"].(map[string]any)["name"].(string), b["metadata"].(map[string]any)["name"].(string))
	})
	out, err := render(docs)
	return out, len(docs), err
}

// managedIDs are the remote users of the system an AcsUser already manages or adopts,
// in every namespace the user may list (else the target namespace).
func managedIDs(ctx context.Context, c client.Client, t target, stderr io.Writer) (map[string]bool, error) {
	var list seamv1alpha1.AcsUserList
	err := c.List(ctx, &list)
	if apierrors.IsForbidden(err) {
		fmt.Fprintf(stderr, "Cannot list AcsUsers in every namespace; --skip-managed looks in namespace %s only\n", t.namespace)
		err = c.List(ctx, &list, client.InNamespace(t.namespace))
	}
	if err != nil {
		return nil, fmt.Errorf("listing AcsUsers for --skip-managed: %w", err)
	}
	ids := map[string]bool{}
	for _, u := range list.Items {
		if string(u.Spec.AcsSystemID) != t.system {
			continue
		}
		for _, id := range []string{u.Status.AcsUserID, string(u.Spec.AcsUserID)} {
			if id != "" {
				ids[id] = true
			}
		}
	}
	return ids, nil
}

// progress reports on stderr as the pages come in: a large system takes a while.
type progress struct {
	*seam.Client
	out        io.Writer
	groupsRead *int
}

func (p progress) ListUsers(ctx context.Context, req seam.ListUsersRequest) iter.Seq2[*seam.AcsUser, error] {
	return func(yield func(*seam.AcsUser, error) bool) {
		n := 0
		for u, err := range p.Client.ListUsers(ctx, req) {
			if err == nil {
				if n++; n%500 == 0 {
					fmt.Fprintf(p.out, "  %d users...\n", n)
				}
			}
			if !yield(u, err) {
				return
			}
		}
		fmt.Fprintf(p.out, "  %d users\n", n)
	}
}

func (p progress) ListAccessGroups(ctx context.Context, req seam.ListAccessGroupsRequest) ([]seam.AccessGroup, error) {
	groups, err := p.Client.ListAccessGroups(ctx, req)
	if err == nil {
		fmt.Fprintf(p.out, "  %d access groups; reading their members\n", len(groups))
	}
	return groups, err
}

// ListAccessGroupUsers counts the groups whose members were read: one call each.
func (p progress) ListAccessGroupUsers(ctx context.Context, acsAccessGroupID string) ([]seam.AcsUser, error) {
	members, err := p.Client.ListAccessGroupUsers(ctx, acsAccessGroupID)
	if *p.groupsRead++; *p.groupsRead%50 == 0 {
		fmt.Fprintf(p.out, "  members of %d groups read...\n", *p.groupsRead)
	}
	return members, err
}

// options are the command line.
type options struct {
	connection, clusterConnection, system, namespace string
	kubeconfig, context                              string
	manage, skipManaged                              bool
	allowedEndpoints                                 []string
	connectionNamespace                              string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("kubectl acs import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&o.connection, "connection", "", "the SeamConnection to read through, as NAMESPACE/NAME")
	fs.StringVar(&o.clusterConnection, "cluster-connection", "", "the ClusterSeamConnection to read through")
	fs.StringVar(&o.system, "system", "", "the ACS system whose users to import (acs_system_id)")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the printed AcsUsers (default: the connection's, or the kubeconfig's for a cluster connection)")
	fs.BoolVar(&o.manage, "manage", false, "print managementPolicy Manage (omitted) instead of ObserveOnly: applying the output then lets the operator correct the users")
	fs.BoolVar(&o.skipManaged, "skip-managed", false, "leave out users an AcsUser in the cluster already manages")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.context, "context", "", "kubeconfig context to use")
	fs.Func("allowed-endpoint", "also allow this Seam endpoint (repeatable; for a local sandbox, as the operator's --allowed-endpoints)", func(s string) error {
		o.allowedEndpoints = append(o.allowedEndpoints, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case o.system == "":
		return nil, errors.New("--system is required")
	case (o.connection == "") == (o.clusterConnection == ""):
		return nil, errors.New("give exactly one of --connection NAMESPACE/NAME and --cluster-connection NAME")
	}
	if o.connection != "" {
		ns, name, ok := strings.Cut(o.connection, "/")
		if !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("--connection %q: want NAMESPACE/NAME", o.connection)
		}
		o.connectionNamespace = ns
	}
	return o, nil
}

// target is where the printed objects go, from the flags.
func (o *options) target(kubeconfigNamespace string) (target, error) {
	t := target{system: o.system, manage: o.manage, namespace: o.namespace}
	if o.connection != "" {
		_, name, _ := strings.Cut(o.connection, "/")
		t.connectionKind, t.connectionName = seamv1alpha1.SeamConnectionKind, name
		if t.namespace == "" {
			t.namespace = o.connectionNamespace
		}
		if t.namespace != o.connectionNamespace {
			return t, fmt.Errorf("--namespace %s: an AcsUser can use a SeamConnection of its own namespace only (%s)", t.namespace, o.connectionNamespace)
		}
		return t, nil
	}
	t.connectionKind, t.connectionName = seamv1alpha1.ClusterSeamConnectionKind, o.clusterConnection
	if t.namespace == "" {
		t.namespace = kubeconfigNamespace
	}
	return t, nil
}

// kubeClient is a client with the user's own kubeconfig and credentials, and the
// kubeconfig's namespace.
func kubeClient(path, context string) (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	rest, err := cfg.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cfg.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w", err)
	}
	c, err := client.New(rest, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}
