// Package storagetest gives a test an embedded Redis of its own (see
// storage.StartEmbedded) and a client to it, both closed when the test
// ends. storage's own tests cannot import it (a cycle); every other
// package's can.
package storagetest

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scimd/scimd/storage"
)

// Embedded starts an embedded Redis for t and returns its URL (for a
// command run against it) and a client to it.
func Embedded(t testing.TB) (string, redis.UniversalClient) {
	t.Helper()
	e, err := storage.StartEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	rdb, err := storage.NewClient(e.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return e.URL(), rdb
}
