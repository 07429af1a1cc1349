package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/server/reqbody"
)

// readBody reads the request's body, within the route's limit, once the
// auth middleware has admitted the caller, and goes on to the handler,
// whose c.Body() then holds it. It returns reqbody's 413 or 400.
func readBody(c *fiber.Ctx) error {
	if _, err := reqbody.Read(c); err != nil {
		return err
	}
	return c.Next()
}

// decodeStrict decodes one JSON object, refusing unknown fields and
// trailing data, so that a typo in a field name is an error, not a default.
func decodeStrict(body []byte, v any) error {
	if !utf8.Valid(body) {
		// JSON decoding would silently turn each bad byte into U+FFFD.
		return errors.New("the request body is not valid UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	// Only white space may follow (More is false before a stray '}').
	if _, err := d.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// DecodeStrict is decodeStrict for the other JSON edges (the decision API).
func DecodeStrict(body []byte, v any) error { return decodeStrict(body, v) }

// Param is a route parameter percent-decoded and owned, for the other JSON edges.
func Param(c *fiber.Ctx, name string) string { return param(c, name) }

// Bearer returns the token of an Authorization header's Bearer scheme.
func Bearer(header string) (string, bool) { return bearer(header) }
