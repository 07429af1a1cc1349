package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/provision"
)

// groupsPageSize is how many groups the list shows at once.
const groupsPageSize = 50

// membersShown bounds the members a group page lists by name.
const membersShown = 200

type groupRow struct {
	ID, Name, ManagedBy string
	Grants              []provision.Grant
}

type groupsView struct {
	Groups     []groupRow
	Total      int
	Start      int // 1-based
	Prev, Next int // 0: none
}

// groups lists the tenant's groups, SCIM and app groups, with their grants.
func (cs *Console) groups(c *fiber.Ctx) error {
	tenant := sessionOf(c).Tenant
	start, err := strconv.Atoi(c.Query("start", "1"))
	if err != nil || start < 1 {
		start = 1
	}
	ctx, cancel := cs.ctx()
	defer cancel()
	page, err := cs.svc.ListGroups(ctx, tenant, provision.ListQuery[provision.Group]{StartIndex: start, Count: groupsPageSize})
	if err != nil {
		return cs.fail(c, err)
	}
	ids := make([]string, 0, len(page.Resources))
	for _, g := range page.Resources {
		ids = append(ids, g.ID)
	}
	grants, err := cs.svc.GroupsGrants(ctx, tenant, ids)
	if err != nil {
		return cs.fail(c, err)
	}
	v := groupsView{Total: page.Total, Start: start}
	for _, g := range page.Resources {
		v.Groups = append(v.Groups, groupRow{ID: g.ID, Name: groupName(g), ManagedBy: g.ManagedBy, Grants: grants[g.ID]})
	}
	if start > 1 {
		v.Prev = max(1, start-groupsPageSize)
	}
	if start+groupsPageSize <= page.Total {
		v.Next = start + groupsPageSize
	}
	return cs.render(c, http.StatusOK, "groups", v)
}

func groupName(g provision.Group) string {
	name, _ := g.Attrs["displayName"].(string)
	return name
}

// grantRow is one row of the grants editor.
type grantRow struct {
	Where string // "enterprise" or "account:<id>"
	Role  string
}

type groupView struct {
	ID, Name, ManagedBy string
	Members             []provision.User
	MemberCount         int
	Rows                []grantRow
	Roles               []provision.RoleInfo
	Accounts            []provision.Account
	Flash               *flash
}

// group shows one group: its members and the grants editor, whose changes
// are previewed (groupPreview) before they are saved.
func (cs *Console) group(c *fiber.Ctx) error {
	v, err := cs.groupView(c, pathParam(c, "id"))
	if err != nil {
		return cs.fail(c, err)
	}
	switch c.Query("saved") {
	case "grants":
		v.Flash = &flash{Kind: "ok", Text: "The grants are saved."}
	case "created":
		v.Flash = &flash{Kind: "ok", Text: "The app group is created. Grant it roles below."}
	}
	return cs.render(c, http.StatusOK, "group", v)
}

func (cs *Console) groupView(c *fiber.Ctx, id string) (groupView, error) {
	tenant := sessionOf(c).Tenant
	ctx, cancel := cs.ctx()
	defer cancel()
	g, err := cs.svc.GetGroup(ctx, tenant, id, true)
	if err != nil {
		return groupView{}, err
	}
	v := groupView{ID: g.ID, Name: groupName(g), ManagedBy: g.ManagedBy, MemberCount: len(g.Members)}
	if len(g.Members) > 0 {
		// The first membersShown by id: a page of a 10,000-member group
		// reads 200 users, not 10,000.
		shown := slices.Sorted(slices.Values(g.Members))[:min(len(g.Members), membersShown)]
		lookups := make([]provision.Lookup, len(shown))
		for i, m := range shown {
			lookups[i] = provision.Lookup{Attr: provision.LookupID, Value: m}
		}
		page, err := cs.svc.ListUsers(ctx, tenant, provision.ListQuery[provision.User]{Indexed: true, Lookups: lookups, StartIndex: 1, Count: membersShown})
		if err != nil {
			return groupView{}, err
		}
		v.Members = page.Resources
	}
	grants, err := cs.svc.GetGrants(ctx, tenant, id)
	if err != nil {
		return groupView{}, err
	}
	for _, gr := range grants {
		v.Rows = append(v.Rows, grantRow{Where: whereOf(gr), Role: gr.Role})
	}
	v.Rows = append(v.Rows, grantRow{}) // a blank row adds a grant
	if v.Roles, err = cs.svc.ListRoles(ctx, tenant); err != nil {
		return groupView{}, err
	}
	v.Accounts, err = cs.svc.ListAccounts(ctx, tenant)
	return v, err
}

func whereOf(g provision.Grant) string {
	if g.Scope == "account" {
		return "account:" + g.Account
	}
	return "enterprise"
}

