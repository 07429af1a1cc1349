package console

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// asset is an embedded static file under its served name.
type asset struct {
	body        []byte
	contentType string
}

// assets are the static files by served name: each name carries a hash of
// the content ("console.3f2a…css"), so a long cache never serves a stale
// file, and a page names exactly the bytes it was made with.
var assets, assetNames = loadAssets()

func loadAssets() (map[string]asset, map[string]string) {
	byServed, byName := map[string]asset{}, map[string]string{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic("console: static assets: " + err.Error())
	}
	for _, e := range entries {
		b, err := fs.ReadFile(staticFS, "static/"+e.Name())
		if err != nil {
			panic("console: static assets: " + err.Error())
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		served := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct := "text/plain; charset=utf-8"
		switch ext {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		byServed[served] = asset{body: b, contentType: ct}
		byName[e.Name()] = served
	}
	return byServed, byName
}

// assetURL is the path a page links a static file by.
func assetURL(name string) (template.URL, error) {
	served, ok := assetNames[name]
	if !ok {
		return "", fmt.Errorf("console: no static file %q", name)
	}
	return template.URL(Root + "/static/" + served), nil
}

// static serves an embedded asset, cached for a year: its name changes
// with its content.
func (cs *Console) static(c *fiber.Ctx) error {
	a, ok := assets[c.Params("file")]
	if !ok {
		return cs.errorPage(c, nil, http.StatusNotFound, "There is no such file.")
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return c.Send(a.body)
}
