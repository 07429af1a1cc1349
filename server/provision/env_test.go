package provision

import (
	"testing"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/storage"
	"github.com/scimd/scimd/storage/storagetest"
)

// embeddedEnv is a store over the embedded Redis and the built-in policies,
// for the tests of this package that build their own Services; both are
// closed when the test ends.
func embeddedEnv(t *testing.T) (*storage.Store, *policies.Engine) {
	t.Helper()
	_, rdb := storagetest.Embedded(t)
	pol, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return storage.New(rdb, storage.Options{}), pol
}
