package provision

import (
	"fmt"
	"testing"
)

// TestScanUsersFrom: a filtered walk returns the matches in creation
// order a page at a time, never reads more than its budget in one step,
// says where to go on, and ends at the last user.
func TestScanUsersFrom(t *testing.T) {
	svc, tenant := scanEnv(t, 23)
	odd := func(u User) bool {
		var n int
		_, _ = fmt.Sscanf(u.Attrs["userName"].(string), "u%d", &n)
		return n%2 == 1
	}
	ctx := t.Context()
	var got []string
	from := 0
	for step := 0; ; step++ {
		page, err := svc.ScanUsersFrom(ctx, tenant, from, 3, 5, odd)
		if err != nil {
			t.Fatal(err)
		}
		if page.Next-from > 5 {
			t.Fatalf("step %d read %d users, over the budget of 5", step, page.Next-from)
		}
		if page.Total != 23 {
			t.Fatalf("total %d", page.Total)
		}
		for _, u := range page.Users {
			got = append(got, u.Attrs["userName"].(string))
		}
		if page.Done {
			break
		}
		if step > 20 || page.Next <= from {
			t.Fatalf("the walk does not advance: %d -> %d", from, page.Next)
		}
		from = page.Next
	}
	want := fmt.Sprint([]string{"u01", "u03", "u05", "u07", "u09", "u11", "u13", "u15", "u17", "u19", "u21"})
	if fmt.Sprint(got) != want {
		t.Fatalf("matches %v, want %s", got, want)
	}
}

// scanEnv is a service over the embedded store with a tenant of n users
// named u00, u01, ... in creation order.
func scanEnv(t *testing.T, n int) (*Service, string) {
	t.Helper()
	st, pol := embeddedEnv(t)
	svc := New(st, pol, Options{})
	limit := int64(n)
	if _, _, err := svc.CreateTenant(t.Context(), NewTenant{ID: "scan", Name: "Scan", LicenseLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := svc.CreateUser(t.Context(), "scan", map[string]any{"userName": fmt.Sprintf("u%02d", i)}, SCIM); err != nil {
			t.Fatal(err)
		}
	}
	return svc, "scan"
}
