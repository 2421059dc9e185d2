package metrics

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

const (
	// allowTTL is how long an allowed caller is let through without asking the
	// apiserver again; denyTTL, a refused one refused (controller-runtime's filter
	// keeps a token 1 minute, an allowed decision 5 minutes, a denied one 30 s).
	allowTTL = time.Minute
	denyTTL  = 30 * time.Second
	// decisionsKept bounds the cache: callers are a Prometheus or two, so more
	// entries than this means tokens nobody will send again.
	decisionsKept = 256
	// reviewTimeout bounds each review call.
	reviewTimeout = 10 * time.Second
)

// AuthFilter serves /metrics only to callers the apiserver authenticates (a
// TokenReview of their bearer token) and allows to get the path (a
// SubjectAccessReview), as controller-runtime's
// filters.WithAuthenticationAndAuthorization does, with the same RBAC (create
// tokenreviews and subjectaccessreviews; the caller needs `get` on the
// nonResourceURL). It is written here, with client-go's typed clients, because
// that filter links k8s.io/apiserver and through it cel-go, gRPC and
// OpenTelemetry: 20 MB of the 54 MB the manager maps from its binary, most of it
// read at start, and none of it used for anything else.
func AuthFilter(cfg *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	a := &reviewer{tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(), now: time.Now, decisions: map[decisionKey]decision{}}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			code, msg, err := a.decide(req)
			switch {
			case err != nil:
				log.Error(err, "Authenticating or authorizing a metrics request failed")
				http.Error(w, "Authentication or authorization failed", http.StatusInternalServerError)
			case code != http.StatusOK:
				log.V(4).Info("Metrics request refused", "code", code, "reason", msg)
				http.Error(w, msg, code)
			default:
				next.ServeHTTP(w, req)
			}
		}), nil
	}, nil
}

type reviewer struct {
	tokens authenticationclient.TokenReviewInterface
	access authorizationclient.SubjectAccessReviewInterface
	now    func() time.Time

	mu        sync.Mutex
	decisions map[decisionKey]decision
}

// decisionKey is a token's hash (the token itself is not kept), the verb and the path.
type decisionKey struct {
	token      [sha256.Size]byte
	verb, path string
}

type decision struct {
	code    int
	message string
	until   time.Time
}

// decide answers http.StatusOK for a caller allowed the request, 401 for one the
// apiserver does not authenticate, 403 for one it does not allow, each with a message.
func (a *reviewer) decide(req *http.Request) (int, string, error) {
	token, ok := bearerToken(req.Header.Get("Authorization"))
	if !ok {
		return http.StatusUnauthorized, "Unauthorized", nil
	}
	key := decisionKey{token: sha256.Sum256([]byte(token)), verb: strings.ToLower(req.Method), path: req.URL.Path}
	if d, ok := a.cached(key); ok {
		return d.code, d.message, nil
	}
	ctx, cancel := context.WithTimeout(req.Context(), reviewTimeout)
	defer cancel()
	d, err := a.review(ctx, token, key)
	if err != nil {
		return 0, "", err
	}
	a.remember(key, d)
	return d.code, d.message, nil
}

func (a *reviewer) review(ctx context.Context, token string, key decisionKey) (decision, error) {
	tr, err := a.tokens.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
		return decision{code: http.StatusUnauthorized, message: "Unauthorized", until: a.now().Add(denyTTL)}, nil
	}
	user := tr.Status.User
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := a.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: key.path, Verb: key.verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("SubjectAccessReview: %w", err)
	}
	if !sar.Status.Allowed || sar.Status.Denied {
		return decision{code: http.StatusForbidden, message: fmt.Sprintf("Authorization denied for user %s", user.Username), until: a.now().Add(denyTTL)}, nil
	}
	return decision{code: http.StatusOK, until: a.now().Add(allowTTL)}, nil
}

func (a *reviewer) cached(key decisionKey) (decision, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.decisions[key]
	if !ok || !a.now().Before(d.until) {
		return decision{}, false
	}
	return d, true
}

func (a *reviewer) remember(key decisionKey, d decision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.decisions) >= decisionsKept {
		now := a.now()
		for k, old := range a.decisions {
			if !now.Before(old.until) {
				delete(a.decisions, k)
			}
		}
		if len(a.decisions) >= decisionsKept {
			clear(a.decisions)
		}
	}
	a.decisions[key] = d
}

// bearerToken reads "Bearer <token>" as the apiserver does (the scheme in any case).
func bearerToken(header string) (string, bool) {
	parts := strings.SplitN(strings.TrimSpace(header), " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}
