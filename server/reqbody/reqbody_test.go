package reqbody_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/reqbody"
)

// serve runs app on a loopback port for real (streamed, chunked) requests.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// newApp is an app as scimd's: streamed bodies, Guard first; /read echoes
// the body Read returns, /big does so under a larger Limit, /raw reads it
// behind reqbody's back, /none does not read it.
func newApp(limit int) *fiber.App {
	app := fiber.New(fiber.Config{StreamRequestBody: true, BodyLimit: limit, DisablePreParseMultipartForm: true,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			code := http.StatusInternalServerError
			if fe, ok := err.(*fiber.Error); ok {
				code = fe.Code
			}
			return c.Status(code).SendString(err.Error())
		}})
	app.Use(reqbody.Guard(limit))
	echo := func(c *fiber.Ctx) error {
		b, err := reqbody.Read(c)
		if err != nil {
			return err
		}
		return c.Send(b)
	}
	app.Post("/read", echo)
	app.Post("/big", reqbody.Limit(4*limit), echo)
	app.Post("/raw", func(c *fiber.Ctx) error { return c.Send(c.Body()) })
	app.Post("/none", func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) })
	return app
}

// strays records StrayRead's calls until the test ends.
func strays(t *testing.T) func() []string {
	var mu sync.Mutex
	var got []string
	prev := reqbody.StrayRead
	reqbody.StrayRead = func(c *fiber.Ctx) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, c.Route().Path)
	}
	t.Cleanup(func() { reqbody.StrayRead = prev })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// onlyReader hides bytes.Reader's length, so that net/http sends it chunked.
type onlyReader struct{ io.Reader }

// TestRead: bodies up to the limit arrive whole, announced or chunked; one
// byte more is a 413; Limit raises the limit of its route alone.
func TestRead(t *testing.T) {
	const limit = 16 << 10
	base := serve(t, newApp(limit))
	for _, tc := range []struct {
		name    string
		path    string
		size    int
		chunked bool
		want    int
	}{
		{"empty", "/read", 0, false, 200},
		{"small", "/read", 100, false, 200},
		{"at the limit", "/read", limit, false, 200},
		{"one byte over", "/read", limit + 1, false, 413},
		{"chunked at the limit", "/read", limit, true, 200},
		{"chunked one byte over", "/read", limit + 1, true, 413},
		{"chunked far over", "/read", 40 * limit, true, 413},
		{"raised limit", "/big", 4 * limit, false, 200},
		{"raised limit, chunked", "/big", 4 * limit, true, 200},
		{"over the raised limit", "/big", 4*limit + 1, false, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Repeat("b", tc.size)
			var r io.Reader = strings.NewReader(body)
			if tc.chunked {
				r = onlyReader{r}
			}
			// A connection of its own per case: after a 413 the server may
			// close the connection while the client still sends, and a
			// POST on a reused, closed connection is not retried.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Post(base+tc.path, "text/plain", r)
			if err != nil && tc.want == 413 && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
				// The server answers 413 and closes rather than drain a
				// body it refused (fasthttp's choice), so the client may
				// meet the reset while still sending, before it reads the
				// answer. Either way the body was refused unread, and the
				// server must go on serving.
				alive, err := client.Post(base+"/read", "text/plain", strings.NewReader("x"))
				if err != nil {
					t.Fatalf("after the reset: %v", err)
				}
				alive.Body.Close()
				if alive.StatusCode != 200 {
					t.Fatalf("after the reset: status %d", alive.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 200 && string(got) != body {
				t.Fatalf("echoed %d bytes, want %d", len(got), len(body))
			}
		})
	}
}

// TestStrayRead: a handler that reads the body without Read (c.Body(),
// here) is reported; one that reads through Read, or not at all, is not.
func TestStrayRead(t *testing.T) {
	got := strays(t)
	base := serve(t, newApp(1<<10))
	for _, p := range []string{"/read", "/none", "/raw", "/read"} {
		resp, err := http.Post(base+p, "text/plain", strings.NewReader("some body"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if s := got(); len(s) != 1 || s[0] != "/raw" {
		t.Fatalf("stray reads reported: %v, want [/raw]", s)
	}
}

// rawReaders are the ways to reach a request's body around reqbody: each
// reads all of it, or decodes it, whatever its size.
var rawReaders = map[string]bool{
	"PostBody": true, "BodyStream": true, "BodyParser": true, "BodyRaw": true,
	"BodyGunzip": true, "BodyInflate": true, "BodyUnbrotli": true, "BodyUncompressed": true, "BodyWriteTo": true,
	"MultipartForm": true, "FormFile": true, "FormValue": true, "ContinueReadBody": true, "ContinueReadBodyStream": true,
	"ReadBody": true, "ConvertRequest": true,
}

// TestNoRawBodyReads: no code of the server but this package calls a raw
// body reader; c.Body() is left to Guard, which reports it at run time
// (TestStrayRead, and every end-to-end test of package server).
func TestNoRawBodyReads(t *testing.T) {
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "reqbody" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && rawReaders[sel.Sel.Name] {
				t.Errorf("%s: %s reads the request body around reqbody.Read", fset.Position(call.Pos()), sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
