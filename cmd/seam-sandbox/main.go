// Command seam-sandbox serves the in-repo Seam Connect sandbox
// (internal/seam/sandbox) for demos, benchmarks and manual testing.
//
//	go run ./cmd/seam-sandbox --addr 127.0.0.1:8080 --mutation-delay 2s
//	curl -X POST -H 'Authorization: Bearer <key>' http://127.0.0.1:8080/acs/users/list \
//	     -d '{"acs_system_id":"acs_system_hq"}'
//
// The admin routes under /_sandbox/ need no auth, so keep --addr on loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/acs-operator/acs-operator/internal/seam/sandbox"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		log.Fatalf("seam-sandbox: %v", err)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("seam-sandbox", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (admin routes are unauthenticated: keep it on loopback)")
	seedPath := fs.String("seed", "", "seed file (YAML or JSON); default: the built-in demo seed")
	mutationDelay := fs.Duration("mutation-delay", 0, "delay before writes are applied (0 = synchronous)")
	rateLimit := fs.Float64("rate-limit", 0, "server-side rate limit of each API key, in requests per second (0 = none)")
	rateLimitBurst := fs.Int("rate-limit-burst", 0, "requests the server-side limit lets through at once (0 = one second's worth of --rate-limit)")
	latency := fs.Duration("latency", 0, "latency added to every API call")
	if err := fs.Parse(args); err != nil {
		return err
	}

	seed := sandbox.DefaultSeed()
	if *seedPath != "" {
		var err error
		if seed, err = sandbox.LoadSeed(*seedPath); err != nil {
			return err
		}
	}
	srv := sandbox.New(seed, sandbox.Options{MutationDelay: *mutationDelay, RateLimit: *rateLimit, RateLimitBurst: *rateLimitBurst, Latency: *latency})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	printSeed(out, seed, ln.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "seam-sandbox: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printSeed says what the sandbox holds. API keys are shown by prefix only;
// the full demo key is in sandbox.DefaultSeedAPIKey and the seed file.
func printSeed(out io.Writer, seed sandbox.Seed, addr string) {
	fmt.Fprintf(out, "seam-sandbox listening on http://%s (admin: /_sandbox/state, /_sandbox/counters, /_sandbox/faults)\n", addr)
	for _, w := range seed.Workspaces {
		fmt.Fprintf(out, "workspace %s %q\n", w.ID, w.Name)
	}
	if len(seed.APIKeys) == 1 && seed.APIKeys[0].Key == sandbox.DefaultSeedAPIKey {
		fmt.Fprintln(out, "(demo seed: the key is sandbox.DefaultSeedAPIKey in internal/seam/sandbox/seed.go)")
	}
	for _, k := range seed.APIKeys {
		scope := "workspace " + k.WorkspaceID
		if k.WorkspaceID == "" {
			scope = "personal access token (send seam-workspace)"
		}
		fmt.Fprintf(out, "api key %s (%s)\n", sandbox.KeyPrefix(k.Key), scope)
	}
	for _, s := range seed.Systems {
		fmt.Fprintf(out, "acs system %s %q in %s\n", s.ID, s.Name, s.WorkspaceID)
		for _, g := range seed.AccessGroups {
			if g.SystemID == s.ID {
				fmt.Fprintf(out, "  access group %s %q\n", g.ID, g.Name)
			}
		}
	}
	for _, u := range seed.UserIdentities {
		fmt.Fprintf(out, "user identity %s %q\n", u.ID, u.FullName)
	}
}
