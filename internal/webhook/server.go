package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// Server serves a Receiver on its own port, as a manager Runnable. It runs only
// on the leader: the controllers an event wakes run only there, and a replica
// that is not the leader refuses the connection, so Svix retries (and the
// leader's catch-up reads what was missed).
type Server struct {
	// BindAddress is where to listen, e.g. ":9443"; ignored when Listener is set.
	BindAddress string
	Listener    net.Listener
	// CertDir, when set, holds tls.crt and tls.key: the receiver then serves HTTPS.
	CertDir  string
	Receiver http.Handler
	// Ready is closed once the server listens; Addr is then its address.
	Ready chan struct{}
	Addr  net.Addr
}

// NeedLeaderElection: see Server.
func (s *Server) NeedLeaderElection() bool { return true }

// Start listens until ctx ends.
func (s *Server) Start(ctx context.Context) error {
	ln := s.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.BindAddress); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	mux.Handle(PathPrefix, s.Receiver)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// HTTP/1.1 only: see the manager's --enable-http2 (CVE-2023-44487).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	s.Addr = ln.Addr()
	if s.Ready != nil {
		close(s.Ready)
	}
	errc := make(chan error, 1)
	go func() {
		if s.CertDir != "" {
			errc <- srv.ServeTLS(ln, filepath.Join(s.CertDir, "tls.crt"), filepath.Join(s.CertDir, "tls.key"))
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}
