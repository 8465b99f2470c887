package ui

import (
	"context"
	"errors"
	"fmt"
	stdnet "net"
	"net/http"
	"time"

	"github.com/parleychat/parley/server"
)

// DefaultListen is where the embedded server listens unless told otherwise.
const DefaultListen = "127.0.0.1:8787"

// clientURL is the http URL a client on this machine uses for a listen address.
func clientURL(listen string) string {
	host, port, err := stdnet.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if ip := stdnet.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + stdnet.JoinHostPort(host, port)
}

// isLoopback reports whether host (a name or an IP) is this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := stdnet.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// probeParley reports whether a Parley server answers GET /healthz at base.
func probeParley(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// embeddedServer is the chat server the app runs in-process when it hosts.
type embeddedServer struct {
	srv  *server.Server
	done chan error
}

// startServer starts the server package on listen with its data in dataDir.
func startServer(listen, dataDir string) (*embeddedServer, error) {
	srv, err := server.New(server.Config{Listen: listen, DataDir: dataDir})
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	ln, err := stdnet.Listen("tcp", listen)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return nil, fmt.Errorf("listen on %s: %w", listen, err)
	}
	e := &embeddedServer{srv: srv, done: make(chan error, 1)}
	go func() { e.done <- srv.Serve(ln) }()
	return e, nil
}

// stop shuts the server down, waiting up to 5 s for its connections.
func (e *embeddedServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.srv.Shutdown(ctx)
	if serr := <-e.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
