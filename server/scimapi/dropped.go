package scimapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/elimity-com/scim/schema"
)

type droppedKey struct{}

// known lists, lower-cased, the attributes a resource body may carry: the
// schema's, the common ones, and each extension's under its URN.
type known struct {
	attrs      map[string]bool
	extensions map[string]map[string]bool
}

func knownOf(core schema.Schema, exts ...schema.Schema) known {
	k := known{attrs: map[string]bool{"schemas": true, "id": true, "meta": true, "externalid": true}, extensions: map[string]map[string]bool{}}
	for _, a := range core.Attributes {
		k.attrs[strings.ToLower(a.Name())] = true
	}
	for _, e := range exts {
		m := map[string]bool{}
		for _, a := range e.Attributes {
			m[strings.ToLower(a.Name())] = true
		}
		k.extensions[strings.ToLower(e.ID)] = m
	}
	return k
}

var (
	knownUser  = knownOf(userSchema(), schema.ExtensionEnterpriseUser())
	knownGroup = knownOf(groupSchema())
)

// dropped names the attributes of a POST/PUT body that will not be stored:
// not in the published schemas (elimity drops them silently), or never
// stored (password). The names go into the audit event; never the values.
func dropped(body []byte, k known) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	var out []string
	for name, raw := range m {
		lower := strings.ToLower(name)
		if ext, ok := k.extensions[lower]; ok {
			var em map[string]json.RawMessage
			if json.Unmarshal(raw, &em) == nil {
				for sub := range em {
					if !ext[strings.ToLower(sub)] {
						out = append(out, name+":"+sub)
					}
				}
			}
			continue
		}
		if !k.attrs[lower] && string(raw) != "null" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// droppedIn is dropped over a body already decoded.
func droppedIn(m map[string]any, k known) []string {
	var out []string
	var buf [64]byte
	for name, v := range m {
		lower := appendLower(buf[:0], name)
		if ext, ok := k.extensions[string(lower)]; ok {
			if em, ok := v.(map[string]any); ok {
				for sub := range em {
					if !ext[string(appendLower(buf[:0], sub))] {
						out = append(out, name+":"+sub)
					}
				}
			}
			continue
		}
		if !k.attrs[string(lower)] && v != nil {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// appendLower appends strings.ToLower(s) to b; a map index by
// string(appendLower(...)) does not allocate, as strings.ToLower would for
// every name with a capital.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			return append(b[:0], strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

func droppedOf(r *http.Request) []string {
	d, _ := r.Context().Value(droppedKey{}).([]string)
	return d
}
