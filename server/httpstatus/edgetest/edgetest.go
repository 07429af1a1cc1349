// Package edgetest checks, from an edge's own tests, that the edge answers
// every kind of the service's errors with the status httpstatus gives it:
// an edge that kept a mapping of its own would fail here.
package edgetest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
)

// Renders serves each kind's error through fail, the edge's rendering of an
// error, and checks the status, and a Retry-After on every 429 and 503.
// An error that is not the service's is a 500.
func Renders(t *testing.T, fail func(c *fiber.Ctx, err error) error) {
	t.Helper()
	type answer struct {
		status     int
		retryAfter string
	}
	serve := func(err error) answer {
		app := fiber.New()
		app.Get("/", func(c *fiber.Ctx) error { return fail(c, err) })
		res, rerr := app.Test(httptest.NewRequest(http.MethodGet, "/", nil))
		if rerr != nil {
			t.Fatal(rerr)
		}
		_ = res.Body.Close()
		return answer{res.StatusCode, res.Header.Get(fiber.HeaderRetryAfter)}
	}
	for _, k := range provision.Kinds() {
		e := &provision.Error{Kind: k, Detail: "the detail"}
		if k == provision.KindThrottled || k == provision.KindAuditFull {
			e.RetryAfter = 90 * time.Second
		}
		got := serve(e)
		if want := httpstatus.Of(k); got.status != want {
			t.Errorf("kind %d: status %d, want %d", k, got.status, want)
		}
		if (got.status == http.StatusTooManyRequests || got.status == http.StatusServiceUnavailable) && got.retryAfter == "" {
			t.Errorf("kind %d: %d without Retry-After", k, got.status)
		}
		if e.RetryAfter > 0 && got.retryAfter != "90" {
			t.Errorf("kind %d: Retry-After %q, want the service's 90", k, got.retryAfter)
		}
	}
	if got := serve(errors.New("a bug")); got.status != http.StatusInternalServerError {
		t.Errorf("an error not the service's: %d, want 500", got.status)
	}
}
