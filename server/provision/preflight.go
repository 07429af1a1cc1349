package provision

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/scimd/scimd/storage"
)

// MaxPreflightUsers bounds the identity provider's list one preflight takes:
// far above any tenant we serve, low enough that one request cannot hold
// the server's memory.
const MaxPreflightUsers = 200_000

// The manager of a user created in the app.
const managedManual = "manual"

// The tenant's settings for unmatched manual users.
const (
	UnmatchedKeep       = "keep"
	UnmatchedDeactivate = "deactivate"
)

// IdPUser is one user of the identity provider's export, as the edge read
// it. Entra's default mappings make userPrincipalName the userName, mail the
// work email and employeeId the employeeNumber.
type IdPUser struct {
	// Row says where the user is in the request ("line 7", "users[3]"), for messages.
	Row               string
	UserPrincipalName string
	Mail              string
	EmployeeID        string
	DisplayName       string
	Enabled           bool // accountEnabled
}

func (p IdPUser) value(identifier string) string {
	switch identifier {
	case MatchUserName:
		return p.UserPrincipalName
	case MatchEmail:
		return p.Mail
	case MatchEmployeeNumber:
		return p.EmployeeID
	}
	return ""
}

// label names the user in the report: its userPrincipalName, else the
// identifier it has.
func (p IdPUser) label() string {
	for _, v := range []string{p.UserPrincipalName, p.Mail, p.EmployeeID} {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// PreflightReport is what a migration from manual users to the identity
// provider would do, computed without changing anything. Lists follow the
// order of the identity provider's list, users and groups their creation order.
type PreflightReport struct {
	MatchBy        []string               `json:"matchBy"`
	UnmatchedUsers string                 `json:"unmatchedUsers"` // the tenant's setting
	Counts         PreflightCounts        `json:"counts"`
	Links          []PreflightLink        `json:"links"`
	Conflicts      []PreflightConflict    `json:"conflicts"`
	Provisioned    []PreflightProvisioned `json:"alreadyProvisioned"`
	NearMisses     []NearMiss             `json:"nearMisses"`
	Unmatched      []UnmatchedUser        `json:"unmatchedManualUsers"`
	Seats          SeatPlan               `json:"seats"`
	GroupsNoGrants []GroupWithoutGrants   `json:"groupsWithoutGrants"`
}

// PreflightCounts sums up a report.
type PreflightCounts struct {
	IdPUsers            int `json:"idpUsers"`
	EnabledIdPUsers     int `json:"enabledIdpUsers"`
	ManualUsers         int `json:"manualUsers"`
	Links               int `json:"links"`
	Creates             int `json:"creates"` // IdP users that will become new users
	Conflicts           int `json:"conflicts"`
	AlreadyProvisioned  int `json:"alreadyProvisioned"`
	NearMisses          int `json:"nearMisses"`
	Unmatched           int `json:"unmatchedManualUsers"`
	GroupsWithoutGrants int `json:"groupsWithoutGrants"`
}

// PreflightLink is a manual user that a SCIM create of the IdP user will link.
type PreflightLink struct {
	IdPUser    string `json:"idpUser"`
	Row        string `json:"row"`
	UserID     string `json:"id"`
	UserName   string `json:"userName"`
	Identifier string `json:"identifier"` // the first of MatchBy that matches
	Value      string `json:"value"`      // the IdP's value of it
	Active     bool   `json:"active"`     // the user now
	Enabled    bool   `json:"enabled"`    // in the IdP: what the user will be
}

// The reasons of a conflict.
const (
	// ConflictAmbiguous: the identifiers match different manual users; the
	// SCIM create answers 409 and changes nothing.
	ConflictAmbiguous = "ambiguous"
	// ConflictUserNameTaken: another user holds the userName (case-insensitively),
	// so the link or create answers 409.
	ConflictUserNameTaken = "userNameTaken"
	// ConflictSameUser: several IdP users link the same manual user; whichever
	// the IdP sends first takes it, and the others become users of their own.
	ConflictSameUser = "sameUser"
	// ConflictDuplicate: the list holds the userPrincipalName more than once.
	ConflictDuplicate = "duplicate"
)

// PreflightConflict is an IdP user that will not provision cleanly.
type PreflightConflict struct {
	IdPUser       string           `json:"idpUser"`
	Row           string           `json:"row"`
	Reason        string           `json:"reason"`
	Detail        string           `json:"detail"`
	Users         []PreflightMatch `json:"users"`
	OtherIdPUsers []string         `json:"otherIdpUsers,omitempty"`
}

// PreflightMatch is an existing user an IdP user matches, and by what.
type PreflightMatch struct {
	UserID     string `json:"id"`
	UserName   string `json:"userName"`
	ManagedBy  string `json:"managedBy"`
	Identifier string `json:"identifier"`
	Value      string `json:"value"` // the user's value
}

// PreflightProvisioned is an IdP user that a SCIM-managed user already
// stands for (same userName): the IdP updates it, nothing links.
type PreflightProvisioned struct {
	IdPUser  string `json:"idpUser"`
	Row      string `json:"row"`
	UserID   string `json:"id"`
	UserName string `json:"userName"`
	Active   bool   `json:"active"`
	Enabled  bool   `json:"enabled"`
}

// The differences a near miss can have.
const (
	NearMissWhitespace = "whitespace" // equal once whitespace is removed
	NearMissCase       = "case"       // equal only under Unicode case folding (and whitespace removal)
)

// NearMiss is an identifier of an IdP user that equals a user's only after
// normalising, so it will not link, and probably should.
type NearMiss struct {
	IdPUser    string `json:"idpUser"`
	Row        string `json:"row"`
	Identifier string `json:"identifier"`
	IdPValue   string `json:"idpValue"`
	UserID     string `json:"id"`
	UserName   string `json:"userName"`
	ManagedBy  string `json:"managedBy"`
	UserValue  string `json:"userValue"`
	Difference string `json:"difference"`
}

// What finalizing does to an unmatched manual user.
const (
	OutcomeKept            = "kept"            // stays a manual user, editable in the app
	OutcomeDeactivated     = "deactivated"     // deactivated by finalize, freeing its seat
	OutcomeAlreadyInactive = "alreadyInactive" // deactivate, but it is inactive already
)

// UnmatchedUser is a manual user no IdP user links.
type UnmatchedUser struct {
	UserID         string `json:"id"`
	UserName       string `json:"userName"`
	Email          string `json:"email,omitempty"`
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	Active         bool   `json:"active"`
	Outcome        string `json:"outcome"`
	InConflict     bool   `json:"inConflict,omitempty"` // named by a conflict: resolving it may link the user
	NearMiss       bool   `json:"nearMiss,omitempty"`   // named by a near miss
}

// SeatPlan compares the seats the migration needs with the license.
// Needed counts every enabled IdP user (conflicts too, as if resolved into
// users of their own), the manual users that stay active under the setting
// and the active SCIM users the list does not name; it errs high on purpose.
type SeatPlan struct {
	Limit     int64 `json:"limit"`
	InUse     int64 `json:"inUse"`
	Needed    int64 `json:"needed"`
	Shortfall int64 `json:"shortfall"` // Needed - Limit when positive
	// The parts of Needed.
	EnabledIdPUsers    int64 `json:"enabledIdpUsers"`
	ManualKeptActive   int64 `json:"manualUsersKeptActive"`
	OtherActiveSCIM    int64 `json:"otherActiveScimUsers"`
	ReactivatedByLinks int64 `json:"reactivatedByLinks"` // linked users inactive now that the IdP enables: each takes a seat
}

// GroupWithoutGrants is a group that grants its members no role yet.
type GroupWithoutGrants struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// Preflight tells what migrating the tenant to its identity provider would
// do with the provider's user list, changing nothing: the links SCIM creates
// will make (by the tenant's MatchBy, as CreateUser decides them), the
// conflicts, the near misses, the manual users left over and what finalizing
// does to them, the seats needed and the groups without grants. It reads the
// tenant's users and groups once and matches in memory.
// Returns KindInvalid (an empty or oversized list, a user without
// identifiers), KindNotFound (tenant), KindUnavailable.
func (s *Service) Preflight(ctx context.Context, tenant string, idp []IdPUser) (PreflightReport, error) {
	if err := validateIdPUsers(idp); err != nil {
		return PreflightReport{}, err
	}
	t, err := s.store.GetTenant(ctx, tenant)
	if err != nil {
		return PreflightReport{}, fromStorage(err, "tenant")
	}
	used, err := s.store.SeatsUsed(ctx, tenant)
	if err != nil {
		return PreflightReport{}, fromStorage(err, "tenant")
	}
	var users []*userRef
	err = s.store.ScanUsers(ctx, tenant, func(batch []storage.User) bool {
		for _, u := range batch {
			// Only the indexed values: the documents are not needed.
			users = append(users, &userRef{id: u.ID, userName: u.UserName, email: u.WorkEmail,
				employeeNumber: u.EmployeeNumber, managedBy: u.ManagedBy, active: u.Active})
		}
		return true
	})
	if err != nil {
		return PreflightReport{}, fromStorage(err, "users")
	}
	groups, err := s.groupsWithoutGrants(ctx, tenant)
	if err != nil {
		return PreflightReport{}, err
	}
	rep := planMigration(idp, users, matchOrder(t.MatchBy), unmatchedSetting(t.UnmatchedUsers))
	rep.Seats.Limit, rep.Seats.InUse = t.LicenseLimit, used
	rep.Seats.Shortfall = max(0, rep.Seats.Needed-t.LicenseLimit)
	rep.GroupsNoGrants = groups
	rep.Counts.GroupsWithoutGrants = len(groups)
	return rep, nil
}

func validateIdPUsers(idp []IdPUser) error {
	switch {
	case len(idp) == 0:
		return &Error{Kind: KindInvalid, Detail: "the user list is empty: send the identity provider's users"}
	case len(idp) > MaxPreflightUsers:
		return &Error{Kind: KindInvalid, Detail: fmt.Sprintf("the user list has %d users; a preflight takes at most %d", len(idp), MaxPreflightUsers)}
	}
	for i, p := range idp {
		if p.label() == "" {
			row := p.Row
			if row == "" {
				row = fmt.Sprintf("user %d", i+1)
			}
			return &Error{Kind: KindInvalid, Detail: row + ": the user has none of userPrincipalName, mail and employeeId, so nothing can match it"}
		}
	}
	return nil
}

// matchOrder is the tenant's MatchBy, defaulted as linkTarget defaults it.
func matchOrder(m []string) []string {
	if m == nil {
		return DefaultMatchBy
	}
	return m
}

// unmatchedSetting reads a tenant's UnmatchedUsers; tenants made before the
// setting existed keep their manual users.
func unmatchedSetting(v string) string {
	if v == UnmatchedDeactivate {
		return v
	}
	return UnmatchedKeep
}

func (s *Service) groupsWithoutGrants(ctx context.Context, tenant string) ([]GroupWithoutGrants, error) {
	var groups []GroupWithoutGrants
	err := s.store.ScanGroups(ctx, tenant, func(batch []storage.Group) bool {
		for _, g := range batch {
			groups = append(groups, GroupWithoutGrants{ID: g.ID, DisplayName: g.DisplayName})
		}
		return true
	})
	if err != nil {
		return nil, fromStorage(err, "groups")
	}
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
	}
	grants, err := s.store.Grants(ctx, tenant, ids)
	if err != nil {
		return nil, fromStorage(err, "grants")
	}
	out := []GroupWithoutGrants{}
	for _, g := range groups {
		if len(grants[g.ID]) == 0 {
			out = append(out, g)
		}
	}
	return out, nil
}

// userRef is the part of a stored user that matching reads.
type userRef struct {
	id, userName, email, employeeNumber, managedBy string
	active                                         bool
}

func (u *userRef) value(identifier string) string {
	switch identifier {
	case MatchUserName:
		return u.userName
	case MatchEmail:
		return u.email
	case MatchEmployeeNumber:
		return u.employeeNumber
	}
	return ""
}

func (u *userRef) match(identifier string) PreflightMatch {
	return PreflightMatch{UserID: u.id, UserName: u.userName, ManagedBy: u.managedBy, Identifier: identifier, Value: u.value(identifier)}
}

var matchIdentifiers = []string{MatchUserName, MatchEmail, MatchEmployeeNumber}

// userDirectory holds the tenant's users in the shape of storage's indexes
// (userName and work email lower-cased, employeeNumber exact), plus a
// normalised index for near misses.
type userDirectory struct {
	byUserName map[string]*userRef
	byEmail    map[string][]*userRef
	byEmployee map[string][]*userRef
	near       map[string]map[string][]*userRef // identifier -> nearKey -> users
}

func newUserDirectory(users []*userRef) *userDirectory {
	d := &userDirectory{
		byUserName: make(map[string]*userRef, len(users)),
		byEmail:    map[string][]*userRef{},
		byEmployee: map[string][]*userRef{},
		near:       map[string]map[string][]*userRef{},
	}
	for _, id := range matchIdentifiers {
		d.near[id] = map[string][]*userRef{}
	}
	for _, u := range users {
		d.byUserName[strings.ToLower(u.userName)] = u
		if u.email != "" {
			d.byEmail[strings.ToLower(u.email)] = append(d.byEmail[strings.ToLower(u.email)], u)
		}
		if u.employeeNumber != "" {
			d.byEmployee[u.employeeNumber] = append(d.byEmployee[u.employeeNumber], u)
		}
		for _, id := range matchIdentifiers {
			if k := nearKey(u.value(id)); k != "" {
				d.near[id][k] = append(d.near[id][k], u)
			}
		}
	}
	// Storage answers set lookups sorted by id, which decides which user
	// linkTarget meets first.
	for _, m := range []map[string][]*userRef{d.byEmail, d.byEmployee} {
		for _, us := range m {
			sort.Slice(us, func(i, j int) bool { return us[i].id < us[j].id })
		}
	}
	return d
}

// exact is FindUsers over the in-memory indexes.
func (d *userDirectory) exact(identifier, value string) []*userRef {
	if value == "" {
		return nil
	}
	switch identifier {
	case MatchUserName:
		if u := d.byUserName[strings.ToLower(value)]; u != nil {
			return []*userRef{u}
		}
	case MatchEmail:
		return d.byEmail[strings.ToLower(value)]
	case MatchEmployeeNumber:
		return d.byEmployee[value]
	}
	return nil
}

// indexEqual compares two values as storage's index for identifier does.
func indexEqual(identifier, a, b string) bool {
	if identifier == MatchEmployeeNumber {
		return a == b
	}
	//lint:ignore SA6005 the index lowercases; EqualFold folds otherwise (the Kelvin sign K is k to it)
	return strings.ToLower(a) == strings.ToLower(b)
}

// nearKey normalises beyond the indexes: whitespace (also inner and
// zero-width) removed, every rune replaced by the smallest of its Unicode
// simple case folding orbit (so "ſ" meets "s" and "ς" meets "σ", which
// lower-casing keeps apart).
func nearKey(v string) string {
	var b strings.Builder
	for _, r := range v {
		if isSpace(r) {
			continue
		}
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff'
}

func stripSpace(v string) string {
	return strings.Map(func(r rune) rune {
		if isSpace(r) {
			return -1
		}
		return r
	}, v)
}

// linkEvaluation is what a SCIM create of one IdP user would meet, as
// linkTarget and the userName index decide it.
type linkEvaluation struct {
	target  *userRef // the manual user it links
	by      string
	matches []PreflightMatch // every manual user matched, by each identifier
	matched map[string]bool  // ids of matches
	split   bool             // matches name different users: 409
	owner   *userRef         // holds the userName (case-insensitively)
}

func (d *userDirectory) evaluate(p IdPUser, order []string) linkEvaluation {
	e := linkEvaluation{matched: map[string]bool{}}
	for _, m := range order {
		for _, u := range d.exact(m, p.value(m)) {
			if u.managedBy != managedManual {
				continue // as linkTarget: SCIM users are not linked
			}
			e.matches = append(e.matches, u.match(m))
			e.matched[u.id] = true
			switch {
			case e.target == nil:
				e.target, e.by = u, m
			case e.target.id != u.id:
				e.split = true
			}
		}
	}
	if p.UserPrincipalName != "" {
		e.owner = d.byUserName[strings.ToLower(p.UserPrincipalName)]
	}
	return e
}

// planMigration builds the report from the tenant's users; the caller adds what
// needs the store (seat limit and use, groups).
func planMigration(idp []IdPUser, users []*userRef, order []string, setting string) PreflightReport {
	d := newUserDirectory(users)
	rep := PreflightReport{
		MatchBy:        order,
		UnmatchedUsers: setting,
		Links:          []PreflightLink{},
		Conflicts:      []PreflightConflict{},
		Provisioned:    []PreflightProvisioned{},
		NearMisses:     []NearMiss{},
		Unmatched:      []UnmatchedUser{},
	}
	type pending struct {
		p IdPUser
		e linkEvaluation
	}
	var links []pending
	claims := map[string][]int{}    // manual user id -> the links (indexes) to it
	firstRow := map[string]string{} // lower userPrincipalName -> the row it first appears in
	inList := map[string]bool{}     // ids of users whose userName an IdP user carries
	named := map[string]bool{}      // ids of manual users named by conflicts
	nearMissed := map[string]bool{} // ids of users named by near misses
	conflict := func(p IdPUser, reason, detail string, users []PreflightMatch) {
		rep.Conflicts = append(rep.Conflicts, PreflightConflict{IdPUser: p.label(), Row: p.Row, Reason: reason, Detail: detail, Users: users})
		for _, u := range users {
			named[u.UserID] = true
		}
	}
	var enabled int64
	rep.Counts.IdPUsers = len(idp)
	for _, p := range idp {
		upn := strings.ToLower(p.UserPrincipalName)
		if upn != "" {
			if row, dup := firstRow[upn]; dup {
				conflict(p, ConflictDuplicate, fmt.Sprintf("the list holds userPrincipalName %q more than once (first at %s): only one of them can be provisioned", p.UserPrincipalName, row), []PreflightMatch{})
				continue
			}
			firstRow[upn] = p.Row
		}
		if p.Enabled {
			enabled++
		}
		e := d.evaluate(p, order)
		if e.owner != nil {
			inList[e.owner.id] = true
		}
		rep.NearMisses = append(rep.NearMisses, d.nearMisses(p, e, order, nearMissed)...)
		switch {
		case e.split:
			conflict(p, ConflictAmbiguous, "the identifiers match different manual users: the SCIM create will be refused (409) until the users are merged or an identifier is corrected in the app", e.matches)
		case e.target != nil && e.owner != nil && e.owner.id != e.target.id:
			conflict(p, ConflictUserNameTaken, fmt.Sprintf("the user matches manual user %s by %s, but user %s holds userName %q: the link will be refused (409)", e.target.id, e.by, e.owner.id, e.owner.userName),
				append(e.matches, e.owner.match(MatchUserName)))
		case e.target != nil:
			claims[e.target.id] = append(claims[e.target.id], len(links))
			links = append(links, pending{p, e})
		case e.owner != nil && e.owner.managedBy != managedManual:
			rep.Provisioned = append(rep.Provisioned, PreflightProvisioned{IdPUser: p.label(), Row: p.Row, UserID: e.owner.id, UserName: e.owner.userName, Active: e.owner.active, Enabled: p.Enabled})
		case e.owner != nil:
			conflict(p, ConflictUserNameTaken, fmt.Sprintf("manual user %s holds userName %q, but the tenant does not link by userName: the SCIM create will be refused (409)", e.owner.id, e.owner.userName),
				[]PreflightMatch{e.owner.match(MatchUserName)})
		default:
			rep.Counts.Creates++
		}
	}
	claimed := map[string]bool{}
	for i, l := range links {
		t := l.e.target
		claimed[t.id] = true
		if others := claims[t.id]; len(others) > 1 {
			c := PreflightConflict{IdPUser: l.p.label(), Row: l.p.Row, Reason: ConflictSameUser,
				Detail: fmt.Sprintf("%d IdP users link manual user %s: the first one provisioned takes it, the others become new users", len(others), t.id),
				Users:  l.e.matches}
			for _, o := range others {
				if o != i {
					c.OtherIdPUsers = append(c.OtherIdPUsers, links[o].p.label())
				}
			}
			rep.Conflicts = append(rep.Conflicts, c)
			continue
		}
		rep.Links = append(rep.Links, PreflightLink{IdPUser: l.p.label(), Row: l.p.Row, UserID: t.id, UserName: t.userName,
			Identifier: l.e.by, Value: l.p.value(l.e.by), Active: t.active, Enabled: l.p.Enabled})
		if !t.active && l.p.Enabled {
			rep.Seats.ReactivatedByLinks++
		}
	}
	for _, u := range users {
		switch {
		case u.managedBy == managedManual:
			rep.Counts.ManualUsers++
			if claimed[u.id] {
				continue
			}
			un := UnmatchedUser{UserID: u.id, UserName: u.userName, Email: u.email, EmployeeNumber: u.employeeNumber, Active: u.active,
				Outcome: OutcomeKept, InConflict: named[u.id], NearMiss: nearMissed[u.id]}
			switch {
			case setting == UnmatchedDeactivate && u.active:
				un.Outcome = OutcomeDeactivated
			case setting == UnmatchedDeactivate:
				un.Outcome = OutcomeAlreadyInactive
			case u.active:
				rep.Seats.ManualKeptActive++
			}
			rep.Unmatched = append(rep.Unmatched, un)
		case u.active && !inList[u.id]:
			rep.Seats.OtherActiveSCIM++
		}
	}
	rep.Seats.EnabledIdPUsers = enabled
	rep.Seats.Needed = enabled + rep.Seats.ManualKeptActive + rep.Seats.OtherActiveSCIM
	rep.Counts.EnabledIdPUsers = int(enabled)
	rep.Counts.Links = len(rep.Links)
	rep.Counts.Conflicts = len(rep.Conflicts)
	rep.Counts.AlreadyProvisioned = len(rep.Provisioned)
	rep.Counts.NearMisses = len(rep.NearMisses)
	rep.Counts.Unmatched = len(rep.Unmatched)
	return rep
}

// nearMisses finds the users one IdP user misses only by normalisation: manual
// users by the identifiers the tenant links on, and SCIM users by userName
// (a would-be second user beside one already provisioned). Users it matches
// exactly are not near misses. seen collects the users named.
func (d *userDirectory) nearMisses(p IdPUser, e linkEvaluation, order []string, seen map[string]bool) []NearMiss {
	var out []NearMiss
	check := func(identifier string, want func(*userRef) bool) {
		v := p.value(identifier)
		for _, u := range d.near[identifier][nearKey(v)] {
			uv := u.value(identifier)
			if v == "" || indexEqual(identifier, v, uv) || e.matched[u.id] || !want(u) {
				continue
			}
			diff := NearMissCase
			if indexEqual(identifier, stripSpace(v), stripSpace(uv)) {
				diff = NearMissWhitespace
			}
			seen[u.id] = true
			out = append(out, NearMiss{IdPUser: p.label(), Row: p.Row, Identifier: identifier, IdPValue: v,
				UserID: u.id, UserName: u.userName, ManagedBy: u.managedBy, UserValue: uv, Difference: diff})
		}
	}
	for _, m := range order {
		check(m, func(u *userRef) bool { return u.managedBy == managedManual })
	}
	check(MatchUserName, func(u *userRef) bool { return u.managedBy != managedManual })
	return out
}

// FinalizeResult is what finalizing a migration did.
type FinalizeResult struct {
	Setting     string `json:"setting"`
	Deactivated int    `json:"deactivated"` // manual users deactivated now
	Kept        int    `json:"kept"`        // manual users left active
}

// finalizeWorkers bounds the deactivations finalize runs at once: enough to
// hide round trips, few enough to leave Redis to the SCIM traffic.
const finalizeWorkers = 8

// errLinked stops the deactivation of a user that SCIM linked meanwhile.
var errLinked = errors.New("provision: the user is no longer a manual user")

// FinalizeProvisioning applies the tenant's UnmatchedUsers setting to the
// manual users the migration left: with "deactivate" every active manual
// user is deactivated (one audited write each, action "user.deactivate",
// freeing its seat), with "keep" nothing changes; then one
// "provisioning.finalize" event sums it up. It is the admin's explicit act,
// so the edit-lock policy is not asked; a user SCIM links meanwhile is left
// alone. Calling it again deactivates only what became manual and active since.
// Returns KindNotFound (tenant), KindConflict, KindUnavailable.
func (s *Service) FinalizeProvisioning(ctx context.Context, tenant string, a Actor) (FinalizeResult, error) {
	t, err := s.store.GetTenant(ctx, tenant)
	if err != nil {
		return FinalizeResult{}, fromStorage(err, "tenant")
	}
	res := FinalizeResult{Setting: unmatchedSetting(t.UnmatchedUsers)}
	var ids []string
	err = s.store.ScanUsers(ctx, tenant, func(batch []storage.User) bool {
		for _, u := range batch {
			if u.ManagedBy == managedManual && u.Active {
				ids = append(ids, u.ID)
			}
		}
		return true
	})
	if err != nil {
		return FinalizeResult{}, fromStorage(err, "users")
	}
	if res.Setting == UnmatchedKeep {
		res.Kept = len(ids)
	} else if res.Deactivated, err = s.deactivateManual(ctx, tenant, ids, a); err != nil {
		return FinalizeResult{}, err
	}
	ev := s.event(a, "provisioning.finalize", "Tenant", tenant, []Change{
		{Attribute: "unmatchedUsers", New: res.Setting},
		{Attribute: "deactivated", New: res.Deactivated},
		{Attribute: "kept", New: res.Kept},
	})
	if err := s.store.AppendAudit(ctx, tenant, ev.encode()); err != nil {
		return FinalizeResult{}, fromStorage(err, "tenant")
	}
	return res, nil
}

// deactivateManual deactivates the users through updateUser, a few at a
// time, and counts those it deactivated. It stops at the first error; what
// it did stays done and audited, so the caller may simply try again.
func (s *Service) deactivateManual(ctx context.Context, tenant string, ids []string, a Actor) (int, error) {
	var (
		mu    sync.Mutex
		n     int
		first error
		wg    sync.WaitGroup
	)
	work := make(chan string)
	for range min(finalizeWorkers, len(ids)) {
		wg.Go(func() {
			for id := range work {
				done, err := s.deactivateOne(ctx, tenant, id, a)
				mu.Lock()
				if done {
					n++
				}
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
	return n, first
}

// deactivateOne deactivates one user if it is still manual and active.
func (s *Service) deactivateOne(ctx context.Context, tenant, id string, a Actor) (bool, error) {
	var wasActive bool
	onlyManual := func(_ context.Context, prev storage.User, _, _ map[string]any) ([]string, error) {
		if prev.ManagedBy != managedManual {
			return nil, errLinked
		}
		return nil, nil
	}
	_, _, err := s.updateUser(ctx, tenant, id, "", a, "user.deactivate", onlyManual, func(doc map[string]any) (map[string]any, error) {
		wasActive = activeOf(doc)
		doc["active"] = false
		return doc, nil
	})
	switch {
	case errors.Is(err, errLinked), KindOf(err) == KindNotFound:
		return false, nil // linked or deleted since the scan: not ours to deactivate
	case err != nil:
		return false, err
	}
	return wasActive, nil
}
