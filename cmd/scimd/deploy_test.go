package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/scimd/scimd/storage/redistest"
)

// The deployment test runs the example deployment (cmd/scimd/deploy/
// compose.yaml with the Dockerfile) as processes: Redis with the command
// compose gives it, and each scimd service as a separate OS process running
// the Dockerfile's entrypoint and command with the environment the
// Dockerfile and compose set. No container engine runs here or in CI, so
// the images themselves are not built; what is checked is that the settings
// we ship work together (the variables scimd reads, the Redis options, the
// ports), and that two scimd processes on one Redis behave as one server.
//
// The processes are this test binary: started with runAsScimd set, it runs
// main() instead of the tests (TestMain), so it is scimd built from this very
// code, with the race detector when the tests have it.

const runAsScimd = "SCIMD_TEST_RUN_MAIN"

const (
	composeFile = "deploy/compose.yaml"
	dockerfile  = "../../Dockerfile"
)

type compose struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

// image is what the Dockerfile's last stage sets for the running container.
type image struct {
	env         map[string]string
	entrypoint  []string
	cmd         []string
	healthcheck []string // HEALTHCHECK's CMD
}

func readDockerfile(t *testing.T) image {
	t.Helper()
	raw, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var img image
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM": // a new stage: only the last one runs
			img = image{env: map[string]string{}}
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %q: use the KEY=value form", rest)
				}
				img.env[k] = strings.Trim(v, `"`)
			}
		case "HEALTHCHECK":
			// Options (--interval=30s ...), then CMD and its exec form.
			_, argv, ok := strings.Cut(rest, "CMD ")
			if err := json.Unmarshal([]byte(argv), &img.healthcheck); !ok || err != nil {
				t.Fatalf("Dockerfile: HEALTHCHECK %s: want CMD in the exec (JSON array) form: %v", rest, err)
			}
		case "ENTRYPOINT", "CMD":
			var argv []string
			if err := json.Unmarshal([]byte(rest), &argv); err != nil {
				t.Fatalf("Dockerfile: %s %s: use the exec (JSON array) form: %v", instr, rest, err)
			}
			if strings.EqualFold(instr, "CMD") {
				img.cmd = argv
			} else {
				img.entrypoint = argv
			}
		}
	}
	if len(img.entrypoint) == 0 || filepath.Base(img.entrypoint[0]) != "scimd" {
		t.Fatalf("Dockerfile: the entrypoint %q is not scimd", img.entrypoint)
	}
	if len(img.healthcheck) == 0 || img.healthcheck[0] != img.entrypoint[0] {
		t.Fatalf("Dockerfile: the HEALTHCHECK %q does not run scimd (distroless has no shell or curl)", img.healthcheck)
	}
	return img
}

func readCompose(t *testing.T) compose {
	t.Helper()
	raw, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return c
}

// interpolate expands ${VAR}, ${VAR:-default} and ${VAR:?message} in s the
// way compose does, from vars.
func interpolate(s string, vars map[string]string) (string, error) {
	var errs []error
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		g := interpolation.FindStringSubmatch(m)
		name, op, arg := g[1], g[2], g[3]
		v, ok := vars[name]
		switch {
		case ok && v != "":
			return v
		case op == ":-":
			return arg
		case op == ":?":
			errs = append(errs, fmt.Errorf("%s: %s", name, arg))
		}
		return v
	})
	return out, errors.Join(errs...)
}

