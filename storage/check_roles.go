package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// FindingRoleCaseDuplicate: a custom role's name equals a built-in role's
// (Options.BuiltinRoles) or another custom role's but for case, stored
// before such names were refused. Reads go on working (names are matched
// exactly); an admin should create the role under another name, move its
// grants and delete it. Not repaired.
const FindingRoleCaseDuplicate FindingKind = "role-case-duplicate"

// checkRoles reports custom roles named like a built-in or another custom
// role but for case.
func (c *checker) checkRoles(ctx context.Context) error {
	key := rolesKey(c.t)
	names, err := c.s.rdb.HKeys(ctx, key).Result()
	if err != nil {
		return err
	}
	sort.Strings(names)
	flag := func(name, detail string) {
		c.add(Finding{Kind: FindingRoleCaseDuplicate, Key: key, Entry: name, Detail: detail}, nil)
	}
	for i, name := range names {
		for _, b := range c.s.opts.BuiltinRoles {
			if name != b && strings.EqualFold(name, b) {
				flag(name, fmt.Sprintf("custom role %q differs from the built-in role %q only by case: create it under another name, move its grants, delete it", name, b))
			}
		}
		for _, other := range names[:i] {
			if strings.EqualFold(name, other) {
				flag(name, fmt.Sprintf("custom roles %q and %q differ only by case: rename one (create it under another name, move its grants, delete it)", other, name))
			}
		}
	}
	return nil
}
