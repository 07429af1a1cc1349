package console

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/scimd/scimd/policies"
	"github.com/scimd/scimd/server/httpstatus"
	"github.com/scimd/scimd/server/provision"
)

// field is one editable attribute of the user page, with the locks
// policy's answer for changing it.
type field struct {
	Name, Label, Value, Type string
	Lock                     provision.FieldLock
}

type userGroup struct {
	ID, Name, ManagedBy string
}

// accessRow is the decision at one level: enterprise, or a sub-account.
type accessRow struct {
	Where      string
	Role       string
	Score      int
	Rule       string
	Candidates []candidateRow
}

type candidateRow struct {
	Role, Group, Scope string
	Score              int
	Won                bool
}

type ignoredRow struct {
	Role, Group, Scope, Why string
}

type userView struct {
	User   provision.User
	Fields []field
	// AllLocked says no field may be changed here.
	AllLocked   bool
	ActiveLock  provision.FieldLock
	GroupsLock  provision.FieldLock
	Groups      []userGroup
	Access      []accessRow
	Ignored     []ignoredRow
	MaxScore    int
	Flash       *flash
	Warnings    []string
	AuditTarget string
}

// ruleWords says in plain words how each rule of role resolution decided.
var ruleWords = map[policies.Rule]string{
	policies.RuleHighestScore:        "Highest score wins.",
	policies.RuleTieByName:           "Tie on the highest score: the alphabetically first role wins.",
	policies.RuleSubAccountOverride:  "An explicit sub-account role overrides the role inherited from enterprise level, even a higher one.",
	policies.RuleInheritedFullAccess: "No role granted for this sub-account: the enterprise role, which grants full access to all sub-accounts, applies here.",
	policies.RuleGroupManagerPenalty: "The Group Manager penalty decided between the enterprise roles.",
}

// ignoreWords says why a grant took no part.
var ignoreWords = map[policies.IgnoreReason]string{
	policies.IgnoredUnknownRole:    "no role has this name",
	policies.IgnoredInvalidScope:   "its scope is neither enterprise nor a sub-account",
	policies.IgnoredLevelMismatch:  "the role's level is not the grant's scope",
	policies.IgnoredUnknownAccount: "the sub-account does not exist",
	policies.IgnoredInactiveUser:   "the user is deactivated",
}

// editable are the user page's fields, in order, with their labels.
var editable = []struct{ name, label, typ string }{
	{"userName", "userName", "text"},
	{"givenName", "Given name", "text"},
	{"familyName", "Family name", "text"},
	{"displayName", "Display name", "text"},
	{"email", "Work email", "email"},
	{"employeeNumber", "Employee ID", "text"},
	{"department", "Department", "text"},
}

func fieldValue(f provision.UserFields, name string) string {
	return map[string]string{"userName": f.UserName, "givenName": f.GivenName, "familyName": f.FamilyName, "displayName": f.DisplayName,
		"email": f.Email, "employeeNumber": f.EmployeeNumber, "department": f.Department}[name]
}

