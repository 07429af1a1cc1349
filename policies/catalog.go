package policies

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// maxCatalogs bounds the scored catalogs an Engine remembers: past it, it
// forgets them all and starts again.
const maxCatalogs = 256

// catalogs remembers, by a tenant's custom roles, the role catalog the
// policies scored for them: the answer of data.roles.catalog, which role
// resolution takes as input.catalog instead of scoring every role again on
// every request. Scores depend only on the roles and on data, which does not
// change under an Engine, and the key is the custom roles themselves, so a
// remembered catalog is never stale: a changed role is another key.
type catalogs struct {
	seed maphash.Seed
	mu   sync.RWMutex
	m    map[uint64][]scoredCatalog // by hash of the custom roles
	n    int
}

type scoredCatalog struct {
	roles   map[string]Role // a copy of the custom roles
	catalog *roleCatalog
}

// roleCatalog is an answer of data.roles.catalog, with a term for each role
// name it knows, which inputs can share.
type roleCatalog struct {
	term  *ast.Term
	names map[string]*ast.Term
}

func newCatalogs() *catalogs {
	return &catalogs{seed: maphash.MakeSeed(), m: map[uint64][]scoredCatalog{}}
}

// catalog returns the scored catalog for the custom roles, asking
// data.roles.catalog the first time.
func (e *Engine) catalog(ctx context.Context, custom map[string]Role) (*roleCatalog, error) {
	c := e.catalogs
	key := c.hash(custom)
	c.mu.RLock()
	for _, sc := range c.m[key] {
		if sameRoles(sc.roles, custom) {
			c.mu.RUnlock()
			return sc.catalog, nil
		}
	}
	c.mu.RUnlock()
	input := ast.NewObject(ast.Item(keyRoles, rolesTerm(custom)))
	v, err := e.evalWith(ctx, e.catalogQ, queryCatalog, input, asTermOption)
	if err != nil {
		return nil, err
	}
	t, err := termOf(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrEval, queryCatalog, err)
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%w: %s: decision has the wrong shape: %v is not an object", ErrEval, queryCatalog, ast.ValueName(t.Value))
	}
	rc := &roleCatalog{term: t, names: map[string]*ast.Term{}}
	if roles := obj.Get(keyRoles); roles != nil {
		if roles, ok := roles.Value.(ast.Object); ok {
			roles.Foreach(func(k, _ *ast.Term) {
				if name, ok := k.Value.(ast.String); ok {
					rc.names[string(name)] = k
				}
			})
		}
	}
	copied := make(map[string]Role, len(custom))
	for name, r := range custom {
		r.Permissions = slices.Clone(r.Permissions)
		if r.FullAccess != nil {
			v := *r.FullAccess
			r.FullAccess = &v
		}
		copied[name] = r
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sc := range c.m[key] { // another request may have scored them meanwhile
		if sameRoles(sc.roles, custom) {
			return sc.catalog, nil
		}
	}
	if c.n >= maxCatalogs {
		clear(c.m)
		c.n = 0
	}
	c.m[key] = append(c.m[key], scoredCatalog{roles: copied, catalog: rc})
	c.n++
	return rc, nil
}

// hash digests custom roles independently of the map's order: the sum of a
// digest per role.
func (c *catalogs) hash(roles map[string]Role) uint64 {
	var (
		h   maphash.Hash
		sum uint64
	)
	h.SetSeed(c.seed)
	for name, r := range roles {
		h.Reset()
		h.WriteString(name)
		h.WriteByte(0)
		h.WriteString(string(r.Level))
		h.WriteByte(0)
		if r.GroupManager {
			h.WriteByte(1)
		}
		if r.FullAccess != nil {
			h.WriteByte(2)
			if *r.FullAccess {
				h.WriteByte(3)
			}
		}
		for _, p := range r.Permissions {
			h.WriteByte(0)
			h.WriteString(p)
		}
		sum += h.Sum64()
	}
	return sum
}

func sameRoles(a, b map[string]Role) bool {
	if len(a) != len(b) {
		return false
	}
	for name, ra := range a {
		rb, ok := b[name]
		if !ok || ra.Level != rb.Level || ra.GroupManager != rb.GroupManager || !sameFlag(ra.FullAccess, rb.FullAccess) || !slices.Equal(ra.Permissions, rb.Permissions) {
			return false
		}
	}
	return true
}

// sameFlag: both unset, or both set to the same value.
func sameFlag(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
