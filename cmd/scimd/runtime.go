package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// The cgroup files that hold a container's memory limit: v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memoryHeadroom is the share of a container's memory limit scimd leaves
// outside its Go heap limit: goroutine stacks, the embedded Redis's own
// buffers and what the kernel counts against the cgroup besides the heap.
const memoryHeadroom = 0.10

// cgroupMemoryLimit returns the container's memory limit in bytes, or 0
// when there is none (no cgroup file, "max", or a v1 "unlimited" value
// near MaxInt64).
func cgroupMemoryLimit(files []string) int64 {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}

// parseBytes reads a size such as 512MiB, 1GiB, 300MB or a plain number
// of bytes; "auto" and "" are 0 (derive it).
func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "auto" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 2GiB", v)
	}
	return n * mult, nil
}

// setMemoryLimit gives the Go runtime its soft memory limit (GOMEMLIMIT),
// which Go does not derive from a container's limit by itself: the flag's
// value when given, else 90% of the cgroup's limit when there is one. A
// GOMEMLIMIT in the environment wins over both (the runtime read it at
// start). GOGC stays Go's default. It returns the limit set (0: none) and
// where it came from.
func setMemoryLimit(flagValue int64, getenv func(string) string, files []string) (int64, string) {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT"
	}
	if flagValue > 0 {
		debug.SetMemoryLimit(flagValue)
		return flagValue, "--memory-limit"
	}
	if c := cgroupMemoryLimit(files); c > 0 {
		limit := int64(float64(c) * (1 - memoryHeadroom))
		debug.SetMemoryLimit(limit)
		return limit, "cgroup"
	}
	return 0, ""
}

// checkLoopback refuses a --pprof-addr that is not on a loopback address:
// profiles show request data and cost CPU, so they are for someone on the
// machine, never the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (127.0.0.1, ::1 or localhost): profiles are served to this machine only", addr)
	}
	return nil
}

// servePprof serves net/http/pprof's handlers on ln until it is closed.
func servePprof(ln net.Listener, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof listener stopped", "err", err)
		}
	}()
	return srv
}
