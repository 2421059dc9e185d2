package seam_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"golang.org/x/time/rate"

	"github.com/acs-operator/acs-operator/internal/seam"
	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

// Behaviour that needs fault injection runs against the sandbox only.

const hq = "acs_system_hq"

func newSandbox(t *testing.T, opts sandbox.Options, mod ...func(*seam.Config)) (*sandbox.Server, *seam.Client) {
	t.Helper()
	srv := sandbox.New(sandbox.DefaultSeed(), opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := seam.Config{Endpoint: hs.URL, APIKey: sandbox.DefaultSeedAPIKey, Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := seam.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCreateCommitThenDropIsOutcomeUnknown(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{})
	srv.DropAfterCommit("/acs/users/create", 1)

	_, err := c.CreateUser(ctxT(t), seam.CreateUserRequest{AcsSystemID: hq, FullName: "Dropped Response"})
	if !errors.Is(err, seam.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	if seam.IsRetryable(err) {
		t.Error("an unknown outcome must not be reported as retryable")
	}
	if got := srv.Counters()["/acs/users/create"]; got[sandbox.StatusDropped] != 1 || srv.Received("/acs/users/create") != 1 {
		t.Errorf("create counters = %v, want exactly one create, dropped", got)
	}
	users := srv.Users(hq)
	if len(users) != 1 || users[0].FullName != "Dropped Response" {
		t.Errorf("sandbox users = %+v, want the one committed user", users)
	}
}

func TestIdempotentCallRetriedAfterDroppedConnection(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{})
	u, err := c.CreateUser(ctxT(t), seam.CreateUserRequest{AcsSystemID: hq, FullName: "Before"})
	if err != nil {
		t.Fatal(err)
	}
	srv.DropAfterCommit("/acs/users/update", 1)
	if err := c.UpdateUser(ctxT(t), seam.UpdateUserRequest{AcsUserID: u.AcsUserID, FullName: ptr("After")}); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := srv.Counters()["/acs/users/update"]; got[sandbox.StatusDropped] != 1 || got[200] != 1 {
		t.Errorf("update counters = %v, want one dropped then one 200", got)
	}
	if got, _ := srv.User(u.AcsUserID); got.FullName != "After" {
		t.Errorf("full name = %q", got.FullName)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{})
	srv.StartRateLimitStorm(1, "2")

	start := time.Now()
	systems, err := c.ListSystems(ctxT(t))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("ListSystems: %v", err)
	}
	if len(systems) != 2 {
		t.Errorf("systems = %d", len(systems))
	}
	if elapsed < 1900*time.Millisecond || elapsed > 6*time.Second {
		t.Errorf("elapsed %v, want about 2s", elapsed)
	}
	if got := srv.Counters()["/acs/systems/list"]; got[429] != 1 || got[200] != 1 {
		t.Errorf("counters = %v", got)
	}
}

func TestCreateRetriedOnlyWhenServerDidNotAct(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{})
	srv.StartRateLimitStorm(1, "") // 429 without Retry-After: backoff
	if _, err := c.CreateUser(ctxT(t), seam.CreateUserRequest{AcsSystemID: hq, FullName: "After 429"}); err != nil {
		t.Fatalf("create after 429: %v", err)
	}
	if got := srv.Counters()["/acs/users/create"]; got[429] != 1 || got[200] != 1 {
		t.Errorf("counters = %v, want 429 then 200", got)
	}
	if n := len(srv.Users(hq)); n != 1 {
		t.Errorf("%d users, want 1", n)
	}

	srv.ResetCounters()
	srv.SetErrorRate("/acs/users/create", 1, 502)
	_, err := c.CreateUser(ctxT(t), seam.CreateUserRequest{AcsSystemID: hq, FullName: "Behind a gateway"})
	if !errors.Is(err, seam.ErrOutcomeUnknown) {
		t.Errorf("502 on create: err = %v, want ErrOutcomeUnknown", err)
	}
	if n := srv.Received("/acs/users/create"); n != 1 {
		t.Errorf("502 on create was sent %d times, want 1", n)
	}

	// 503 too: a gateway answers 503 for a backend that committed and then timed out.
	srv.ResetCounters()
	srv.SetErrorRate("/acs/users/create", 1, 503)
	_, err = c.CreateUser(ctxT(t), seam.CreateUserRequest{AcsSystemID: hq, FullName: "Behind a gateway, 503"})
	if !errors.Is(err, seam.ErrOutcomeUnknown) {
		t.Errorf("503 on create: err = %v, want ErrOutcomeUnknown", err)
	}
	if n := srv.Received("/acs/users/create"); n != 1 {
		t.Errorf("503 on create was sent %d times, want 1 (never retried blindly)", n)
	}
}

