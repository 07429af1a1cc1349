package provision

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// reportLines flattens a report to one line per finding, so that a case states
// everything the report says.
func reportLines(rep PreflightReport) []string {
	var out []string
	for _, l := range rep.Links {
		out = append(out, fmt.Sprintf("link %s -> %s by %s", l.IdPUser, l.UserID, l.Identifier))
	}
	for _, c := range rep.Conflicts {
		var users []string
		for _, u := range c.Users {
			users = append(users, u.UserID+"/"+u.Identifier)
		}
		out = append(out, fmt.Sprintf("conflict %s %s: %s", c.Reason, c.IdPUser, strings.Join(users, " ")))
	}
	for _, p := range rep.Provisioned {
		out = append(out, fmt.Sprintf("provisioned %s = %s", p.IdPUser, p.UserID))
	}
	for _, n := range rep.NearMisses {
		out = append(out, fmt.Sprintf("near %s %s %q~%q %s (%s)", n.IdPUser, n.Identifier, n.IdPValue, n.UserValue, n.UserID, n.Difference))
	}
	for _, u := range rep.Unmatched {
		out = append(out, fmt.Sprintf("unmatched %s %s", u.UserID, u.Outcome))
	}
	s := rep.Seats
	out = append(out, fmt.Sprintf("seats needed %d = idp %d + manual %d + scim %d; reactivated %d; creates %d",
		s.Needed, s.EnabledIdPUsers, s.ManualKeptActive, s.OtherActiveSCIM, s.ReactivatedByLinks, rep.Counts.Creates))
	return out
}

func manualRef(id, userName, email, emp string, active bool) *userRef {
	return &userRef{id: id, userName: userName, email: email, employeeNumber: emp, managedBy: "manual", active: active}
}

func scimRef(id, userName, email, emp string, active bool) *userRef {
	return &userRef{id: id, userName: userName, email: email, employeeNumber: emp, managedBy: "scim", active: active}
}

