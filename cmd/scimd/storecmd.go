package main

import (
	"context"
	"fmt"
	"io"

	"github.com/scimd/scimd/storage"
)

// storeCommand is what `scimd check` and `scimd migrate` share: the store at
// a real Redis and the tenants a run covers.
type storeCommand struct {
	st    *storage.Store
	ids   []string
	close func()
}

// openStoreCommand checks the --tenant/--all choice and the Redis URL,
// connects, and lists the tenants (every one with all). A code >= 0 means
// the command ends with it (2 usage, 1 the tenants could not be listed);
// otherwise the caller runs and then calls close.
func openStoreCommand(ctx context.Context, name, tenant string, all bool, redisURL string, opts storage.Options, stderr io.Writer) (storeCommand, int) {
	switch {
	case (tenant == "") == !all:
		fmt.Fprintf(stderr, "scimd %s: give --tenant ID or --all\n", name)
		return storeCommand{}, 2
	case redisURL == "":
		// serve starts an embedded Redis without a URL; here it would only
		// ever see an empty store and call it done.
		fmt.Fprintf(stderr, "scimd %s: --redis-url or SCIMD_REDIS_URL is required: an embedded store would be empty\n", name)
		return storeCommand{}, 2
	}
	rdb, err := storage.NewClient(redisURL)
	if err != nil {
		fmt.Fprintf(stderr, "scimd %s: --redis-url: %v\n", name, err)
		return storeCommand{}, 2
	}
	sc := storeCommand{st: storage.New(rdb, opts), ids: []string{tenant}, close: func() {
		if err := rdb.Close(); err != nil {
			fmt.Fprintf(stderr, "scimd %s: closing redis: %v\n", name, err)
		}
	}}
	if all {
		tenants, err := sc.st.ListTenants(ctx)
		if err != nil {
			sc.close()
			fmt.Fprintf(stderr, "scimd %s: list tenants: %v\n", name, err)
			return storeCommand{}, 1
		}
		sc.ids = sc.ids[:0]
		for _, t := range tenants {
			sc.ids = append(sc.ids, t.ID)
		}
	}
	return sc, -1
}
