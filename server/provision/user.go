package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/server/jsonval"
	"github.com/scimd/scimd/storage"
)

// EnterpriseUser is the URN of the enterprise extension; its attributes are
// nested under this key in a user's document.
const EnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// User is a user as both edges see it: metadata plus the SCIM attributes
// (core and extension, without id and meta).
type User struct {
	ID        string
	Version   int64
	Created   time.Time
	Modified  time.Time
	ManagedBy string // "scim" or "manual"
	Active    bool
	Attrs     map[string]any
	// Groups are the ids of the user's groups, read only by a list query
	// WithGroups.
	Groups []string
	// UserName and ExternalID are the stored record's, Raw its document as
	// stored (canonical JSON of Attrs; a read may share it, never change it).
	UserName, ExternalID string
	Raw                  []byte
}

// ETag is the weak entity tag of this version of the user.
func (u User) ETag() string { return etag(u.Version) }

func etag(v int64) string { return fmt.Sprintf(`W/"%d"`, v) }

// CreateUser creates a user from validated SCIM attributes. For SCIM, an
// existing manual user with a matching identifier (the tenant's MatchBy, in
// order) is linked instead: same id, groups and grants, now SCIM-managed,
// with the request's attributes.
// Returns KindInvalid, KindUniqueness (also for a request matching two
// different users), KindLicenseExhausted, KindNotFound (tenant), KindUnavailable.
func (s *Service) CreateUser(ctx context.Context, tenant string, attrs map[string]any, a Actor) (User, error) {
	activeSent := attrs["active"] != nil // before newUserRecord gives it its default
	doc, raw, rec, err := newUserRecord(attrs)
	if err != nil {
		return User{}, err
	}
	if a.Source == SCIM.Source {
		// The usual case, a new user whose identifiers nobody holds, in
		// one round trip; otherwise its refusal brings the holders, linking
		// is decided on them, and the link is a second round trip.
		for attempt := 0; attempt < s.opts.WriteRetries; attempt++ {
			var held storage.Holders
			u, err := s.create(ctx, tenant, doc, raw, rec, a, "user.create", &held)
			if !errors.Is(err, errMayLink) {
				return u, err
			}
			target, by, err := linkTarget(rec, held)
			if err != nil {
				return User{}, err
			}
			if target == nil {
				break
			}
			u, err = s.link(ctx, tenant, *target, by, doc, raw, activeSent, a)
			if errors.Is(err, storage.ErrVersionConflict) {
				continue // the user changed since the refusal read it: start again
			}
			if err != nil {
				return User{}, s.noteRefusal(ctx, tenant, fromStorage(err, "user "+target.ID))
			}
			return u, nil
		}
	}
	return s.create(ctx, tenant, doc, raw, rec, a, "user.create", nil)
}

// errMayLink is a create refused because an identifier is held: linking
// must be decided first. It never leaves the package.
var errMayLink = errors.New("provision: an identifier is held")

func newUserRecord(attrs map[string]any) (map[string]any, []byte, storage.User, error) {
	doc, raw, err := canonicalUser(attrs)
	if err != nil {
		return nil, nil, storage.User{}, err
	}
	rec, err := userRecord(doc, raw)
	return doc, raw, rec, err
}

// canonicalUser is canonical for a user's document, which says active:
// true when it does not say otherwise: a user is active unless it says
// so (userRecord), and every write (POST, PUT, a PATCH that removes
// active) stores the state the platform sees, not an absent one.
func canonicalUser(attrs map[string]any) (map[string]any, []byte, error) {
	defaultActive(attrs)
	doc, raw, err := canonical(attrs)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := doc["active"]; !ok { // it was empty, which counts as unassigned
		doc["active"] = true
		if doc, raw, err = canonical(doc); err != nil {
			return nil, nil, err
		}
	}
	return doc, raw, nil
}

// defaultActive gives a user's document that does not say active (absent
// or null) the active: true the user has (userRecord), and reports whether
// it had to: an earlier release stored some documents without it.
func defaultActive(doc map[string]any) bool {
	if v, ok := doc["active"]; ok && v != nil {
		return false
	}
	doc["active"] = true
	return true
}

