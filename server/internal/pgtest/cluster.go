package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EnvBin names the environment variable with the folder of PostgreSQL's programs
// (initdb, postgres); unset, Debian's /usr/lib/postgresql/<newest>/bin, then pg_config's.
const EnvBin = "PARLEY_PG_BIN"

// startWait bounds how long a started server may take to accept connections.
const startWait = 60 * time.Second

// cluster is a PostgreSQL cluster of this process: a data folder in a temporary
// folder and the postgres process serving it on 127.0.0.1. The process runs as the
// postgres user when this one is root (PostgreSQL refuses root) and gets SIGINT (fast
// shutdown) if this process dies without stopping it.
type cluster struct {
	dir  string // the temporary folder: data/, the socket, postgres.log
	bin  string
	port int
	cred *syscall.Credential // nil: run as this user
	proc *exec.Cmd
	done chan struct{} // closed when proc has exited
}

func newCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user (apt-get install postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if c.dir, err = os.MkdirTemp("", "parley-pgtest-"); err != nil {
		return nil, fmt.Errorf("temporary folder: %w", err)
	}
	if err := c.prepare(); err != nil {
		_ = os.RemoveAll(c.dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			_ = os.RemoveAll(c.dir)
			return nil, err
		}
		err = c.start()
		if err == nil {
			return c, nil
		}
		// Another process may have taken the port between its test and the start.
		if attempt == 2 || !strings.Contains(err.Error(), "already in use") {
			_ = os.RemoveAll(c.dir)
			return nil, err
		}
	}
}

// binDir finds the folder of initdb and postgres.
func binDir() (string, error) {
	if d := os.Getenv(EnvBin); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb not found in /usr/lib/postgresql/*/bin, pg_config --bindir or PATH: install Debian's postgresql package or set " + EnvBin + " (or " + EnvDSN + ")")
}

// version answers the major version in a /usr/lib/postgresql/<v>/bin path.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// prepare makes the folders reachable by the server's user and runs initdb.
func (c *cluster) prepare() error {
	for d := filepath.Dir(c.dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if c.cred != nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the postgres user cannot reach %s (no o+x on %s): set TMPDIR to a folder it can reach", c.dir, d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := os.Chmod(c.dir, 0o711); err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	if c.cred != nil {
		for _, p := range []string{c.dir, data} {
			if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return fmt.Errorf("chown %s to postgres: %w", p, err)
			}
		}
	}
	cmd := exec.Command(filepath.Join(c.bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir = c.dir
	cmd.SysProcAttr = procAttr(c.cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, tail(string(out), 10))
	}
	return nil
}

// freePort answers a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (c *cluster) dsn() *url.URL {
	return &url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path: "/postgres", RawQuery: "sslmode=disable"}
}

func (c *cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// start runs postgres and waits until it accepts connections. Durability is off
// (fsync, full pages): a test's cluster is thrown away, and it is several times faster.
func (c *cluster) start() error {
	logf, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), "-D", filepath.Join(c.dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(c.port),
		"-c", "unix_socket_directories="+c.dir, "-c", "max_connections=300",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr(c.cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c.proc, c.done = cmd, done

	db, err := sql.Open("pgx", c.dsn().String())
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(startWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			c.proc = nil
			return fmt.Errorf("postgres exited: %s", c.log())
		default:
		}
		if time.Now().After(deadline) {
			_ = c.stop()
			return fmt.Errorf("postgres not accepting connections after %v: %v: %s", startWait, err, c.log())
		}
		time.Sleep(50 * time.Millisecond) // polling: the server announces its start nowhere else
	}
}

func (c *cluster) log() string {
	b, _ := os.ReadFile(c.logPath())
	return tail(string(b), 10)
}

// stop asks postgres for a fast shutdown and waits for it; after startWait it kills it.
func (c *cluster) stop() error {
	if c.proc == nil {
		return nil
	}
	proc, done := c.proc, c.done
	c.proc = nil
	if err := proc.Process.Signal(syscall.SIGINT); err != nil {
		return fmt.Errorf("signal postgres: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(startWait):
		_ = proc.Process.Kill()
		<-done
		return fmt.Errorf("postgres ignored SIGINT for %v: killed", startWait)
	}
}

// remove stops the server and deletes its folder.
func (c *cluster) remove() error {
	err := c.stop()
	return errors.Join(err, os.RemoveAll(c.dir))
}
