// Package redistest starts redis-server processes of a test's own on free
// loopback ports: a test can kill, restart or fail them over without
// touching the Redis other packages share. Every process is stopped by PID
// when the test ends.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server (or sentinel) process.
type Server struct {
	t      testing.TB
	Port   int
	Dir    string
	args   []string
	cmd    *exec.Cmd
	killed bool // by Kill, since the last start
}

// Binary returns redis-server's path. Without one the test is skipped, or
// failed under CI, where .ci/run installs it.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is not installed: %v", err)
		}
		t.Skipf("redis-server is not installed: %v", err)
	}
	return bin
}

// Subdir makes directory name in t's temporary directory, for one server's
// files.
func Subdir(t testing.TB, name string) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// FreePort returns a loopback port nobody listened on a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs redis-server on 127.0.0.1:port (a free port when 0) with its
// files in dir and no RDB snapshots, plus args, and waits until it accepts
// connections.
func Start(t testing.TB, port int, dir string, args ...string) *Server {
	t.Helper()
	if port == 0 {
		port = FreePort(t)
	}
	all := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--dir", dir}, args...)
	s := &Server{t: t, Port: port, Dir: dir, args: all}
	s.run()
	return s
}

// StartSentinel runs a sentinel on a free port that watches the master
// named name at masterAddr, declares it down after one second without an
// answer, and needs quorum sentinels to agree.
func StartSentinel(t testing.TB, dir, name, masterAddr string, quorum int) *Server {
	t.Helper()
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		t.Fatal(err)
	}
	p := FreePort(t)
	// A sentinel rewrites its config file as it learns the topology, so
	// each gets its own.
	conf := filepath.Join(dir, fmt.Sprintf("sentinel-%d.conf", p))
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
		"sentinel monitor %s %s %s %d\n"+
		"sentinel down-after-milliseconds %s 1000\n"+
		"sentinel failover-timeout %s 10000\n"+
		"sentinel parallel-syncs %s 1\n", p, dir, name, host, port, quorum, name, name, name)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, Port: p, Dir: dir, args: []string{conf, "--sentinel"}}
	s.run()
	return s
}

func (s *Server) run() {
	s.t.Helper()
	cmd := exec.Command(Binary(s.t), s.args...)
	cmd.Stdout, cmd.Stderr = nil, nil // its log is not ours to read
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.killed = cmd, false
	s.t.Cleanup(s.Kill)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %d did not start: %v", s.Port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// URL is the server's database 0 as a redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Kill stops the process the hard way, as a crash would. Safe to call twice.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil || s.killed {
		return
	}
	s.killed = true
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = s.cmd.Process.Wait()
}

// Restart starts the same server again, on the same port and files, after
// Kill.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.run()
}