// create stores a new user. With held, it asks storage to refuse, with
// errMayLink, when an identifier is held (the SCIM create's first try),
// and fills held with the holders.
func (s *Service) create(ctx context.Context, tenant string, doc map[string]any, raw []byte, rec storage.User, a Actor, action string, held *storage.Holders) (User, error) {
	now := s.now().UTC()
	rec.ID, rec.Version, rec.Created, rec.Modified = newID(), 1, now, now
	rec.ManagedBy = managedBy(a)
	ev := s.event(a, action, "User", rec.ID, diff(nil, doc))
	var err error
	if held != nil {
		*held, err = s.store.CreateUserUnlinked(ctx, tenant, rec, ev.encode())
		if errors.Is(err, storage.ErrMayLink) {
			return User{}, errMayLink
		}
	} else {
		err = s.store.CreateUser(ctx, tenant, rec, ev.encode())
	}
	if errors.Is(err, storage.ErrExists) {
		// The id is new and random: only this very write, resent by a
		// client that retries on a broken connection (max_retries), can
		// hold it. Its outcome is unknown here; the identity provider
		// retries and finds the user.
		return User{}, &Error{Kind: KindUnavailable, Detail: "the outcome of the write is unknown; try again", cause: err}
	}
	if err != nil {
		return User{}, s.noteRefusal(ctx, tenant, fromStorage(err, "tenant"))
	}
	return userView(rec, doc), nil
}

// linkTarget finds the manual user a SCIM create should link, and by which
// identifier, among the holders of its identifiers (rec's). It returns nil
// when nothing matches (or only SCIM users do: then creating reports the
// uniqueness conflict), and KindUniqueness when the identifiers point at
// different users.
func linkTarget(rec storage.User, held storage.Holders) (*storage.User, string, error) {
	// The tenant's MatchBy says which identifiers count, in which order.
	order := matchOrder(held.MatchBy)
	holders := map[string][]string{}
	found := false
	for _, l := range []struct {
		kind, value string
		ids         []string
	}{
		{MatchUserName, rec.UserName, held.UserName},
		{MatchEmail, rec.WorkEmail, held.WorkEmail},
		{MatchEmployeeNumber, rec.EmployeeNumber, held.EmployeeNumber},
	} {
		if slices.Contains(order, l.kind) && l.value != "" {
			holders[l.kind] = l.ids
			found = found || len(l.ids) > 0
		}
	}
	if !found {
		return nil, "", nil
	}
	byID := make(map[string]storage.User, len(held.Users))
	for _, u := range held.Users {
		byID[u.ID] = u
	}
	var target *storage.User
	var by string
	for _, m := range order {
		if held := present(holders[m], byID); target == nil && len(held) > 1 && anyManual(held, byID) {
			// Email and employeeNumber may repeat (shared mailboxes): an
			// identifier with several holders cannot say which one is
			// meant, so linking by it would be a guess.
			return nil, "", &Error{Kind: KindUniqueness, Attribute: m, Detail: fmt.Sprintf(
				"the request's %s is held by %d existing users (%s); linking by it would be a guess: make it unique in the app, or give the users distinct identifiers, before provisioning this user",
				m, len(held), strings.Join(held, ", "))}
		}
		for _, id := range holders[m] {
			u, ok := byID[id]
			if !ok || u.ManagedBy != "manual" {
				continue
			}
			if target != nil && target.ID != u.ID {
				return nil, "", &Error{Kind: KindUniqueness, Attribute: m, ambiguous: true, Detail: fmt.Sprintf(
					"the request matches two existing users: %s by %s and %s by %s; resolve the conflict in the app before provisioning this user",
					target.ID, by, u.ID, m)}
			}
			if target == nil {
				target, by = &u, m
			}
		}
	}
	return target, by, nil
}

