package provision

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/scimd/scimd/storage"
)

// Group is a group as both edges see it. Members is nil unless it was asked for.
type Group struct {
	ID       string
	Version  int64
	Created  time.Time
	Modified time.Time
	Attrs    map[string]any
	Members  []string
	// ManagedBy is "scim" (from the identity provider) or "manual" (made in
	// the app, until the identity provider writes to it).
	ManagedBy string
}

// ETag is the weak entity tag of this version of the group.
func (g Group) ETag() string { return etag(g.Version) }

// MemberChange is the net effect of a request on a group's members: with
// Replace every current member goes first.
type MemberChange struct {
	Replace bool
	Add     []string
	Remove  []string
}

func (c MemberChange) empty() bool { return !c.Replace && len(c.Add) == 0 && len(c.Remove) == 0 }

// CreateGroup creates a group with its initial members.
// Returns KindInvalid, KindUniqueness, KindNotFound (tenant), KindUnavailable.
func (s *Service) CreateGroup(ctx context.Context, tenant string, attrs map[string]any, members []string, a Actor) (Group, error) {
	doc, raw, err := canonical(attrs)
	if err != nil {
		return Group{}, err
	}
	rec, err := groupRecord(doc, raw)
	if err != nil {
		return Group{}, err
	}
	members = dedupe(members)
	now := s.now().UTC()
	rec.ID, rec.Version, rec.Created, rec.Modified = newID(), 1, now, now
	rec.ManagedBy = managedBy(a)
	changes := diff(nil, doc)
	if len(members) > 0 {
		changes = append(changes, Change{Attribute: "members", Added: anySlice(members)})
	}
	ev := s.event(a, "group.create", "Group", rec.ID, changes)
	if err := s.store.CreateGroup(ctx, tenant, rec, members, ev.encode()); err != nil {
		if errors.Is(err, storage.ErrExists) {
			// As for users: only this write, resent, can hold a new id.
			return Group{}, &Error{Kind: KindUnavailable, Detail: "the outcome of the write is unknown; try again", cause: err}
		}
		return Group{}, fromStorage(err, "tenant")
	}
	return groupView(rec, doc, members), nil
}

// GetGroup returns one group, with its members when withMembers.
// Returns KindNotFound, KindUnavailable.
func (s *Service) GetGroup(ctx context.Context, tenant, id string, withMembers bool) (Group, error) {
	rec, err := s.store.GetGroup(ctx, tenant, id)
	if err != nil {
		return Group{}, fromStorage(err, "group "+id)
	}
	g, err := decodeGroup(rec)
	if err != nil || !withMembers {
		return g, err
	}
	if g.Members, err = s.store.GroupMembers(ctx, tenant, id); err != nil {
		return Group{}, fromStorage(err, "group "+id)
	}
	return g, nil
}

// ReplaceGroup replaces a group's attributes and its whole member list (PUT).
// Returns KindNotFound, KindPrecondition, KindInvalid, KindUniqueness,
// KindConflict, KindUnavailable.
func (s *Service) ReplaceGroup(ctx context.Context, tenant, id string, attrs map[string]any, members []string, ifMatch string, a Actor) (Group, error) {
	change := MemberChange{Replace: true, Add: dedupe(members)}
	return s.updateGroup(ctx, tenant, id, ifMatch, a, "group.replace", func(map[string]any) (map[string]any, MemberChange, error) {
		return attrs, change, nil
	})
}

// PatchGroup applies a change to a group: apply mutates the attributes it is
// given and returns the member change. Returns what ReplaceGroup returns,
// plus apply's error as is.
func (s *Service) PatchGroup(ctx context.Context, tenant, id, ifMatch string, a Actor, apply func(doc map[string]any) (MemberChange, error)) (Group, error) {
	return s.updateGroup(ctx, tenant, id, ifMatch, a, "group.update", func(doc map[string]any) (map[string]any, MemberChange, error) {
		c, err := apply(doc)
		return doc, c, err
	})
}

