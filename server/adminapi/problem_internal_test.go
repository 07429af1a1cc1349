package adminapi

import (
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/provision"
)

// TestUnauthorizedChallenge: a 401 the service decides (not only the one
// of the token check in front) carries WWW-Authenticate.
func TestUnauthorizedChallenge(t *testing.T) {
	app := fiber.New()
	app.Get("/", func(c *fiber.Ctx) error {
		return (&API{}).fail(c, &provision.Error{Kind: provision.KindUnauthorized, Detail: "a valid bearer token for this tenant is required"})
	})
	res, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("status %d, WWW-Authenticate %q: want 401 with a challenge", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
}