// present keeps the ids that name a user read (an index may lag a delete).
func present(ids []string, byID map[string]storage.User) []string {
	var out []string
	for _, id := range ids {
		if _, ok := byID[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// anyManual reports whether any of ids is a manual user.
func anyManual(ids []string, byID map[string]storage.User) bool {
	for _, id := range ids {
		if u, ok := byID[id]; ok && u.ManagedBy == "manual" {
			return true
		}
	}
	return false
}

// link turns a manual user into the SCIM user the request describes. A
// request that leaves active out (activeSent false) does not assert it: the
// user keeps its state, as a PUT's does, so a disabled user is not
// re-enabled by an omission.
func (s *Service) link(ctx context.Context, tenant string, prev storage.User, by string, doc map[string]any, raw []byte, activeSent bool, a Actor) (User, error) {
	old, err := decodeDoc(prev.Doc)
	if err != nil {
		return User{}, err
	}
	defaultActive(old) // an earlier release's document: the audit sees no change
	if !activeSent && !prev.Active {
		kept := maps.Clone(doc) // doc serves every retry, each with its prev
		kept["active"] = false
		if doc, raw, err = canonicalUser(kept); err != nil {
			return User{}, err
		}
	}
	rec, err := userRecord(doc, raw)
	if err != nil {
		return User{}, err
	}
	rec.ID, rec.Version, rec.Created, rec.Modified = prev.ID, prev.Version+1, prev.Created, s.now().UTC()
	rec.ManagedBy = "scim"
	changes := append(diff(old, doc), Change{Attribute: "managedBy", Old: prev.ManagedBy, New: "scim"}, Change{Attribute: "linkedBy", New: by})
	ev := s.event(a, "user.link", "User", prev.ID, changes)
	if err := s.store.UpdateUser(ctx, tenant, prev, rec, ev.encode()); err != nil {
		return User{}, err
	}
	return userView(rec, doc), nil
}

// GetUser returns one user. Returns KindNotFound, KindUnavailable.
func (s *Service) GetUser(ctx context.Context, tenant, id string) (User, error) {
	rec, err := s.store.GetUser(ctx, tenant, id)
	if err != nil {
		return User{}, fromStorage(err, "user "+id)
	}
	return decodeUser(rec)
}

// GetStoredUser is GetUser without decoding the user's document: Attrs is
// nil and Raw holds the document as stored, for a caller that answers with
// it as it is. Returns what GetUser returns.
func (s *Service) GetStoredUser(ctx context.Context, tenant, id string) (User, error) {
	rec, err := s.store.GetUser(ctx, tenant, id)
	if err != nil {
		return User{}, fromStorage(err, "user "+id)
	}
	return userView(rec, nil), nil
}

// ReplaceUser replaces every attribute of a user (SCIM PUT). ifMatch, when
// not empty, must match the current ETag ("*" matches any).
// Returns KindNotFound, KindPrecondition, KindInvalid, KindUniqueness,
// KindLicenseExhausted, KindConflict, KindUnavailable.
func (s *Service) ReplaceUser(ctx context.Context, tenant, id string, attrs map[string]any, ifMatch string, a Actor) (User, error) {
	u, _, err := s.updateUser(ctx, tenant, id, ifMatch, a, "user.replace", nil, func(prev map[string]any) (map[string]any, error) {
		// A PUT that leaves active out does not assert it (RFC 7644
		// §3.5.1): the user keeps its state, neither re-enabled nor
		// disabled by an omission.
		if v, ok := attrs["active"]; ok && v != nil {
			return attrs, nil
		}
		next := maps.Clone(attrs) // attrs serves every retry, each with its prev
		next["active"] = prev["active"]
		return next, nil
	})
	return u, err
}

// PatchUser applies a change to a user's attributes: apply mutates the
// document it is given. On a concurrent write the user is read again and
// apply runs again, so two PATCHes never lose each other's changes.
// Returns what ReplaceUser returns, plus whatever error apply returns, as is.
func (s *Service) PatchUser(ctx context.Context, tenant, id, ifMatch string, a Actor, apply func(doc map[string]any) error) (User, error) {
	u, _, err := s.updateUser(ctx, tenant, id, ifMatch, a, "user.update", nil, func(doc map[string]any) (map[string]any, error) {
		if err := apply(doc); err != nil {
			return nil, err
		}
		return doc, nil
	})
	return u, err
}

// editCheck decides whether a change to a user may be written; it returns
// warnings to show with the result, or an error to refuse it.
type editCheck func(ctx context.Context, prev storage.User, old, new map[string]any) ([]string, error)

func (s *Service) updateUser(ctx context.Context, tenant, id, ifMatch string, a Actor, action string, check editCheck, change func(map[string]any) (map[string]any, error)) (User, []string, error) {
	for attempt := 0; attempt < s.opts.WriteRetries; attempt++ {
		prev, err := s.store.GetUser(ctx, tenant, id)
		if err != nil {
			return User{}, nil, fromStorage(err, "user "+id)
		}
		if !etagMatches(ifMatch, prev.Version) {
			return User{}, nil, errPrecondition
		}
		old, err := decodeDoc(prev.Doc)
		if err != nil {
			return User{}, nil, err
		}
		work, err := decodeDoc(prev.Doc) // a second copy: apply may mutate it
		if err != nil {
			return User{}, nil, err
		}
		prevRaw := prev.Doc
		if defaultActive(old) {
			// Stored without the default canonicalUser now writes: read
			// with it, so that a write leaving the user as it is stays no
			// write, and neither the edit check nor the audit sees active
			// change (work takes it from canonicalUser).
			//
			// Encoded, not canonical: a record stored before the size caps
			// must stay writable by the write that trims it.
			if prevRaw, err = jsonval.Marshal(old); err != nil {
				return User{}, nil, &Error{Kind: KindInvalid, Detail: "the stored resource cannot be encoded", cause: err}
			}
		}
		next, err := change(work)
		if err != nil {
			return User{}, nil, err
		}
		doc, raw, err := canonicalUser(next)
		if err != nil {
			return User{}, nil, err
		}
		// SCIM writes make a user SCIM-managed; an admin's edit keeps who manages it.
		manager := prev.ManagedBy
		if a.Source == SCIM.Source {
			manager = "scim"
		}
		if bytes.Equal(raw, prevRaw) && prev.ManagedBy == manager {
			return userView(prev, old), nil, nil // nothing changed: no write, no event
		}
		var warnings []string
		if check != nil {
			if warnings, err = check(ctx, prev, old, doc); err != nil {
				return User{}, nil, err
			}
		}
		rec, err := userRecord(doc, raw)
		if err != nil {
			return User{}, nil, err
		}
		rec.ID, rec.Version, rec.Created, rec.Modified = prev.ID, prev.Version+1, prev.Created, s.now().UTC()
		rec.ManagedBy = manager
		changes, act := diff(old, doc), action
		if prev.ManagedBy != manager && manager == "scim" {
			// The identity provider found a manual user by its own matching
			// (Entra: a userName eq lookup) and wrote to it: a takeover,
			// recorded as the link a SCIM create would have made.
			act = "user.link"
			changes = append(changes, Change{Attribute: "managedBy", Old: prev.ManagedBy, New: "scim"}, Change{Attribute: "linkedBy", New: "id"})
		}
		ev := s.event(a, act, "User", id, changes)
		err = s.store.UpdateUser(ctx, tenant, prev, rec, ev.encode())
		if errors.Is(err, storage.ErrVersionConflict) {
			if ifMatch != "" {
				return User{}, nil, errPrecondition
			}
			continue
		}
		if err != nil {
			return User{}, nil, s.noteRefusal(ctx, tenant, fromStorage(err, "user "+id))
		}
		return userView(rec, doc), warnings, nil
	}
	return User{}, nil, &Error{Kind: KindConflict, Detail: "user " + id + " kept changing concurrently; try again"}
}

// DeleteUser deletes a user and removes it from its groups.
// Returns KindNotFound, KindPrecondition, KindUnavailable.
func (s *Service) DeleteUser(ctx context.Context, tenant, id, ifMatch string, a Actor) error {
	if ifMatch != "" {
		prev, err := s.store.GetUser(ctx, tenant, id)
		if err != nil {
			return fromStorage(err, "user "+id)
		}
		if !etagMatches(ifMatch, prev.Version) {
			return errPrecondition
		}
	}
	ev := s.event(a, "user.delete", "User", id, nil)
	return fromStorage(s.store.DeleteUser(ctx, tenant, id, ev.encode()), "user "+id)
}

var errPrecondition = &Error{Kind: KindPrecondition, Detail: "the resource has changed: If-Match does not match its current version"}

// etagMatches implements If-Match for one resource: empty means no
// condition, "*" any version, otherwise one of the listed tags (weak
// comparison, since our tags are weak).
func etagMatches(ifMatch string, version int64) bool {
	if ifMatch == "" {
		return true
	}
	want := strings.TrimPrefix(etag(version), "W/")
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

func managedBy(a Actor) string {
	if a.Source == SCIM.Source {
		return "scim"
	}
	return "manual"
}

// canonical drops what is never stored, then round-trips the document
// through JSON so that stored and fresh documents compare equal and numbers
// have one representation.
func canonical(attrs map[string]any) (map[string]any, []byte, error) {
	delete(attrs, "password")
	delete(attrs, "id")
	delete(attrs, "meta")
	delete(attrs, "schemas")
	delete(attrs, "groups")
	dropNulls(attrs)
	raw, err := jsonval.Marshal(attrs)
	if err != nil {
		return nil, nil, &Error{Kind: KindInvalid, Detail: "the resource cannot be encoded", cause: err}
	}
	if err := checkSize(attrs, raw); err != nil {
		return nil, nil, err
	}
	if decoded(attrs) {
		return attrs, raw, nil // decoding raw would give it back as it is
	}
	doc, err := decodeDoc(raw)
	return doc, raw, err
}

// decoded tells whether v holds only what decoding JSON gives (objects,
// arrays, valid UTF-8 strings, float64, bool, null): such a value survives
// the round trip through JSON unchanged, so canonical need not decode it.
func decoded(v any) bool {
	switch v := v.(type) {
	case nil, bool, float64:
		return true
	case string:
		return utf8.ValidString(v)
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) || !decoded(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range v {
			if !decoded(e) {
				return false
			}
		}
		return true
	}
	return false
}

// dropNulls removes attributes that are null, empty strings or empty lists
// (elimity passes `"roles": []` on as a nil value): RFC 7643 §2.5 treats
// them as unassigned, and so must filters such as `pr`.
func dropNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case string:
			if v == "" {
				delete(m, k)
			}
		case []any:
			if len(v) == 0 {
				delete(m, k)
			}
		case map[string]any:
			dropNulls(v)
			if len(v) == 0 {
				delete(m, k)
			}
		}
	}
}

func decodeDoc(raw []byte) (map[string]any, error) {
	doc := map[string]any{}
	if len(raw) == 0 {
		return doc, nil
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, &Error{Kind: KindInternal, Detail: "internal error", cause: fmt.Errorf("stored document: %w", err)}
	}
	return doc, nil
}

// userRecord extracts the indexed values from a document.
// Returns KindInvalid when userName is missing or active is not a boolean.
func userRecord(doc map[string]any, raw []byte) (storage.User, error) {
	userName, _ := doc["userName"].(string)
	if strings.TrimSpace(userName) == "" {
		return storage.User{}, &Error{Kind: KindInvalid, Attribute: "userName", Detail: "userName is required"}
	}
	active := true
	if v, ok := doc["active"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return storage.User{}, &Error{Kind: KindInvalid, Attribute: "active", Detail: "active must be a boolean"}
		}
		active = b
	}
	externalID, _ := doc["externalId"].(string)
	var employeeNumber string
	if ext, ok := doc[EnterpriseUser].(map[string]any); ok {
		employeeNumber, _ = ext["employeeNumber"].(string)
	}
	return storage.User{
		Active:         active,
		UserName:       userName,
		ExternalID:     externalID,
		WorkEmail:      WorkEmail(doc),
		EmployeeNumber: employeeNumber,
		Doc:            raw,
	}, nil
}

