package adminapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/gofiber/fiber/v2"
	"go.yaml.in/yaml/v3"
)

// openapiYAML describes the admin and operator API. It is written as YAML
// (comments, less noise) and served as JSON; server's tests check that every
// route registered is in it and that the answers they receive match it.
//
//go:embed openapi.yaml
var openapiYAML []byte

// OpenAPIPath is where the document is served.
const OpenAPIPath = "/admin/v1/openapi.json"

var openapiJSON = sync.OnceValues(func() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("adminapi: openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
})

// OpenAPI returns the document as JSON. It fails only if the embedded YAML
// does not convert, which a test rules out.
func OpenAPI() ([]byte, error) { return openapiJSON() }

// openapi serves the document; it describes the API, not a tenant, so it
// needs no token.
func (a *API) openapi(c *fiber.Ctx) error {
	if !checkQuery(c) {
		return nil
	}
	doc, err := OpenAPI()
	if err != nil {
		return a.fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(doc)
}
