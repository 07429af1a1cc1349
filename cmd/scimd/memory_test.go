package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memoryCeiling is the most resident memory scimd may reach under
// TestMemoryUnderAttack, with its default limits.
const memoryCeiling = 256 << 20

// TestMemoryUnderAttack runs scimd as a process of its own, built without
// -race (which inflates memory), with its default limits, and sends it at
// once the worst bodies issue 11 found: anonymous 31 MiB POSTs, gzip bombs
// (single and stacked) on the SCIM and admin APIs, authenticated bodies at
// the limit, and hundreds of idle connections from several addresses. Its
// peak resident memory (VmHWM) must stay under memoryCeiling and /healthz
// must answer 200 throughout. SCIMD_MEMORY_BINARY runs a prebuilt binary
// instead (to measure another version); SCIMD_MEMORY_ATTACKS names the
// attacks to send (anonymous, bombs, creates, idle; default all), to
// measure one alone.
func TestMemoryUnderAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and attacks a scimd process")
	}
	bin := os.Getenv("SCIMD_MEMORY_BINARY")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "scimd")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	addr := freeAddr(t)
	const operator = "memory-test-operator-token-0123456789"
	var log syncBuffer
	cmd := exec.Command(bin, "serve", "--addr", addr, "--operator-token", operator, "--log-level", "error")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	base := "http://" + addr
	client := &http.Client{Timeout: 30 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if res, err := client.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("scimd exited at start; its output:\n%s", &log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("scimd not ready after 60s; its output:\n%s", &log)
		}
		time.Sleep(50 * time.Millisecond) // waiting for a process to start, not synchronising goroutines
	}

	var tn struct{ ID, SCIMToken, AdminToken string }
	res, err := send(client, http.MethodPost, base+"/admin/v1/tenants", operator, `{"id":"memory","name":"Memory","licenseLimit":1000}`, nil)
	if err != nil || res.status != http.StatusCreated {
		t.Fatalf("tenant: %v %d %s", err, res.status, res.body)
	}
	if err := json.Unmarshal(res.body, &tn); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ { // warm up: code paths, pools, the store
		if _, err := send(client, http.MethodPost, base+"/scim/v2/memory/Users", tn.SCIMToken, memoryUser(fmt.Sprint("warm", i), 100), nil); err != nil {
			t.Fatal(err)
		}
	}
	baseline := procStatus(t, cmd.Process.Pid, "VmRSS")

	// Each attack comes from its own loopback address, as separate
	// clients would: the per-address cap applies to each.
	from := func(i int) *net.Dialer {
		return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))}, Timeout: 10 * time.Second}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]map[int]int{}
	count := func(attack string, status int) {
		mu.Lock()
		defer mu.Unlock()
		if statuses[attack] == nil {
			statuses[attack] = map[int]int{}
		}
		statuses[attack][status]++
	}
	attack := func(name string, n int, fn func(i int) int) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				count(name, fn(i))
			}(i)
		}
	}

	on := func(name string) bool {
		v := os.Getenv("SCIMD_MEMORY_ATTACKS")
		return v == "" || strings.Contains(","+v+",", ","+name+",")
	}
	n := func(name string, count int) int {
		if on(name) {
			return count
		}
		return 0
	}
	// 32 anonymous POSTs announcing and sending 31 MiB each.
	attack("anonymous 31 MiB POST", n("anonymous", 32), func(i int) int {
		return rawPost(from(0), addr, "/scim/v2/memory/Users", "", "", 31<<20)
	})
	// gzip bombs: 32 MiB of JSON in ~32 KB, once and stacked, authenticated.
	inner := gzipOf(t, []byte(memoryUser("bomb", 32<<20)))
	stacked := gzipOf(t, inner)
	account := gzipOf(t, []byte(`{"name":"`+strings.Repeat("n", 32<<20)+`"}`))
	attack("gzip bomb", n("bombs", 12), func(i int) int {
		c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: from(1).DialContext}}
		body, enc, path, token := inner, "gzip", "/scim/v2/memory/Users", tn.SCIMToken
		switch i % 3 {
		case 1:
			body, enc = stacked, "gzip, gzip"
		case 2:
			body, path, token = account, "/admin/v1/tenants/memory/accounts/bomb", tn.AdminToken
		}
		method := http.MethodPost
		if i%3 == 2 {
			method = http.MethodPut
		}
		r, err := send(c, method, base+path, token, string(body), map[string]string{"Content-Encoding": enc, "Content-Type": "application/scim+json"})
		if err != nil {
			return -1
		}
		return r.status
	})
	// Authenticated creates at the 1 MiB body limit, 16 at a time.
	attack("1 MiB create", n("creates", 16), func(i int) int {
		c := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: from(2).DialContext}}
		last := 0
		for round := 0; round < 4; round++ {
			r, err := send(c, http.MethodPost, base+"/scim/v2/memory/Users", tn.SCIMToken, memoryUser(fmt.Sprintf("big%d-%d", i, round), 1<<20-400), nil)
			if err != nil {
				return -1
			}
			last = r.status
		}
		return last
	})
	// Idle connections: 150 from each of six addresses (past the cap of 128
	// per address), held until the attack ends.
	release := make(chan struct{})
	var held sync.WaitGroup
	for a := 3; a < 9; a++ {
		for i := 0; i < n("idle", 150); i++ {
			held.Add(1)
			go func(d *net.Dialer) {
				defer held.Done()
				c, err := d.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer c.Close()
				<-release
			}(from(a))
		}
	}

	// /healthz answers throughout, on its own address.
	done := make(chan struct{})
	health := make(chan []int, 1)
	go func() {
		var bad []int
		c := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-done:
				health <- bad
				return
			default:
			}
			r, err := c.Get(base + "/healthz")
			switch {
			case err != nil:
				bad = append(bad, -1)
			case r.StatusCode != http.StatusOK:
				bad = append(bad, r.StatusCode)
			}
			if err == nil {
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
		}
	}()
	wg.Wait()
	close(release)
	held.Wait()
	close(done)
	badHealth := <-health

	peak := procStatus(t, cmd.Process.Pid, "VmHWM")
	t.Logf("scimd RSS: %d MiB at rest, %d MiB at peak (ceiling %d MiB); answers: %v", baseline>>20, peak>>20, memoryCeiling>>20, statuses)
	if len(badHealth) > 0 {
		t.Errorf("/healthz failed %d times under attack: %v", len(badHealth), badHealth[:min(len(badHealth), 10)])
	}
	if peak > memoryCeiling {
		t.Errorf("peak RSS %d MiB, over the %d MiB ceiling", peak>>20, memoryCeiling>>20)
	}
	for status := range statuses["gzip bomb"] {
		if status != http.StatusUnsupportedMediaType {
			t.Errorf("gzip bombs answered %v, want 415 only", statuses["gzip bomb"])
			break
		}
	}
	if _, err := send(client, http.MethodGet, base+"/healthz", "", "", nil); err != nil {
		t.Errorf("/healthz after the attack: %v", err)
	}
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// procStatus reads a size field (kB) of /proc/PID/status, in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func memoryUser(name string, pad int) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + name + `@x","displayName":"` + strings.Repeat("d", pad) + `"}`
}

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type memoryReply struct {
	status int
	body   []byte
}

func send(c *http.Client, method, url, token, body string, headers map[string]string) (memoryReply, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return memoryReply{}, err
	}
	req.Header.Set("Content-Type", "application/scim+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return memoryReply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return memoryReply{resp.StatusCode, raw}, err
}

// rawPost announces a body of size bytes and writes it, as fast as the
// server takes it, until the server answers or hangs up; it returns the
// status (0: no answer).
func rawPost(d *net.Dialer, addr, path, token, contentType string, size int) int {
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return -1
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	if contentType == "" {
		contentType = "application/scim+json"
	}
	go func() {
		if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: scimd\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, auth, contentType, size); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := conn.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