func TestCreateTimeoutAfterSendIsOutcomeUnknown(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{}, func(cfg *seam.Config) { cfg.Timeout = 200 * time.Millisecond })
	srv.SetRouteLatency("/acs/users/create", 2*time.Second)
	_, err := c.CreateUser(ctxT(t), seam.CreateUserRequest{AcsSystemID: hq, FullName: "Slow"})
	if !errors.Is(err, seam.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap the deadline", err)
	}
	deadline := time.Now().Add(3 * time.Second) // the server counts the call once it notices the client left
	for srv.Received("/acs/users/create") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := srv.Received("/acs/users/create"); n != 1 {
		t.Errorf("create sent %d times, want 1", n)
	}
}

func TestCreateRetriedWhenConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	var mu sync.Mutex
	var attempts []seam.RequestInfo
	c, err := seam.New(seam.Config{
		Endpoint: "http://" + addr, APIKey: "seam_test_refused", MaxAttempts: 3, MaxRetryWait: 10 * time.Second,
		Observer: func(i seam.RequestInfo) { mu.Lock(); attempts = append(attempts, i); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateUser(ctxT(t), seam.CreateUserRequest{AcsSystemID: hq, FullName: "Nobody home"})
	if !errors.Is(err, seam.ErrUnavailable) || errors.Is(err, seam.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrUnavailable and not ErrOutcomeUnknown", err)
	}
	if len(attempts) != 3 || attempts[2].Attempt != 3 || attempts[0].Status != 0 {
		t.Errorf("observer saw %+v, want 3 attempts with status 0", attempts)
	}
}

func TestOutageIsUnavailableAfterBoundedAttempts(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{}, func(cfg *seam.Config) { cfg.MaxAttempts = 2 })
	srv.SetOutage(true)
	_, err := c.GetWorkspace(ctxT(t))
	if !errors.Is(err, seam.ErrUnavailable) || !seam.IsRetryable(err) {
		t.Fatalf("err = %v, want retryable ErrUnavailable", err)
	}
	if got := srv.Counters()["/workspaces/get"][503]; got != 2 {
		t.Errorf("503 count = %d, want 2 (MaxAttempts)", got)
	}
	srv.ClearFaults()
	if _, err := c.GetWorkspace(ctxT(t)); err != nil {
		t.Errorf("after outage: %v", err)
	}
}

func TestRetryAfterPausesEveryCallerOfTheClient(t *testing.T) {
	first429 := make(chan struct{})
	var once sync.Once
	srv, c := newSandbox(t, sandbox.Options{}, func(cfg *seam.Config) {
		cfg.Observer = func(i seam.RequestInfo) {
			if i.Status == 429 {
				once.Do(func() { close(first429) })
			}
		}
	})
	srv.StartRateLimitStorm(1, "1")
	done := make(chan error, 1)
	go func() { _, err := c.ListSystems(ctxT(t)); done <- err }()
	<-first429

	// A second caller arriving during the pause waits for it instead of
	// sending a request of its own into the limit.
	start := time.Now()
	if _, err := c.GetWorkspace(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 800*time.Millisecond {
		t.Errorf("second caller waited %v, want about 1s", elapsed)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := srv.Counters()["/workspaces/get"]; got[429] != 0 || got[200] != 1 {
		t.Errorf("second caller counters = %v, want a single 200", got)
	}
}

func TestPauseLongerThanBudgetFailsFast(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{}, func(cfg *seam.Config) { cfg.MaxRetryWait = time.Second })
	srv.StartRateLimitStorm(1, "30")
	start := time.Now()
	_, err := c.ListSystems(ctxT(t))
	if d, ok := seam.RetryAfter(err); !errors.Is(err, seam.ErrRateLimited) || !ok || d != 30*time.Second {
		t.Fatalf("err = %v (retry after %v), want ErrRateLimited after 30s", err, d)
	}
	// The next call is not sent at all: the client is paused.
	_, err = c.GetWorkspace(ctxT(t))
	if d, ok := seam.RetryAfter(err); !errors.Is(err, seam.ErrRateLimited) || !ok || d < 25*time.Second {
		t.Fatalf("second call: err = %v (retry after %v)", err, d)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %v, want an immediate failure", time.Since(start))
	}
	if n := srv.Received("/workspaces/get"); n != 0 {
		t.Errorf("paused client sent %d requests", n)
	}
}

// A caller with a wait budget (a reconcile worker, shared by every connection)
// does not wait out a Retry-After longer than it: the 429 comes back at once, and
// the next call is deferred without being sent.
func TestRetryAfterPastTheWaitBudgetIsNotWaitedOut(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{}) // MaxRetryWait: a minute
	srv.StartRateLimitStorm(1, "30")
	ctx := seam.WithWaitBudget(ctxT(t), 2*time.Second)
	_, err := c.ListSystems(ctx)
	if d, ok := seam.RetryAfter(err); !errors.Is(err, seam.ErrRateLimited) || !ok || d != 30*time.Second {
		t.Fatalf("err = %v (retry after %v), want the 429 with its 30 s", err, d)
	}
	if got := srv.Counters()["/acs/systems/list"]; got[429] != 1 || got[200] != 0 {
		t.Errorf("counters = %v, want the one 429 and no retry", got)
	}
	_, err = c.GetWorkspace(ctx)
	if d, ok := seam.RetryAfter(err); !errors.Is(err, seam.ErrDeferred) || errors.Is(err, seam.ErrRateLimited) || !ok || d < 25*time.Second {
		t.Fatalf("second call: err = %v (wait %v), want ErrDeferred for the rest of the pause", err, d)
	}
	if n := srv.Received("/workspaces/get"); n != 0 {
		t.Errorf("the deferred call was sent %d times", n)
	}
	if d := c.Delay(ctx); d < 25*time.Second {
		t.Errorf("Delay = %v, want the rest of the pause", d)
	}
	if err := c.CheckWait(ctx, "/acs/users/create"); !errors.Is(err, seam.ErrDeferred) {
		t.Errorf("CheckWait during the pause = %v, want ErrDeferred", err)
	}
	if err := c.CheckWait(ctxT(t), "/acs/users/create"); err != nil {
		t.Errorf("CheckWait without a wait budget = %v, want nil", err)
	}
}

func TestAPIKeyNeverLeaks(t *testing.T) {
	const key = "seam_sandbox_key_0123456789abcdef" // sandbox.DefaultSeedAPIKey
	var mu sync.Mutex
	var lines []string
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		lines = append(lines, prefix+" "+args)
		mu.Unlock()
	}, funcr.Options{Verbosity: 100, LogCaller: funcr.All, LogTimestamp: true})

	srv, c := newSandbox(t, sandbox.Options{}, func(cfg *seam.Config) {
		cfg.Logger = logger
		cfg.Timeout = 300 * time.Millisecond
		cfg.MaxAttempts = 2
		cfg.MaxRetryWait = time.Second
	})
	ctx := ctxT(t)
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }
	collect(c.GetWorkspace(ctx))
	collect(c.GetUser(ctx, "acs_user_nope"))
	collect(c.CreateUser(ctx, seam.CreateUserRequest{AcsSystemID: hq, FullName: "x", PhoneNumber: "bad"}))
	collect(nil, seam.CallForTest(ctx, c, "/no/such/route", nil))
	srv.DropAfterCommit("/acs/users/create", 1)
	collect(c.CreateUser(ctx, seam.CreateUserRequest{AcsSystemID: hq, FullName: "Dropped"}))
	srv.SetRouteLatency("/acs/users/list", time.Second)
	collect(c.ListUsersPage(ctx, seam.ListUsersRequest{AcsSystemID: hq}))
	srv.ClearFaults()

	// A key the server refuses, and a server that echoes the key in its error.
	bad, _ := seam.New(seam.Config{Endpoint: c.Endpoint(), APIKey: key + "_wrong", Logger: logger})
	collect(bad.ListSystems(ctx))
	echo := httptest.NewServer(echoKeyHandler{})
	defer echo.Close()
	echoing, _ := seam.New(seam.Config{Endpoint: echo.URL, APIKey: key, Logger: logger, MaxAttempts: 1})
	collect(echoing.ListSystems(ctx))

	cfg := seam.Config{Endpoint: c.Endpoint(), APIKey: key, Logger: logger}
	logger.Info("config", "config", cfg, "configPtr", &cfg, "client", c)
	logger.V(10).Info("everything", "client", bad)
	jsonCfg, _ := json.Marshal(cfg)

	var rendered []string
	for _, v := range []any{cfg, &cfg, c, bad} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			rendered = append(rendered, fmt.Sprintf(verb, v))
		}
	}
	rendered = append(rendered, string(jsonCfg))
	for _, err := range errs {
		if err != nil {
			rendered = append(rendered, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	if len(lines) < 8 {
		t.Fatalf("only %d log lines: the logger is not verbose enough to prove anything", len(lines))
	}
	for _, s := range append(lines, rendered...) {
		if strings.Contains(s, key) || strings.Contains(s, "0123456789abcdef") {
			t.Errorf("the API key leaked: %s", s)
		}
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "seamRequestID") }) {
		t.Error("no log line carries seamRequestID")
	}
}