// WorkEmail is the address identity matching uses: the email typed "work",
// else the primary one, else the first.
func WorkEmail(doc map[string]any) string {
	list, _ := doc["emails"].([]any)
	pick := func(ok func(map[string]any) bool) string {
		for _, e := range list {
			m, _ := e.(map[string]any)
			if v, _ := m["value"].(string); v != "" && ok(m) {
				return v
			}
		}
		return ""
	}
	if v := pick(func(m map[string]any) bool { t, _ := m["type"].(string); return strings.EqualFold(t, "work") }); v != "" {
		return v
	}
	if v := pick(func(m map[string]any) bool { p, _ := m["primary"].(bool); return p }); v != "" {
		return v
	}
	return pick(func(map[string]any) bool { return true })
}

func decodeUser(rec storage.User) (User, error) {
	doc, err := decodeDoc(rec.Doc)
	if err != nil {
		return User{}, err
	}
	return userView(rec, doc), nil
}

func userView(rec storage.User, doc map[string]any) User {
	return User{ID: rec.ID, Version: rec.Version, Created: rec.Created, Modified: rec.Modified,
		ManagedBy: rec.ManagedBy, Active: rec.Active, Attrs: doc,
		UserName: rec.UserName, ExternalID: rec.ExternalID, Raw: rec.Doc}
}

// SameUserName reports whether two userNames are the same for uniqueness:
// equal once case, compatibility forms, zero-width characters and
// surrounding spaces are set aside (storage.UserNameKey). A filter
// `userName eq` matches by it, so Entra's lookup finds the user a create
// would collide with.
func SameUserName(a, b string) bool { return storage.UserNameKey(a) == storage.UserNameKey(b) }
