// Command kubectl-acs is a kubectl plugin for the acs-operator (kubectl acs ...).
// Install it with `go install ./cmd/kubectl-acs`; kubectl finds it on the PATH.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/acs-operator/acs-operator/internal/importer"
)

const usage = `kubectl acs: tools for the acs-operator.

Commands:
  import   print AcsUser manifests that adopt the existing users of an ACS system
           (kubectl acs import --help)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 || os.Args[1] != "import" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	err := importer.Run(ctx, os.Args[2:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubectl acs import:", err)
		os.Exit(1)
	}
}