// echoKeyHandler answers 400 with the caller's Authorization header in the message.
type echoKeyHandler struct{}

func (echoKeyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(400)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": map[string]string{
		"type": "invalid_input", "message": "bad token " + r.Header.Get("Authorization"),
	}})
}

func TestListUsersWalksAllPages(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{})
	ctx := ctxT(t)
	const total = 1234
	var wg sync.WaitGroup
	errc := make(chan error, total)
	sem := make(chan struct{}, 8)
	for i := range total {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := c.CreateUser(ctx, seam.CreateUserRequest{AcsSystemID: hq, FullName: fmt.Sprintf("User %04d", i)})
			if err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	srv.ResetCounters()

	seen := map[string]int{}
	for u, err := range c.ListUsers(ctx, seam.ListUsersRequest{AcsSystemID: hq, Limit: 500}) {
		if err != nil {
			t.Fatal(err)
		}
		seen[u.AcsUserID]++
	}
	if len(seen) != total {
		t.Errorf("saw %d distinct users, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("user %s seen %d times", id, n)
		}
	}
	if pages := srv.Counters()["/acs/users/list"][200]; pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}

	// Stopping early stops fetching.
	srv.ResetCounters()
	for range c.ListUsers(ctx, seam.ListUsersRequest{AcsSystemID: hq, Limit: 500}) {
		break
	}
	if pages := srv.Received("/acs/users/list"); pages != 1 {
		t.Errorf("early break fetched %d pages", pages)
	}
}

