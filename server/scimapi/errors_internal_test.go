package scimapi

import (
	"context"
	"net/http/httptest"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/httpstatus/edgetest"
	"github.com/scimd/scimd/server/provision"
)

// TestUnauthorizedChallenge: a 401 the service decides inside a SCIM
// handler (answered through elimity) carries WWW-Authenticate like the one
// of the token check in front.
func TestUnauthorizedChallenge(t *testing.T) {
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error {
		return answer(c, &provision.Error{Kind: provision.KindUnauthorized, Detail: "a valid bearer token for this tenant is required"})
	})
	res, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("status %d, WWW-Authenticate %q: want 401 with a challenge", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
}

// answer answers err as a SCIM handler's error is answered: parked in the
// request's slot and sent by the Fiber wrapper, or else sent by elimity.
func answer(c *fiber.Ctx, err error) error {
	slot := &errSlot{}
	ctx := context.WithValue(context.Background(), slotKey{}, slot)
	err = scimError(ctx, err)
	if !slot.set {
		// What elimity sends for an error value it is given: its
		// status and body, no other header.
		se := err.(scimerrors.ScimError)
		return c.Status(se.Status).JSON(se)
	}
	return sendError(c, slot.err, slot.retryAfter)
}

// TestErrorStatuses: the SCIM edge answers every kind of error with the
// shared status.
func TestErrorStatuses(t *testing.T) {
	edgetest.Renders(t, answer)
}
