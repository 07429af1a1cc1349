package scimapi

import (
	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/server/scimdoc"
)

// listSingles reads a multi-valued attribute of a validated POST or PUT
// body that came as one object as a list of that one object, as a PATCH
// does (RFC 7643 §2.4: a multi-valued attribute is a JSON array). Elimity's
// validation accepts the object and returns it as it came, so without this
// a user's emails were stored and answered as an object, and a group's one
// member was dropped with a 201. Names are the schema's own spelling, as
// validation leaves them.
func listSingles(rt scim.ResourceType, attrs map[string]any) {
	listSinglesOf(rt.Schema.Attributes, attrs)
	for _, e := range rt.SchemaExtensions {
		if ext, ok := attrs[e.Schema.ID].(map[string]any); ok {
			listSinglesOf(e.Schema.Attributes, ext)
		}
	}
}

func listSinglesOf(as schema.Attributes, obj map[string]any) {
	for _, a := range as {
		if !a.MultiValued() {
			continue
		}
		if v, ok := obj[a.Name()].(map[string]any); ok {
			obj[a.Name()] = []any{v}
		}
	}
}

// normalizeUser is what every POST and PUT of a user does to its validated
// body before it is stored: lists where the schema has them, then at most
// one primary and no repeats in each (scimdoc.NormalizeMultiValued).
func (a *API) normalizeUser(attrs map[string]any) {
	listSingles(a.users, attrs)
	scimdoc.NormalizeMultiValued(attrs)
}