// PatchGroupMembers applies a SCIM PATCH that only adds and removes
// members (no If-Match, no Replace) without reading the group first: the
// member script checks that the group exists. A group managed in the app
// is taken over, which needs the full PatchGroup (apply gives it the same
// change). The Group returned holds only the id and the new version.
// Returns what PatchGroup returns.
func (s *Service) PatchGroupMembers(ctx context.Context, tenant, id, ifMatch string, a Actor, change MemberChange) (Group, error) {
	change.Add, change.Remove = dedupe(change.Add), dedupe(change.Remove)
	if ifMatch == "" && !change.Replace && !change.empty() && a.Source == SCIM.Source {
		v, now, err := s.changeMembers(ctx, tenant, id, a, "group.update", change)
		if err == nil {
			return Group{ID: id, Version: v, Modified: now}, nil
		}
		// A member refused (an id naming no user) falls through too: the
		// general path answers a missing group first, as it always has.
		if !errors.Is(err, storage.ErrManualGroup) && KindOf(err) != KindInvalid {
			return Group{}, err
		}
	}
	return s.PatchGroup(ctx, tenant, id, ifMatch, a, func(map[string]any) (MemberChange, error) { return change, nil })
}

// changeMembers writes a member-only change with its audit event, without
// a version check. Returns storage.ErrManualGroup as is, and what
// fromStorage returns.
func (s *Service) changeMembers(ctx context.Context, tenant, id string, a Actor, action string, members MemberChange) (int64, time.Time, error) {
	ev := s.event(a, action, "Group", id, []Change{{Attribute: "members", Added: idList(members.Add), Removed: idList(members.Remove)}})
	now := s.now().UTC()
	v, err := s.store.ChangeMembers(ctx, tenant, id, members.Add, members.Remove, now, ev.encode())
	if errors.Is(err, storage.ErrManualGroup) {
		return 0, now, err
	}
	if err != nil {
		return 0, now, fromStorage(err, "group "+id)
	}
	return v, now, nil
}

func (s *Service) updateGroup(ctx context.Context, tenant, id, ifMatch string, a Actor, action string, change func(map[string]any) (map[string]any, MemberChange, error)) (Group, error) {
	g, _, err := s.updateGroupChecked(ctx, tenant, id, ifMatch, a, action, nil, change)
	return g, err
}

// groupCheck decides a manual change to a group, read as prev, from old to
// new attributes with the member change; it returns the policy's warnings.
type groupCheck func(ctx context.Context, prev storage.Group, old, new map[string]any, members MemberChange) ([]string, error)

// updateGroupChecked is updateGroup with a check of each attempt's change
// against the version it applies to (nil for SCIM). A SCIM write to a group
// made in the app takes it over: it is SCIM-managed from then on.
func (s *Service) updateGroupChecked(ctx context.Context, tenant, id, ifMatch string, a Actor, action string, check groupCheck, change func(map[string]any) (map[string]any, MemberChange, error)) (Group, []string, error) {
	for attempt := 0; attempt < s.opts.WriteRetries; attempt++ {
		prev, err := s.store.GetGroup(ctx, tenant, id)
		if err != nil {
			return Group{}, nil, fromStorage(err, "group "+id)
		}
		if !etagMatches(ifMatch, prev.Version) {
			return Group{}, nil, errPrecondition
		}
		old, err := decodeDoc(prev.Doc)
		if err != nil {
			return Group{}, nil, err
		}
		work, err := decodeDoc(prev.Doc)
		if err != nil {
			return Group{}, nil, err
		}
		next, members, err := change(work)
		if err != nil {
			return Group{}, nil, err
		}
		doc, raw, err := canonical(next)
		if err != nil {
			return Group{}, nil, err
		}
		members.Add, members.Remove = dedupe(members.Add), dedupe(members.Remove)
		sameDoc := bytes.Equal(raw, prev.Doc)
		if sameDoc && members.empty() {
			return groupView(prev, old, nil), nil, nil
		}
		var warnings []string
		if check != nil {
			if warnings, err = check(ctx, prev, old, doc, members); err != nil {
				return Group{}, nil, err
			}
		}
		takeover := a.Source == SCIM.Source && prev.ManagedBy == "manual"
		// A checked change must land on the version it was checked against,
		// and a takeover must rewrite the record: neither takes the
		// version-free member path.
		if sameDoc && !members.Replace && ifMatch == "" && check == nil && !takeover {
			// Only members change, and sets need no read-modify-write: skip
			// the version check so that concurrent member PATCHes all land.
			v, now, err := s.changeMembers(ctx, tenant, id, a, action, members)
			if errors.Is(err, storage.ErrManualGroup) {
				continue // taken into the app since it was read: read again
			}
			if err != nil {
				return Group{}, nil, err
			}
			prev.Version, prev.Modified = v, now
			return groupView(prev, old, nil), nil, nil
		}
		rec, err := groupRecord(doc, raw)
		if err != nil {
			return Group{}, nil, err
		}
		rec.ID, rec.Version, rec.Created, rec.Modified = prev.ID, prev.Version+1, prev.Created, s.now().UTC()
		rec.ManagedBy = prev.ManagedBy
		changes := diff(old, doc)
		if takeover {
			rec.ManagedBy = "scim"
			changes = append(changes, Change{Attribute: "managedBy", Old: "manual", New: "scim"})
		}
		if !members.empty() {
			c := Change{Attribute: "members", Added: anySlice(members.Add), Removed: anySlice(members.Remove)}
			if members.Replace {
				c.Old = "all members"
			}
			changes = append(changes, c)
		}
		ev := s.event(a, action, "Group", id, changes)
		err = s.store.UpdateGroup(ctx, tenant, prev, rec, storage.MemberChange(members), ev.encode())
		if errors.Is(err, storage.ErrVersionConflict) {
			if ifMatch != "" {
				return Group{}, nil, errPrecondition
			}
			continue
		}
		if err != nil {
			return Group{}, nil, fromStorage(err, "group "+id)
		}
		return groupView(rec, doc, nil), warnings, nil
	}
	return Group{}, nil, &Error{Kind: KindConflict, Detail: "group " + id + " kept changing concurrently; try again"}
}

