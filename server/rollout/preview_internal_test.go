package rollout

import (
	"errors"
	"testing"

	"github.com/scimd/scimd/policies"
)

// TestPreviewBusy: a second diff on the replica is refused while one runs,
// before any compiling, and runs once the first is done; the request's
// bounds are checked before it waits.
func TestPreviewBusy(t *testing.T) {
	base, err := policies.New(policies.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := NewPreviewer(nil, base, PreviewOptions{MaxUsers: 10})
	req := Preview{Policies: map[string]string{"roles/roles.rego": "package roles\n\nbroken :=\n"}}
	p.busy <- struct{}{} // a diff under way
	if _, err := p.Diff(t.Context(), "t", req); !errors.Is(err, ErrBusy) {
		t.Errorf("while busy: %v, want ErrBusy", err)
	}
	if _, err := p.Diff(t.Context(), "t", Preview{Policies: req.Policies, MaxUsers: 11}); !errors.Is(err, ErrTooManyUsers) {
		t.Errorf("over the cap while busy: %v, want ErrTooManyUsers", err)
	}
	<-p.busy
	if _, err := p.Diff(t.Context(), "t", req); !errors.Is(err, policies.ErrInvalidPolicy) {
		t.Errorf("once free: %v, want the policies' error", err)
	}
	if len(p.busy) != 0 {
		t.Error("the diff kept the replica busy")
	}
}

func TestBadName(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tests bool
		bad   bool
	}{
		{"roles/roles.rego", false, false},
		{"roles/data.json", false, false},
		{"data.json", false, false},
		{"roles/roles_test.rego", true, false},
		{"roles/roles_test.rego", false, true},
		{"../roles.rego", false, true},
		{"/roles.rego", false, true},
		{"roles//roles.rego", false, true},
		{".hidden/roles.rego", false, true},
		{"roles/.x.rego", false, true},
		{"roles/notes.txt", false, true},
		{"roles/other.json", false, true},
		{"", false, true},
	} {
		if got := badName(tt.name, tt.tests) != ""; got != tt.bad {
			t.Errorf("badName(%q, tests %v) = %q, want bad %v", tt.name, tt.tests, badName(tt.name, tt.tests), tt.bad)
		}
	}
}