// grantsFromForm reads the editor's rows; a row without a role is dropped.
func grantsFromForm(form url.Values) []provision.Grant {
	wheres, roles := form["where"], form["role"]
	out := []provision.Grant{}
	for i := range min(len(wheres), len(roles), provision.MaxGrantsPerGroup+1) {
		if roles[i] == "" {
			continue
		}
		g := provision.Grant{Scope: "enterprise", Role: roles[i]}
		if acc, ok := strings.CutPrefix(wheres[i], "account:"); ok {
			g.Scope, g.Account = "account", acc
		}
		out = append(out, g)
	}
	return out
}

type previewView struct {
	Preview  provision.GrantPreview
	Accounts map[string]string // id -> name
	Groups   map[string]string // id -> name, for the candidates
	Error    string
}

// groupPreview answers the grants editor's htmx request with the members
// whose access the edited grants would move, decided by the policies; it
// changes nothing.
func (cs *Console) groupPreview(c *fiber.Ctx) error {
	tenant, id := sessionOf(c).Tenant, pathParam(c, "id")
	ctx, cancel := cs.ctx()
	defer cancel()
	p, err := cs.svc.PreviewGrants(ctx, tenant, id, grantsFromForm(formOf(c)))
	if provision.KindOf(err) == provision.KindInvalid {
		return cs.fragment(c, http.StatusOK, "group", "preview", previewView{Error: errorDetail(err)})
	}
	if err != nil {
		return cs.fail(c, err)
	}
	v := previewView{Preview: p}
	if v.Accounts, err = cs.accountNames(ctx, tenant); err != nil {
		return cs.fail(c, err)
	}
	if v.Groups, err = cs.candidateGroups(ctx, tenant, p); err != nil {
		return cs.fail(c, err)
	}
	return cs.fragment(c, http.StatusOK, "group", "preview", v)
}

// createGroup makes an app group (members are added by the identity
// provider or through the admin API) and opens its page to grant roles.
func (cs *Console) createGroup(c *fiber.Ctx) error {
	ctx, cancel := cs.ctx()
	defer cancel()
	g, _, err := cs.svc.CreateManualGroup(ctx, sessionOf(c).Tenant, strings.TrimSpace(formOf(c).Get("displayName")), nil, cs.actor(c))
	if err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/groups/"+url.PathEscape(g.ID)+"?saved=created", http.StatusSeeOther)
}

// saveGrants replaces the group's grants.
func (cs *Console) saveGrants(c *fiber.Ctx) error {
	id := pathParam(c, "id")
	ctx, cancel := cs.ctx()
	defer cancel()
	if _, err := cs.svc.PutGrants(ctx, sessionOf(c).Tenant, id, grantsFromForm(formOf(c)), cs.actor(c)); err != nil {
		return cs.fail(c, err)
	}
	return c.Redirect(Root+"/groups/"+url.PathEscape(id)+"?saved=grants", http.StatusSeeOther)
}

func (cs *Console) accountNames(ctx context.Context, tenant string) (map[string]string, error) {
	accs, err := cs.svc.ListAccounts(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(accs))
	for _, a := range accs {
		out[a.ID] = a.Name
	}
	return out, nil
}

// candidateGroups names the groups the preview's candidates came from.
func (cs *Console) candidateGroups(ctx context.Context, tenant string, p provision.GrantPreview) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range p.Changes {
		for _, rc := range m.Changes {
			if rc.After == nil {
				continue
			}
			for _, cand := range rc.After.Candidates {
				if _, ok := out[cand.Group]; ok {
					continue
				}
				g, err := cs.svc.GetGroup(ctx, tenant, cand.Group, false)
				if provision.KindOf(err) == provision.KindNotFound {
					out[cand.Group] = cand.Group
					continue
				}
				if err != nil {
					return nil, err
				}
				out[cand.Group] = groupName(g)
			}
		}
	}
	return out, nil
}

// errorDetail is a service error's text for the page.
func errorDetail(err error) string {
	if pe, ok := err.(*provision.Error); ok {
		return pe.Detail
	}
	return "internal error"
}

// RuleText says a decision's rule in plain words, for the template.
func (previewView) RuleText(r policies.Rule) string {
	switch r {
	case policies.RuleHighestScore:
		return "highest score"
	case policies.RuleTieByName:
		return "tie: alphabetical"
	case policies.RuleSubAccountOverride:
		return "explicit sub-account role overrides inherited Enterprise Admin"
	case policies.RuleInheritedFullAccess:
		return "inherited from an enterprise role with full access"
	case policies.RuleGroupManagerPenalty:
		return "Group Manager −10"
	}
	return string(r)
}

// pathParam returns a path parameter unescaped and detached from
// fasthttp's buffers.
func pathParam(c *fiber.Ctx, name string) string {
	raw := c.Params(name)
	if v, err := url.PathUnescape(raw); err == nil {
		return strings.Clone(v)
	}
	return strings.Clone(raw)
}