// DeleteGroup deletes a group. Returns KindNotFound, KindPrecondition, KindUnavailable.
func (s *Service) DeleteGroup(ctx context.Context, tenant, id, ifMatch string, a Actor) error {
	if ifMatch != "" {
		prev, err := s.store.GetGroup(ctx, tenant, id)
		if err != nil {
			return fromStorage(err, "group "+id)
		}
		if !etagMatches(ifMatch, prev.Version) {
			return errPrecondition
		}
	}
	ev := s.event(a, "group.delete", "Group", id, nil)
	return fromStorage(s.store.DeleteGroup(ctx, tenant, id, ev.encode()), "group "+id)
}

// UserGroups returns the groups a user is a member of, by name (without
// their members); an unknown user is in none (callers that answer for one
// user have read it already). Returns KindUnavailable.
func (s *Service) UserGroups(ctx context.Context, tenant, userID string) ([]Group, error) {
	ids, err := s.store.UserGroups(ctx, tenant, userID)
	if err != nil {
		return nil, fromStorage(err, "groups")
	}
	groups, err := s.loadGroups(ctx, tenant, ids, false)
	if err != nil {
		return nil, err
	}
	name := func(g Group) string { n, _ := g.Attrs["displayName"].(string); return strings.ToLower(n) }
	slices.SortFunc(groups, func(a, b Group) int { return strings.Compare(name(a), name(b)) })
	return groups, nil
}