func TestAsyncWritesShowAsPendingMutations(t *testing.T) {
	const delay = 300 * time.Millisecond
	srv, c := newSandbox(t, sandbox.Options{MutationDelay: delay})
	ctx := ctxT(t)
	u, err := c.CreateUser(ctx, seam.CreateUserRequest{AcsSystemID: hq, FullName: "Async", AccessGroupIDs: []string{"acs_access_group_hq_gym"}})
	if err != nil {
		t.Fatal(err)
	}
	if !u.HasPendingMutation(seam.MutationCreating) {
		t.Errorf("created user pending = %+v, want creating", u.PendingMutations)
	}
	if err := c.UpdateUser(ctx, seam.UpdateUserRequest{AcsUserID: u.AcsUserID, FullName: ptr("Async Renamed")}); err != nil {
		t.Fatal(err)
	}
	if err := c.SuspendUser(ctx, u.AcsUserID); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(ctx, u.AcsUserID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FullName != "Async" || got.IsSuspended {
		t.Errorf("before the delay: name %q suspended %v, want the old values", got.FullName, got.IsSuspended)
	}
	for _, code := range []string{seam.MutationUpdatingUserInformation, seam.MutationUpdatingSuspensionState} {
		if !got.HasPendingMutation(code) {
			t.Errorf("pending = %+v, want %s", got.PendingMutations, code)
		}
	}
	for _, m := range got.PendingMutations {
		if m.MutationCode == seam.MutationUpdatingUserInformation && !strings.Contains(string(m.To), "Async Renamed") {
			t.Errorf("mutation to = %s", m.To)
		}
	}
	if groups, _ := c.ListAccessGroups(ctx, seam.ListAccessGroupsRequest{AcsUserID: u.AcsUserID}); len(groups) != 0 {
		t.Errorf("groups before creation landed: %v", groupIDs(groups))
	}

	srv.SettleMutations() // the sandbox's hook: the delay is over
	got, err = c.GetUser(ctx, u.AcsUserID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FullName != "Async Renamed" || !got.IsSuspended || len(got.PendingMutations) != 0 {
		t.Errorf("after the delay: %+v", got)
	}
	if groups, _ := c.ListAccessGroups(ctx, seam.ListAccessGroupsRequest{AcsUserID: u.AcsUserID}); len(groups) != 1 {
		t.Errorf("groups after creation landed: %v", groupIDs(groups))
	}

	if err := c.DeleteUser(ctx, u.AcsUserID); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetUser(ctx, u.AcsUserID); err != nil || !got.HasPendingMutation(seam.MutationDeleting) {
		t.Errorf("right after delete: %v, %v; want the user with deleting", got, err)
	}
	srv.SettleMutations()
	if _, err := c.GetUser(ctx, u.AcsUserID); !errors.Is(err, seam.ErrNotFound) {
		t.Errorf("after delete landed: %v", err)
	}
}

func TestChangesBehindTheClientsBack(t *testing.T) {
	srv, c := newSandbox(t, sandbox.Options{})
	ctx := ctxT(t)
	u, err := c.CreateUser(ctx, seam.CreateUserRequest{AcsSystemID: hq, FullName: "Original", AccessGroupIDs: []string{"acs_access_group_hq_staff"}})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.UpdateUserOutOfBand(u.AcsUserID, func(s *sandbox.User) {
		s.FullName, s.IsSuspended, s.GroupIDs = "Changed In Console", true, []string{"acs_access_group_hq_gym"}
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(ctx, u.AcsUserID)
	if err != nil || got.FullName != "Changed In Console" || !got.IsSuspended {
		t.Fatalf("after out-of-band change: %+v, %v", got, err)
	}
	groups, err := c.ListAccessGroups(ctx, seam.ListAccessGroupsRequest{AcsUserID: u.AcsUserID})
	if err != nil || !slices.Equal(groupIDs(groups), []string{"acs_access_group_hq_gym"}) {
		t.Errorf("groups = %v, %v", groupIDs(groups), err)
	}
	if err := srv.DeleteUserOutOfBand(u.AcsUserID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, u.AcsUserID); !errors.Is(err, seam.ErrNotFound) {
		t.Errorf("after out-of-band delete: %v", err)
	}
}

func TestLimiterAndObserver(t *testing.T) {
	var mu sync.Mutex
	var infos []seam.RequestInfo
	_, c := newSandbox(t, sandbox.Options{}, func(cfg *seam.Config) {
		cfg.Limiter = rate.NewLimiter(rate.Every(100*time.Millisecond), 1)
		cfg.Observer = func(i seam.RequestInfo) { mu.Lock(); infos = append(infos, i); mu.Unlock() }
	})
	ctx := ctxT(t)
	for range 3 {
		if _, err := c.GetSystem(ctx, hq); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = c.GetUser(ctx, "nope")
	if len(infos) != 4 {
		t.Fatalf("observer saw %d attempts", len(infos))
	}
	if infos[0].Route != "/acs/systems/get" || infos[0].Status != 200 || infos[0].Attempt != 1 || infos[0].Duration <= 0 {
		t.Errorf("first = %+v", infos[0])
	}
	if infos[2].RateLimitWait < 50*time.Millisecond {
		t.Errorf("third call waited %v for the limiter, want ~100ms", infos[2].RateLimitWait)
	}
	if infos[3].Status != 404 || infos[3].Err == nil {
		t.Errorf("last = %+v", infos[3])
	}
}
