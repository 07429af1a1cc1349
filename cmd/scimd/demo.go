package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/scimd/scimd/server/provision"
)

// demoTenant is the id of the tenant `serve --demo` creates.
const demoTenant = "demo"

// demoAdmin names the demo's admin token in the audit log.
const demoAdmin = "admin@demo.example"

type demoUser struct {
	userName, given, family, employee, department string
}

func (u demoUser) attrs() map[string]any {
	return map[string]any{
		"userName":    u.userName,
		"displayName": u.given + " " + u.family,
		"name":        map[string]any{"givenName": u.given, "familyName": u.family},
		"emails":      []any{map[string]any{"type": "work", "value": u.userName, "primary": true}},
		"active":      true,
		provision.EnterpriseUser: map[string]any{
			"employeeNumber": u.employee, "department": u.department,
		},
	}
}

func demoPerson(given, family, employee, department string) demoUser {
	return demoUser{strings.ToLower(given + "." + family + "@demo.example"), given, family, employee, department}
}

// seedDemo fills a demo tenant through the service, as the admin API and
// the identity provider would: manual users made in manual mode, then the
// switch to idp and SCIM users up to the license limit, one more refused,
// a manual user deactivated (so one seat is free), sub-accounts, a custom
// role, SCIM and app groups with grants, and a seat request. It returns the
// tenant's admin token.
func seedDemo(ctx context.Context, svc *provision.Service) (string, error) {
	const limit = 12
	n := int64(limit)
	_, creds, err := svc.CreateTenant(ctx, provision.NewTenant{ID: demoTenant, Name: "Demo Media Group", LicenseLimit: &n, AdminName: demoAdmin})
	if err != nil {
		return "", fmt.Errorf("demo tenant: %w", err)
	}
	admin := provision.Actor{Source: "admin", User: demoAdmin, IP: "127.0.0.1"}
	step := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("demo: %s: %w", what, err)
		}
		return nil
	}
	for _, a := range [][2]string{{"news", "Newsroom"}, {"sports", "Sports desk"}, {"finance", "Finance"}} {
		if _, _, err := svc.PutAccount(ctx, demoTenant, a[0], a[1], admin); err != nil {
			return "", step("sub-account "+a[0], err)
		}
	}
	if _, _, err := svc.PutRole(ctx, demoTenant, "Desk Chief", provision.RoleSpec{Level: "account",
		Permissions: []string{"manage_groups", "publish", "edit_content", "view_reports", "view_content"}}, admin); err != nil {
		return "", step("custom role", err)
	}

	manual := func(s string) *string { return &s }
	if _, err := svc.UpdateProvisioning(ctx, demoTenant, provision.ProvisioningChange{Mode: manual("manual")}, admin); err != nil {
		return "", step("manual mode", err)
	}
	ids := map[string]string{}
	manualUsers := []demoUser{
		demoPerson("Maria", "Garcia", "E1001", "Newsroom"),
		demoPerson("Tom", "Baker", "E1002", "Sports"),
		demoPerson("Lena", "Fischer", "C2001", "Contractors"),
		demoPerson("Olaf", "Berg", "C2002", "Contractors"),
	}
	for _, u := range manualUsers {
		rec, _, err := svc.CreateManualUser(ctx, demoTenant, u.attrs(), admin)
		if err != nil {
			return "", step("manual user "+u.userName, err)
		}
		ids[u.given] = rec.ID
	}
	if _, err := svc.UpdateProvisioning(ctx, demoTenant, provision.ProvisioningChange{Mode: manual("idp")}, admin); err != nil {
		return "", step("idp mode", err)
	}
	scimUsers := []demoUser{
		demoPerson("Alice", "Chen", "E1101", "Newsroom"),
		demoPerson("Bob", "Singh", "E1102", "Newsroom"),
		demoPerson("Carla", "Rossi", "E1103", "Newsroom"),
		demoPerson("Dev", "Patel", "E1104", "Sports"),
		demoPerson("Emma", "Jones", "E1105", "Sports"),
		demoPerson("Farid", "Haddad", "E1106", "Finance"),
		demoPerson("Grace", "Kim", "E1107", "Finance"),
		demoPerson("Henry", "Ohara", "E1108", "IT"),
		demoPerson("Ivan", "Petrov", "E1109", "Sports"), // the one over the limit
	}
	for _, u := range scimUsers {
		rec, err := svc.CreateUser(ctx, demoTenant, u.attrs(), provision.SCIM)
		if provision.KindOf(err) == provision.KindLicenseExhausted {
			// As the SCIM edge does with a refusal: counted and recorded,
			// so the license page shows who was refused.
			svc.ObserveSCIM(demoTenant, http.MethodPost, "/Users", http.StatusForbidden, "", err.Error())
			svc.RecordRefusal(ctx, demoTenant, provision.Refusal{Resource: "User", UserName: u.userName, Reason: "licenseExhausted", Status: http.StatusForbidden})
			continue
		}
		if err != nil {
			return "", step("SCIM user "+u.userName, err)
		}
		svc.ObserveSCIM(demoTenant, http.MethodPost, "/Users", http.StatusCreated, "", "")
		ids[u.given] = rec.ID
	}
	if _, ok := ids["Ivan"]; ok {
		return "", errors.New("demo: the license limit did not refuse the user beyond it")
	}
	inactive := false
	if _, _, err := svc.UpdateManualUser(ctx, demoTenant, ids["Olaf"], "", admin, func(doc map[string]any) error {
		doc["active"] = inactive
		return nil
	}); err != nil {
		return "", step("deactivate a contractor", err)
	}

	members := func(names ...string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = ids[n]
		}
		return out
	}
	type group struct {
		name    string
		scim    bool
		members []string
		grants  []provision.Grant
	}
	groups := []group{
		{"Newsroom Editors", true, members("Alice", "Bob", "Carla"), []provision.Grant{
			{Scope: "account", Account: "news", Role: "Publisher"}, {Scope: "account", Account: "sports", Role: "Viewer"}}},
		{"Sports Reporters", true, members("Dev", "Emma"), []provision.Grant{{Scope: "account", Account: "sports", Role: "Desk Chief"}}},
		{"Finance Team", true, members("Farid", "Grace"), []provision.Grant{{Scope: "account", Account: "finance", Role: "Account Administrator"}}},
		{"IT Admins", true, members("Henry"), []provision.Grant{{Scope: "enterprise", Role: "Enterprise Admin"}}},
		{"Desk Leads", true, members("Alice", "Dev"), []provision.Grant{{Scope: "enterprise", Role: "Enterprise Group Manager"}}},
		{"All Staff", true, members("Alice", "Bob", "Carla", "Dev", "Emma", "Farid", "Grace", "Henry"), nil},
		{"Contractors", false, members("Lena", "Olaf", "Tom"), []provision.Grant{{Scope: "account", Account: "news", Role: "Editor"}}},
	}
	for _, g := range groups {
		var id string
		if g.scim {
			rec, err := svc.CreateGroup(ctx, demoTenant, map[string]any{"displayName": g.name}, g.members, provision.SCIM)
			if err != nil {
				return "", step("SCIM group "+g.name, err)
			}
			svc.ObserveSCIM(demoTenant, http.MethodPost, "/Groups", http.StatusCreated, "", "")
			id = rec.ID
		} else {
			rec, _, err := svc.CreateManualGroup(ctx, demoTenant, g.name, g.members, admin)
			if err != nil {
				return "", step("app group "+g.name, err)
			}
			id = rec.ID
		}
		if g.grants != nil {
			if _, err := svc.PutGrants(ctx, demoTenant, id, g.grants, admin); err != nil {
				return "", step("grants of "+g.name, err)
			}
		}
	}
	if _, err := svc.RequestSeats(ctx, demoTenant, 10, "Spring interns start in March", admin); err != nil {
		return "", step("seat request", err)
	}
	if err := svc.FlushStatus(ctx); err != nil {
		return "", step("provisioning status", err)
	}
	return creds.AdminToken, nil
}

// printDemo tells how to open the demo's console.
func printDemo(w io.Writer, base, adminToken string) {
	fmt.Fprintf(w, "demo tenant ready: open %s/console/ and sign in with tenant id %q and admin token %s\n", strings.TrimRight(base, "/"), demoTenant, adminToken)
}
