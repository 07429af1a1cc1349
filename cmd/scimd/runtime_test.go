package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2, v1 := file("memory.max", "536870912\n"), file("limit_in_bytes", "1073741824\n")
	for _, tc := range []struct {
		name  string
		files []string
		want  int64
	}{
		{"v2", []string{v2, v1}, 512 << 20},
		{"v1 when no v2", []string{filepath.Join(dir, "none"), v1}, 1 << 30},
		{"v2 max is none", []string{file("max", "max\n"), v1}, 0},
		{"v1 unlimited is none", []string{file("unl", "9223372036854771712\n")}, 0},
		{"garbage", []string{file("bad", "lots\n")}, 0},
		{"no files", []string{filepath.Join(dir, "none")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cgroupMemoryLimit(tc.files); got != tc.want {
				t.Errorf("cgroupMemoryLimit = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestSetMemoryLimit: GOMEMLIMIT wins, then the flag, then 90% of the
// cgroup's limit; with none of them the runtime's limit is left alone.
func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	dir := t.TempDir()
	cg := filepath.Join(dir, "memory.max")
	if err := os.WriteFile(cg, []byte("1000000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	withEnv := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "123MiB"
		}
		return ""
	}
	for _, tc := range []struct {
		name     string
		flag     int64
		getenv   func(string) string
		files    []string
		want     int64
		wantFrom string
	}{
		{"cgroup", 0, noEnv, []string{cg}, 900000000, "cgroup"},
		{"flag over cgroup", 256 << 20, noEnv, []string{cg}, 256 << 20, "--memory-limit"},
		{"none", 0, noEnv, []string{filepath.Join(dir, "none")}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(prev)
			got, from := setMemoryLimit(tc.flag, tc.getenv, tc.files)
			if got != tc.want || from != tc.wantFrom {
				t.Errorf("setMemoryLimit = %d from %q, want %d from %q", got, from, tc.want, tc.wantFrom)
			}
			if tc.want > 0 && debug.SetMemoryLimit(-1) != tc.want {
				t.Errorf("runtime limit %d, want %d", debug.SetMemoryLimit(-1), tc.want)
			}
		})
	}
	t.Run("GOMEMLIMIT wins", func(t *testing.T) {
		debug.SetMemoryLimit(123 << 20) // what the runtime read from GOMEMLIMIT
		got, from := setMemoryLimit(256<<20, withEnv, []string{cg})
		if got != 123<<20 || from != "GOMEMLIMIT" || debug.SetMemoryLimit(-1) != 123<<20 {
			t.Errorf("setMemoryLimit = %d from %q, want the runtime's GOMEMLIMIT kept", got, from)
		}
	})
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"auto", 0, true}, {"", 0, true}, {"512MiB", 512 << 20, true}, {"2GiB", 2 << 30, true},
		{"300MB", 300e6, true}, {"1048576", 1 << 20, true}, {"0", 0, false}, {"-1MiB", 0, false}, {"lots", 0, false},
	} {
		got, err := parseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestPprofAddr: --pprof-addr takes loopback addresses only, and serves
// the profiles there.
func TestPprofAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "[::]:6060", "example.com:6060", "127.0.0.1"} {
		if _, err := parseServeEnv([]string{"--pprof-addr", addr}, io.Discard, func(string) (string, bool) { return "", false }); err == nil {
			t.Errorf("--pprof-addr %s accepted", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:6060", "localhost:6060"} {
		if _, err := parseServeEnv([]string{"--pprof-addr", addr}, io.Discard, func(string) (string, bool) { return "", false }); err != nil {
			t.Errorf("--pprof-addr %s refused: %v", addr, err)
		}
	}
	cfg, err := parseServeEnv([]string{"--addr", "127.0.0.1:0", "--operator-token", testOperatorToken, "--pprof-addr", "127.0.0.1:0"}, io.Discard, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	m, err := start(cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		m.close()
		_ = m.app.Shutdown()
	}()
	_, after, ok := strings.Cut(logs.String(), `msg="pprof listening" addr=`)
	if !ok {
		t.Fatalf("no pprof address logged: %s", logs.String())
	}
	addr := strings.Fields(after)[0]
	res, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.Contains(string(body), "goroutine") {
		t.Errorf("pprof answered %d: %.200s", res.StatusCode, body)
	}
}