func idpUser(upn, mail, emp string, enabled bool) IdPUser {
	return IdPUser{Row: "row " + upn, UserPrincipalName: upn, Mail: mail, EmployeeID: emp, Enabled: enabled}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		users   []*userRef
		idp     []IdPUser
		order   []string
		setting string
		want    []string
	}{
		{
			name:  "links by userName, email and employeeNumber, case as the indexes",
			users: []*userRef{manualRef("u1", "Ann@X", "", "", true), manualRef("u2", "bob.local", "Bob@X", "", true), manualRef("u3", "cy.local", "", "E3", false)},
			idp:   []IdPUser{idpUser("ann@x", "", "", true), idpUser("bob@x", "bob@x", "", true), idpUser("cy@x", "", "E3", true)},
			want: []string{
				"link ann@x -> u1 by userName", "link bob@x -> u2 by email", "link cy@x -> u3 by employeeNumber",
				"seats needed 3 = idp 3 + manual 0 + scim 0; reactivated 1; creates 0",
			},
		},
		{
			name:  "MatchBy order decides the identifier; an identifier left out does not link",
			users: []*userRef{manualRef("u1", "ann.local", "ann@x", "E1", true), manualRef("u2", "bob.local", "bob@x", "", true)},
			idp:   []IdPUser{idpUser("ann@x", "ann@x", "E1", true), idpUser("bob@x", "bob@x", "", true)},
			order: []string{MatchEmployeeNumber},
			want: []string{
				"link ann@x -> u1 by employeeNumber",
				"unmatched u2 kept",
				"seats needed 3 = idp 2 + manual 1 + scim 0; reactivated 0; creates 1",
			},
		},
		{
			name:  "employeeNumber is exact: a case difference is a near miss",
			users: []*userRef{manualRef("u1", "ann.local", "", "E1", true)},
			idp:   []IdPUser{idpUser("ann@x", "", "e1", true)},
			want: []string{
				`near ann@x employeeNumber "e1"~"E1" u1 (case)`,
				"unmatched u1 kept",
				"seats needed 2 = idp 1 + manual 1 + scim 0; reactivated 0; creates 1",
			},
		},
		{
			name:  "identifiers matching different manual users conflict",
			users: []*userRef{manualRef("u1", "ann@x", "", "", true), manualRef("u2", "ann.old", "ann@x", "", true)},
			idp:   []IdPUser{idpUser("ann@x", "ann@x", "", true)},
			want: []string{
				"conflict ambiguous ann@x: u1/userName u2/email",
				"unmatched u1 kept", "unmatched u2 kept",
				"seats needed 3 = idp 1 + manual 2 + scim 0; reactivated 0; creates 0",
			},
		},
		{
			name:  "two manual users with one email conflict",
			users: []*userRef{manualRef("u2", "b.local", "team@x", "", true), manualRef("u1", "a.local", "team@x", "", true)},
			idp:   []IdPUser{idpUser("team@x", "team@x", "", true)},
			want: []string{
				"conflict ambiguous team@x: u1/email u2/email",
				"unmatched u2 kept", "unmatched u1 kept",
				"seats needed 3 = idp 1 + manual 2 + scim 0; reactivated 0; creates 0",
			},
		},
		{
			name:  "a link whose userName another user holds is refused",
			users: []*userRef{manualRef("u1", "ann.local", "ann@x", "", true), scimRef("s1", "ANN@x", "", "", true)},
			idp:   []IdPUser{idpUser("ann@x", "ann@x", "", true)},
			want: []string{
				"conflict userNameTaken ann@x: u1/email s1/userName",
				"unmatched u1 kept",
				"seats needed 2 = idp 1 + manual 1 + scim 0; reactivated 0; creates 0",
			},
		},
		{
			name:  "a manual user holding the userName when the tenant does not link by it",
			users: []*userRef{manualRef("u1", "ann@x", "", "", true)},
			idp:   []IdPUser{idpUser("ann@x", "", "", true)},
			order: []string{MatchEmail},
			want: []string{
				"conflict userNameTaken ann@x: u1/userName",
				"unmatched u1 kept",
				"seats needed 2 = idp 1 + manual 1 + scim 0; reactivated 0; creates 0",
			},
		},
		{
			name:  "SCIM users by userName are already provisioned; others stay and count",
			users: []*userRef{scimRef("s1", "ann@x", "", "", false), scimRef("s2", "old@x", "", "", true), scimRef("s3", "gone@x", "", "", false)},
			idp:   []IdPUser{idpUser("Ann@X", "", "", true), idpUser("new@x", "", "", false)},
			want: []string{
				"provisioned Ann@X = s1",
				"seats needed 2 = idp 1 + manual 0 + scim 1; reactivated 0; creates 1",
			},
		},
		{
			name:  "two IdP users linking one manual user, and a duplicate row",
			users: []*userRef{manualRef("u1", "ann@x", "shared@x", "", true)},
			idp:   []IdPUser{idpUser("ann@x", "", "", true), idpUser("bob@x", "shared@x", "", true), idpUser("ANN@x", "", "", true)},
			want: []string{
				"conflict duplicate ANN@x: ",
				"conflict sameUser ann@x: u1/userName",
				"conflict sameUser bob@x: u1/email",
				"seats needed 2 = idp 2 + manual 0 + scim 0; reactivated 0; creates 0",
			},
		},
		{
			name: "near misses: whitespace, Unicode case folding, SCIM userName",
			users: []*userRef{
				manualRef("u1", "ann.local", "ann@x", "", true),
				manualRef("u2", "sam.local", "sam@x", "", true),
				scimRef("s1", "cy@x", "", "", true),
			},
			idp: []IdPUser{idpUser("ann@x.example", " ann@x", "", true), idpUser("sam2@x", "ſam@x", "", true), idpUser("c y@x", "", "", true)},
			want: []string{
				`near ann@x.example email " ann@x"~"ann@x" u1 (whitespace)`,
				`near sam2@x email "ſam@x"~"sam@x" u2 (case)`,
				`near c y@x userName "c y@x"~"cy@x" s1 (whitespace)`,
				"unmatched u1 kept", "unmatched u2 kept",
				"seats needed 6 = idp 3 + manual 2 + scim 1; reactivated 0; creates 3",
			},
		},
		{
			name:    "deactivate: unmatched manual users lose their seats",
			users:   []*userRef{manualRef("u1", "ann@x", "", "", true), manualRef("u2", "bob@x", "", "", true), manualRef("u3", "cy@x", "", "", false)},
			idp:     []IdPUser{idpUser("ann@x", "", "", false)},
			setting: UnmatchedDeactivate,
			want: []string{
				"link ann@x -> u1 by userName",
				"unmatched u2 deactivated", "unmatched u3 alreadyInactive",
				"seats needed 0 = idp 0 + manual 0 + scim 0; reactivated 0; creates 0",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order := tc.order
			if order == nil {
				order = DefaultMatchBy
			}
			setting := tc.setting
			if setting == "" {
				setting = UnmatchedKeep
			}
			got := reportLines(planMigration(tc.idp, tc.users, order, setting))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("report (-want +got):\n%s", d)
			}
		})
	}
}

func TestValidateIdPUsers(t *testing.T) {
	for _, tc := range []struct {
		name string
		idp  []IdPUser
		want string // part of the detail; "" means valid
	}{
		{"empty", nil, "empty"},
		{"too many", make([]IdPUser, MaxPreflightUsers+1), "at most 200000"},
		{"no identifiers", []IdPUser{idpUser("a@x", "", "", true), {Row: "line 3", Mail: "  ", DisplayName: "Nobody"}}, "line 3: the user has none of"},
		{"one identifier is enough", []IdPUser{{EmployeeID: "7"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateIdPUsers(tc.idp)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (KindOf(err) != KindInvalid || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an invalid-input error containing %q", err, tc.want)
			}
		})
	}
}

func TestNearKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{" alice@x.com", "alice@x.com"},
		{"alice @x.com\u200b", "ALICE@X.COM"},
		{"ſam", "SAM"},
		{"ΟΔΟΣ", "οδος"},
		{"ς", "σ"},
	} {
		if nearKey(tc.a) != nearKey(tc.b) {
			t.Errorf("nearKey(%q) = %q, nearKey(%q) = %q: want equal", tc.a, nearKey(tc.a), tc.b, nearKey(tc.b))
		}
	}
	if nearKey("ann@x") == nearKey("anne@x") {
		t.Error("different values share a key")
	}
}
