package storage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// concurrently runs fn(i) for i in [0, n) on n goroutines at once and
// returns their errors by i.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

func TestConcurrentSameUserName(t *testing.T) {
	const n = 64
	run(t, Options{}, n, func(t *testing.T, e env) {
		errs := concurrently(n, func(i int) error {
			// Same userName in varying case: uniqueness is case-insensitive.
			name := "dup@example.com"
			if i%2 == 1 {
				name = strings.ToUpper(name)
			}
			return e.s.CreateUser(t.Context(), e.tenant, user(fmt.Sprintf("u%02d", i), name), nil)
		})
		winner := ""
		for i, err := range errs {
			if err == nil {
				if winner != "" {
					t.Fatalf("both %s and u%02d created", winner, i)
				}
				winner = fmt.Sprintf("u%02d", i)
			}
		}
		if winner == "" {
			t.Fatal("no create succeeded")
		}
		for i, err := range errs {
			if err != nil {
				t.Run(fmt.Sprintf("u%02d", i), func(t *testing.T) {
					checkErr(t, err, &UniquenessError{Attribute: "userName", HolderID: winner})
				})
			}
		}
		ids, total, err := e.s.PageUsers(t.Context(), e.tenant, 0, n)
		must(t, err)
		if total != 1 || len(ids) != 1 || ids[0] != winner {
			t.Errorf("PageUsers = %v, %d; want [%s], 1", ids, total, winner)
		}
	})
}

func TestConcurrentCreatesAtLicenseLimit(t *testing.T) {
	const n, limit = 64, 10
	run(t, Options{}, limit, func(t *testing.T, e env) {
		errs := concurrently(n, func(i int) error {
			return e.s.CreateUser(t.Context(), e.tenant, user(fmt.Sprintf("u%02d", i), fmt.Sprintf("user%02d", i)), nil)
		})
		created := 0
		for _, err := range errs {
			if err == nil {
				created++
				continue
			}
			checkErr(t, err, &LicenseError{Limit: limit, Used: limit})
		}
		if created != limit {
			t.Errorf("%d creates succeeded, want %d", created, limit)
		}
		seats, err := e.s.SeatsUsed(t.Context(), e.tenant)
		must(t, err)
		if seats != limit {
			t.Errorf("SeatsUsed = %d, want %d", seats, limit)
		}
	})
}

// Writers that all read version 1 race: one wins, the others lose the
// compare-and-set rather than overwrite it.
func TestConcurrentUpdatesSameVersion(t *testing.T) {
	const n = 16
	run(t, Options{}, 10, func(t *testing.T, e env) {
		prev := user("u", "alice")
		must(t, e.s.CreateUser(t.Context(), e.tenant, prev, nil))
		errs := concurrently(n, func(i int) error {
			next := prev
			next.Version = 2
			next.Doc = fmt.Appendf(nil, `{"writer":%d}`, i)
			return e.s.UpdateUser(t.Context(), e.tenant, prev, next, nil)
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrVersionConflict):
				t.Errorf("err = %v, want nil or ErrVersionConflict", err)
			}
		}
		if won != 1 {
			t.Errorf("%d updates won, want 1", won)
		}
	})
}