// userView reads everything the user page shows: the user, the locks
// policy's answer for each field, its groups and its effective access
// with the explanation.
func (cs *Console) userView(c *fiber.Ctx, id string) (userView, error) {
	tenant := sessionOf(c).Tenant
	ctx, cancel := cs.ctx()
	defer cancel()
	u, err := cs.svc.GetUser(ctx, tenant, id)
	if err != nil {
		return userView{}, err
	}
	locks, err := cs.svc.UserLocks(ctx, tenant, u)
	if err != nil {
		return userView{}, err
	}
	v := userView{User: u, ActiveLock: locks["active"], GroupsLock: locks["groups"], AuditTarget: u.ID}
	fields := u.Fields()
	v.AllLocked = true
	for _, e := range editable {
		v.Fields = append(v.Fields, field{Name: e.name, Label: e.label, Type: e.typ, Value: fieldValue(fields, e.name), Lock: locks[e.name]})
		v.AllLocked = v.AllLocked && locks[e.name].Locked
	}
	groups, err := cs.svc.UserGroups(ctx, tenant, id)
	if err != nil {
		return userView{}, err
	}
	names := map[string]string{}
	for _, g := range groups {
		name, _ := g.Attrs["displayName"].(string)
		names[g.ID] = name
		v.Groups = append(v.Groups, userGroup{ID: g.ID, Name: name, ManagedBy: g.ManagedBy})
	}
	sort.Slice(v.Groups, func(i, j int) bool { return strings.ToLower(v.Groups[i].Name) < strings.ToLower(v.Groups[j].Name) })
	access, err := cs.svc.UserAccess(ctx, tenant, id)
	if err != nil {
		return userView{}, err
	}
	accounts, err := cs.svc.ListAccounts(ctx, tenant)
	if err != nil {
		return userView{}, err
	}
	roles, err := cs.svc.ListRoles(ctx, tenant)
	if err != nil {
		return userView{}, err
	}
	v.MaxScore = 1
	for _, r := range roles {
		v.MaxScore = max(v.MaxScore, r.Score)
	}
	accountName := map[string]string{}
	for _, a := range accounts {
		accountName[a.ID] = a.Name
	}
	groupName := func(id string) string {
		if n := names[id]; n != "" {
			return n
		}
		return id
	}
	row := func(where string, r *policies.ExplainedRole) accessRow {
		if r == nil {
			return accessRow{Where: where}
		}
		out := accessRow{Where: where, Role: r.Role, Score: r.Score, Rule: ruleWords[r.Rule]}
		if out.Rule == "" {
			out.Rule = string(r.Rule)
		}
		for _, cand := range r.Candidates {
			scope := "Enterprise"
			if cand.Account != "" {
				scope = "Sub-account " + or(accountName[cand.Account], cand.Account)
			}
			out.Candidates = append(out.Candidates, candidateRow{Role: cand.Role, Score: cand.Score, Group: groupName(cand.Group), Scope: scope, Won: cand.Role == r.Role})
		}
		sort.SliceStable(out.Candidates, func(i, j int) bool { return out.Candidates[i].Score > out.Candidates[j].Score })
		return out
	}
	v.Access = append(v.Access, row("Enterprise", access.Enterprise))
	for _, a := range accounts {
		v.Access = append(v.Access, row(or(a.Name, a.ID), access.Accounts[a.ID]))
	}
	for _, g := range access.Ignored {
		scope := string(g.Scope)
		if g.Account != "" {
			scope += " " + or(accountName[g.Account], g.Account)
		}
		v.Ignored = append(v.Ignored, ignoredRow{Role: g.Role, Group: groupName(g.Group), Scope: scope, Why: or(ignoreWords[g.Reason], string(g.Reason))})
	}
	return v, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// user is one user's page.
func (cs *Console) user(c *fiber.Ctx) error {
	v, err := cs.userView(c, strings.Clone(c.Params("id")))
	if err != nil {
		return cs.fail(c, err)
	}
	v.Flash = saved[c.Query("saved")]
	return cs.render(c, http.StatusOK, "user", v)
}

// editUser changes the fields the form changed (or the user's status)
// through the same service call as the admin API's PATCH, so the locks
// policy decides; a refusal shows the policy's reason on the page.
func (cs *Console) editUser(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	form := formOf(c)
	tenant := sessionOf(c).Tenant
	ctx, cancel := cs.ctx()
	defer cancel()
	current, err := cs.svc.GetUser(ctx, tenant, id)
	if err != nil {
		return cs.fail(c, err)
	}
	var edit provision.UserEdit
	switch form.Get("active") {
	case "true", "false":
		active := form.Get("active") == "true"
		edit.Active = &active
	case "":
		// Only what the form changed: an unchanged field (a locked one
		// included) is no change to decide on.
		fields := current.Fields()
		for _, e := range editable {
			if !form.Has(e.name) {
				continue
			}
			value := strings.TrimSpace(form.Get(e.name))
			if value == fieldValue(fields, e.name) {
				continue
			}
			p := &value
			switch e.name {
			case "userName":
				edit.UserName = p
			case "givenName":
				edit.GivenName = p
			case "familyName":
				edit.FamilyName = p
			case "displayName":
				edit.DisplayName = p
			case "email":
				edit.Email = p
			case "employeeNumber":
				edit.EmployeeNumber = p
			case "department":
				edit.Department = p
			}
		}
	default:
		return cs.errorPage(c, sessionOf(c), http.StatusBadRequest, "The status must be active or inactive.")
	}
	ifMatch := ""
	if ver, err := strconv.ParseInt(form.Get("version"), 10, 64); err == nil {
		ifMatch = fmt.Sprintf(`W/"%d"`, ver)
	}
	_, warnings, err := cs.svc.UpdateManualUser(ctx, tenant, id, ifMatch, cs.actor(c), func(doc map[string]any) error {
		edit.Apply(doc)
		return nil
	})
	var pe *provision.Error
	if errors.As(err, &pe) && (pe.Kind == provision.KindForbidden || pe.Kind == provision.KindInvalid || pe.Kind == provision.KindUniqueness || pe.Kind == provision.KindPrecondition || pe.Kind == provision.KindLicenseExhausted) {
		v, verr := cs.userView(c, id)
		if verr != nil {
			return cs.fail(c, verr)
		}
		text := pe.Detail
		if pe.Kind == provision.KindPrecondition {
			text = "Someone changed this user while you were editing; here is the current version. Make your change again."
		}
		v.Flash = &flash{Kind: "error", Text: "Not saved: " + text}
		return cs.render(c, httpstatus.Of(pe.Kind), "user", v)
	}
	if err != nil {
		return cs.fail(c, err)
	}
	if len(warnings) > 0 {
		v, err := cs.userView(c, id)
		if err != nil {
			return cs.fail(c, err)
		}
		v.Flash, v.Warnings = saved["user"], warnings
		return cs.render(c, http.StatusOK, "user", v)
	}
	return c.Redirect(Root+"/users/"+id+"?saved=user", http.StatusSeeOther)
}
