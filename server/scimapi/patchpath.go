package scimapi

import (
	"strings"
	"sync"

	"github.com/scim2/filter-parser/v2"
)

// parsePath parses a PATCH path. The paths Entra sends on every request
// (`active`, `name.familyName`, `urn:…:User:employeeNumber`) are split by
// hand: the general parser costs hundreds of allocations each. Paths with a
// value filter go to the parser, and the distinct ones are cached.
func parsePath(p string) (filter.Path, error) {
	if ap, ok := simpleAttrPath(p); ok {
		return filter.Path{AttributePath: ap}, nil
	}
	return paths.parse(p)
}

// simpleAttrPath reads `[urn:…:]attr[.sub]` with ABNF attribute names
// (RFC 7644 §3.10: ALPHA *(ALPHA / DIGIT / "-" / "_"), or "$ref"). Anything
// else is left to the parser, which gives the proper error.
func simpleAttrPath(p string) (filter.AttributePath, bool) {
	var ap filter.AttributePath
	rest := p
	if len(p) > 4 && strings.EqualFold(p[:4], "urn:") {
		i := strings.LastIndexByte(p, ':')
		uri := p[:i]
		if strings.ContainsAny(uri, " []\"()") {
			return ap, false
		}
		ap.URIPrefix, rest = &uri, p[i+1:]
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !attrName(name) || hasSub && !attrName(sub) {
		return filter.AttributePath{}, false
	}
	ap.AttributeName = name
	if hasSub {
		ap.SubAttribute = &sub
	}
	return ap, true
}

func attrName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// pathCache remembers parsed value-filter paths. Parsed paths are shared
// read-only. When full it starts over: member paths carry ids and would
// otherwise grow it without bound.
type pathCache struct {
	mu sync.Mutex
	m  map[string]filter.Path
}

const pathCacheSize = 1024

var paths = &pathCache{m: map[string]filter.Path{}}

func (c *pathCache) parse(p string) (filter.Path, error) {
	c.mu.Lock()
	got, ok := c.m[p]
	c.mu.Unlock()
	if ok {
		return got, nil
	}
	parsed, err := filter.ParsePath([]byte(p))
	if err != nil {
		return filter.Path{}, err
	}
	c.mu.Lock()
	if len(c.m) >= pathCacheSize {
		c.m = map[string]filter.Path{}
	}
	c.m[p] = parsed
	c.mu.Unlock()
	return parsed, nil
}