// ListGroups runs a list query over groups. Returns KindUnavailable.
func (s *Service) ListGroups(ctx context.Context, tenant string, q ListQuery[Group]) (Page[Group], error) {
	if !q.Indexed && q.Match == nil {
		ids, total, err := s.store.PageGroups(ctx, tenant, q.StartIndex-1, q.Count)
		if err != nil {
			return Page[Group]{}, fromStorage(err, "groups")
		}
		groups, err := s.loadGroups(ctx, tenant, ids, q.WithMembers)
		return Page[Group]{Total: int(total), Resources: groups}, err
	}
	w := window[Group]{start: q.StartIndex - 1, count: q.Count, match: q.Match}
	if q.Indexed {
		ids, err := s.groupCandidates(ctx, tenant, q.Lookups)
		if err != nil {
			return Page[Group]{}, err
		}
		if q.ReadIndexed != nil {
			release, err := q.ReadIndexed(len(ids))
			if err != nil {
				return Page[Group]{}, err
			}
			defer release()
		}
		groups, err := s.loadGroups(ctx, tenant, ids, q.WithMembers)
		if err != nil {
			return Page[Group]{}, err
		}
		sortByCreation(groups, func(g Group) (int64, string) { return g.Created.UnixNano(), g.ID })
		w.offer(groups)
		return w.page(), nil
	}
	if q.Scan != nil {
		_, n, err := s.store.PageGroups(ctx, tenant, 0, 0)
		if err != nil {
			return Page[Group]{}, fromStorage(err, "groups")
		}
		release, err := q.Scan(int(n))
		if err != nil {
			return Page[Group]{}, err
		}
		defer release()
	}
	var loadErr error
	err := s.store.ScanGroups(ctx, tenant, func(batch []storage.Group) bool {
		groups := make([]Group, 0, len(batch))
		for _, rec := range batch {
			g, err := decodeGroup(rec)
			if err == nil && q.WithMembers {
				g.Members, err = s.store.GroupMembers(ctx, tenant, g.ID)
				err = fromStorage(err, "group "+g.ID)
			}
			if err != nil {
				loadErr = err
				return false
			}
			groups = append(groups, g)
		}
		w.offer(groups)
		return true
	})
	if err != nil {
		return Page[Group]{}, fromStorage(err, "groups")
	}
	return w.page(), loadErr
}

func (s *Service) groupCandidates(ctx context.Context, tenant string, lookups []Lookup) ([]string, error) {
	var ids []string
	for _, l := range lookups {
		var found []string
		var err error
		switch l.Attr {
		case LookupID:
			found = []string{l.Value}
		case LookupDisplayName:
			found, err = s.store.FindGroups(ctx, tenant, storage.GroupByDisplayName, l.Value)
		case LookupExternalID:
			found, err = s.store.FindGroups(ctx, tenant, storage.GroupByExternalID, l.Value)
		case LookupMember:
			found, err = s.store.UserGroups(ctx, tenant, l.Value)
		}
		if err != nil {
			return nil, fromStorage(err, "groups")
		}
		ids = append(ids, found...)
	}
	return dedupe(ids), nil
}

func (s *Service) loadGroups(ctx context.Context, tenant string, ids []string, withMembers bool) ([]Group, error) {
	if len(ids) == 0 {
		return []Group{}, nil
	}
	recs, err := s.store.GetGroups(ctx, tenant, ids)
	if err != nil {
		return nil, fromStorage(err, "groups")
	}
	out := make([]Group, 0, len(recs))
	for _, rec := range recs {
		g, err := decodeGroup(rec)
		if err != nil {
			return nil, err
		}
		if withMembers {
			if g.Members, err = s.store.GroupMembers(ctx, tenant, g.ID); err != nil {
				return nil, fromStorage(err, "group "+g.ID)
			}
		}
		out = append(out, g)
	}
	return out, nil
}

func groupRecord(doc map[string]any, raw []byte) (storage.Group, error) {
	name, _ := doc["displayName"].(string)
	if strings.TrimSpace(name) == "" {
		return storage.Group{}, &Error{Kind: KindInvalid, Attribute: "displayName", Detail: "displayName is required"}
	}
	externalID, _ := doc["externalId"].(string)
	return storage.Group{DisplayName: name, ExternalID: externalID, Doc: raw}, nil
}

func decodeGroup(rec storage.Group) (Group, error) {
	doc, err := decodeDoc(rec.Doc)
	if err != nil {
		return Group{}, err
	}
	return groupView(rec, doc, nil), nil
}

func groupView(rec storage.Group, doc map[string]any, members []string) Group {
	return Group{ID: rec.ID, Version: rec.Version, Created: rec.Created, Modified: rec.Modified, Attrs: doc, Members: members, ManagedBy: string(groupManager(rec))}
}

func dedupe(ids []string) []string {
	if len(ids) < 2 {
		return ids
	}
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// idList is ids as an audit change's list: encoded as anySlice(ids) is,
// without boxing each id; nil when there are none.
func idList(ids []string) any {
	if len(ids) == 0 {
		return nil
	}
	return ids
}

func anySlice(ids []string) []any {
	if len(ids) == 0 {
		return nil
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
