package provision

import (
	"testing"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
)

// embeddedEnv is a store over the embedded Redis and the built-in policies,
// for the tests of this package that build their own Services; both are
// closed when the test ends.
func embeddedEnv(t *testing.T) (*storage.Store, *policies.Engine) {
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
	t.Cleanup(func() { _ = rdb.Close() })
	pol, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return storage.New(rdb, storage.Options{}), pol
}