// tenantToken matches the tokens provision makes: scimd_<kind>_<43 base64url>.
var tenantToken = regexp.MustCompile(`scimd_[a-z]+_[A-Za-z0-9_-]{43}`)

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}`)

func TestInterpolate(t *testing.T) {
	vars := map[string]string{"SET": "value", "EMPTY": ""}
	for _, tc := range []struct {
		in, want string
		fails    bool
	}{
		{in: "${SET}", want: "value"},
		{in: "a ${SET:-d} b", want: "a value b"},
		{in: "${UNSET:-http://x:8081}", want: "http://x:8081"},
		{in: "${EMPTY:-d}", want: "d"},
		{in: "${UNSET}", want: ""},
		{in: "${UNSET:?set UNSET}", fails: true},
		{in: "${EMPTY:?set EMPTY}", fails: true},
		{in: "${SET:?set SET}", want: "value"},
		{in: "plain", want: "plain"},
	} {
		got, err := interpolate(tc.in, vars)
		if (err != nil) != tc.fails || (!tc.fails && got != tc.want) {
			t.Errorf("interpolate(%q) = %q, %v; want %q, fails %v", tc.in, got, err, tc.want, tc.fails)
		}
	}
}

// scimdProcess is one scimd service running as a process of its own.
type scimdProcess struct {
	replica
	args, env []string
	addr      string // 127.0.0.1:port, kept across restarts
	cmd       *exec.Cmd
	log       *syncBuffer
	exited    chan struct{}
}

// syncBuffer collects a process's output; the process writes while tests read.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the process and waits until /readyz answers 200.
func (p *scimdProcess) start(t *testing.T) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, p.args...)
	cmd.Env = processEnv(t, p.env)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := p.client.Get(p.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited at start (%v); its output:\n%s", p.name, cmd.ProcessState, p.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 30s (%v); its output:\n%s", p.name, err, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processEnv is what a container would have: the image's and compose's
// variables, not this test's environment (REDIS_URL, SCIMD_*...). Under
// go test -cover a coverage directory too, or the binary warns on stderr
// at exit that it has none, in the middle of the JSON log.
func processEnv(t *testing.T, env []string) []string {
	return append([]string{runAsScimd + "=1", "PATH=" + os.Getenv("PATH"), "GOCOVERDIR=" + t.TempDir()}, env...)
}

// running reports whether the process was started and has not exited.
func (p *scimdProcess) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, as the container runtime does, and returns the exit
// code; it kills the process if it has not exited within 30 s.
func (p *scimdProcess) stop(t *testing.T) int {
	t.Helper()
	if p.cmd == nil {
		return -1
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s did not stop within 30s of SIGTERM; its output:\n%s", p.name, p.log)
	}
	p.client.CloseIdleConnections()
	return p.cmd.ProcessState.ExitCode()
}

// deployment is the example deployment, running.
type deployment struct {
	img    image
	redis  *redistest.Server
	scimd  []*scimdProcess // in service-name order
	tokens []string        // secrets that must never reach a log
}

// startDeployment starts every service of compose.yaml on loopback ports,
// dependencies first.
func startDeployment(t *testing.T) *deployment {
	t.Helper()
	img, c := readDockerfile(t), readCompose(t)
	vars := map[string]string{"SCIMD_OPERATOR_TOKEN": replicaOperatorToken}
	d := &deployment{img: img, tokens: []string{replicaOperatorToken}}

	redisService := ""
	var names []string
	for name, s := range c.Services {
		switch {
		case len(s.Command) > 0 && s.Command[0] == "redis-server":
			if redisService != "" {
				t.Fatalf("compose: two Redis services, %s and %s", redisService, name)
			}
			redisService = name
		case s.Build != nil:
			names = append(names, name)
		default:
			t.Fatalf("compose: service %s is neither redis-server nor built from the Dockerfile", name)
		}
	}
	sort.Strings(names)
	if redisService == "" || len(names) < 2 {
		t.Fatalf("compose: want one Redis and at least two scimd services, got %q and %q", redisService, names)
	}
	// The Redis container listens on its default port; here, on a free one.
	d.redis = redistest.Start(t, 0, t.TempDir(), c.Services[redisService].Command[1:]...)

	for _, name := range names {
		s := c.Services[name]
		if filepath.Base(s.Build.Dockerfile) != "Dockerfile" {
			t.Fatalf("compose: %s is built from %q, not the Dockerfile this test reads", name, s.Build.Dockerfile)
		}
		if s.DependsOn[redisService].Condition != "service_healthy" {
			t.Errorf("compose: %s should wait for %s to be healthy", name, redisService)
		}
		env := map[string]string{}
		for k, v := range img.env {
			env[k] = v
		}
		for k, v := range s.Environment {
			x, err := interpolate(v, vars)
			if err != nil {
				t.Fatalf("compose: %s: %v", name, err)
			}
			env[k] = x
		}
		// The address the container listens on must be the one its port
		// mapping publishes, on the host's loopback only.
		_, listenPort, err := net.SplitHostPort(env["SCIMD_ADDR"])
		if err != nil {
			t.Fatalf("%s: SCIMD_ADDR %q: %v", name, env["SCIMD_ADDR"], err)
		}
		if len(s.Ports) != 1 || !strings.HasPrefix(s.Ports[0], "127.0.0.1:") || !strings.HasSuffix(s.Ports[0], ":"+listenPort) {
			t.Errorf("compose: %s publishes %q; want 127.0.0.1:<host port>:%s", name, s.Ports, listenPort)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t))
		env["SCIMD_ADDR"] = addr
		// The Redis URL names the Redis service; here it is on loopback.
		u, err := neturl.Parse(env["SCIMD_REDIS_URL"])
		if err != nil || u.Hostname() != redisService || (u.Port() != "" && u.Port() != "6379") {
			t.Fatalf("compose: %s: SCIMD_REDIS_URL %q does not point at service %s (%v)", name, env["SCIMD_REDIS_URL"], redisService, err)
		}
		u.Host = d.redis.Addr()
		env["SCIMD_REDIS_URL"] = u.String()

		args := append(append([]string{}, img.entrypoint[1:]...), img.cmd...)
		if len(s.Command) > 0 {
			args = append(append([]string{}, img.entrypoint[1:]...), s.Command...)
		}
		var envList []string
		for k, v := range env {
			envList = append(envList, k+"="+v)
		}
		sort.Strings(envList)
		p := &scimdProcess{
			replica: replica{name: name, base: "http://" + addr, client: &http.Client{Transport: &http.Transport{}, Timeout: time.Minute}},
			args:    args, env: envList, addr: addr, log: &syncBuffer{},
		}
		t.Cleanup(func() {
			if p.running() {
				if code := p.stop(t); code != 0 {
					t.Errorf("%s exited with %d at the end; its output:\n%s", name, code, p.log)
				}
			}
		})
		p.start(t)
		d.scimd = append(d.scimd, p)
	}
	return d
}

// TestDeployment: the example deployment's two scimd processes share one
// Redis: a user made through one is read, patched and deleted through the
// other, uniqueness and the license limit hold across both under concurrent
// load, and a rolling restart loses no acknowledged write.
func TestDeployment(t *testing.T) {
	d := startDeployment(t)
	a, b := d.scimd[0], d.scimd[1]

	t.Run("redis settings", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: d.redis.Addr()})
		defer rdb.Close()
		for param, want := range map[string]string{"appendonly": "yes", "maxmemory-policy": "noeviction", "appendfsync": "everysec"} {
			got, err := rdb.ConfigGet(t.Context(), param).Result()
			if err != nil || got[param] != want {
				t.Errorf("the compose Redis has %s = %q (%v), want %q", param, got[param], err, want)
			}
		}
	})
	t.Run("healthcheck", func(t *testing.T) {
		// The image's HEALTHCHECK, run beside each replica with its
		// environment, as the container runtime runs it inside.
		for _, p := range d.scimd {
			if code, out := d.healthcheck(t, p); code != 0 {
				t.Errorf("%s: HEALTHCHECK exited %d: %s", p.name, code, out)
			}
		}
	})
	t.Run("shared users", func(t *testing.T) { testSharedUsers(t, a.replica, b.replica) })
	t.Run("uniqueness", func(t *testing.T) { testUniqueness(t, a.replica, b.replica) })
	t.Run("license", func(t *testing.T) { testLicense(t, a.replica, b.replica) })
	t.Run("rolling restart", func(t *testing.T) { testRollingRestart(t, d, a, b) })
	t.Run("logs", func(t *testing.T) {
		// compose asks for JSON logs: every line a collector gets must be
		// one JSON object, and no token may be in any of them.
		for _, p := range d.scimd {
			lines := strings.Split(strings.TrimSpace(p.log.String()), "\n")
			if len(lines) < 10 {
				t.Errorf("%s logged only %d lines", p.name, len(lines))
			}
			for _, line := range lines {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("%s: a log line that is not JSON: %q", p.name, line)
					continue
				}
				for _, tok := range d.tokens {
					if strings.Contains(line, tok) {
						t.Errorf("%s logged a token: %q", p.name, line)
					}
				}
				// Every tenant token, from any subtest, has this shape.
				if tenantToken.MatchString(line) {
					t.Errorf("%s logged something shaped like a tenant token: %q", p.name, line)
				}
			}
		}
	})
}

// healthcheck runs the image's HEALTHCHECK with p's environment and returns
// its exit code and output.
func (d *deployment) healthcheck(t *testing.T, p *scimdProcess) (int, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, d.img.healthcheck[1:]...)
	cmd.Env = processEnv(t, p.env)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// testRollingRestart: while eight clients create users through both
// replicas (going to the other one when a connection fails, as a load
// balancer would), A gets SIGTERM with an idle connection open that never
// sent a request, exits 0, and starts again; every create that was answered
// 201 is then found through both, no request got a 5xx, and the tenant's
// records are consistent.
func testRollingRestart(t *testing.T, d *deployment, a, b *scimdProcess) {
	tn := newReplicaTenant(t, b.replica, 100000)
	d.tokens = append(d.tokens, tn.scimToken, tn.adminToken)
	var (
		mu       sync.Mutex
		acked    = map[string]string{} // userName -> id
		answered = map[int]int{}
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		stopOnce sync.Once
	)
	// The workers stop however the test ends (a Fatal included).
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	defer halt()
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				userName := fmt.Sprintf("rolling-%d-%d@example.com", w, i)
				first, second := a, b
				if (w+i)%2 == 1 {
					first, second = b, a
				}
				res, err := post(first, tn.users(), tn.scimToken, replicaUser(userName))
				if err != nil {
					// The connection failed: the request may or may not
					// have landed. Send it to the other replica; a 409 then
					// means the first one did.
					res, err = post(second, tn.users(), tn.scimToken, replicaUser(userName))
				}
				if err != nil {
					t.Errorf("both replicas failed for %s: %v", userName, err)
					return
				}
				mu.Lock()
				answered[res.status]++
				if res.status == http.StatusCreated {
					var u struct{ ID string }
					_ = json.Unmarshal(res.body, &u)
					acked[userName] = u.ID
				}
				mu.Unlock()
			}
		})
	}
	waitFor := func(n int) {
		deadline := time.Now().Add(time.Minute)
		for {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n || time.Now().After(deadline) {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(100)
	// A connection that never sends a request must not hold the shutdown
	// past its deadline.
	idle, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if code := a.stop(t); code != 0 {
		t.Fatalf("%s exited with %d after SIGTERM under load; its output:\n%s", a.name, code, a.log)
	}
	if code, out := d.healthcheck(t, a); code != 1 {
		t.Errorf("HEALTHCHECK of the stopped %s exited %d, want 1: %s", a.name, code, out)
	}
	mu.Lock()
	atStop := len(acked)
	mu.Unlock()
	waitFor(atStop + 100) // B alone carries the load
	a.start(t)
	waitFor(atStop + 200)
	halt()

	mu.Lock()
	defer mu.Unlock()
	for status, n := range answered {
		if status != http.StatusCreated && status != http.StatusConflict {
			t.Errorf("%d answers with status %d", n, status)
		}
	}
	if answered[http.StatusConflict] > 8 {
		// At most one retried request per worker can have landed twice.
		t.Errorf("%d creates answered 409", answered[http.StatusConflict])
	}
	for _, r := range []*scimdProcess{a, b} {
		list := r.want(t, http.StatusOK, http.MethodGet, tn.users()+"?count=1", tn.scimToken, nil).json(t)
		total, _ := list["totalResults"].(float64)
		if int(total) < len(acked) || int(total) > len(acked)+answered[http.StatusConflict] {
			t.Errorf("%s lists %v users; %d were acknowledged", r.name, total, len(acked))
		}
	}
	for userName, id := range acked {
		if got := a.want(t, http.StatusOK, http.MethodGet, tn.users()+"/"+id, tn.scimToken, nil).json(t)["userName"]; got != userName {
			t.Fatalf("user %s reads userName %v, want %s", id, got, userName)
		}
	}
	lic := b.want(t, http.StatusOK, http.MethodGet, tn.admin()+"/license", tn.adminToken, nil).json(t)
	if seats, _ := lic["seatsUsed"].(float64); int(seats) < len(acked) {
		t.Errorf("seatsUsed %v for %d acknowledged users", seats, len(acked))
	}
	t.Logf("%d users acknowledged across a restart of %s (%d while it was down or starting)", len(acked), a.name, len(acked)-atStop)
}

// post sends a create and reports a failed connection as an error (unlike
// replica.do, which fails the test).
func post(r *scimdProcess, path, token, body string) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, r.base+path, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/scim+json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := r.client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, body: buf.Bytes()}, nil
}
