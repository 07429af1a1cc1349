package provision

import (
	"context"
	"errors"
	"sort"

	"github.com/scimd/scimd/storage"
)

// LookupAttr names an attribute with an index behind it.
type LookupAttr int

// The lookups a list query can start from.
const (
	LookupID             LookupAttr = iota + 1
	LookupUserName                  // users, case-insensitive
	LookupUserNamePrefix            // users, case-insensitive
	LookupExternalID                // users and groups
	LookupWorkEmail                 // users, case-insensitive
	LookupEmployeeNumber            // users
	LookupDisplayName               // groups, case-insensitive
	LookupMember                    // groups having this user as a member
	LookupGroupMembers              // users who are members of this group
)

// Lookup is one index lookup: the ids whose Attr equals (or starts with) Value.
type Lookup struct {
	Attr  LookupAttr
	Value string
}

// ListQuery selects and pages resources. With Indexed, the candidates are
// the union of Lookups (a superset is fine: Match decides); without, every
// resource of the tenant is a candidate. Match nil accepts every candidate.
type ListQuery[T any] struct {
	Indexed    bool
	Lookups    []Lookup
	Match      func(T) bool
	StartIndex int // 1-based
	Count      int // 0 returns only the total
	// WithMembers loads group members before Match and in the results.
	WithMembers bool
	// WithGroups loads each user's Groups before Match.
	WithGroups bool
	// Undecoded leaves the users of an indexed query without Attrs, their
	// documents as stored in Raw, for a caller that answers with them as
	// they are; Match then reads only the record's fields.
	Undecoded bool
	// Scan, when set, is asked before the query examines every resource of
	// the tenant, with their number: an error refuses the query and is
	// returned as is; release is called when the scan ends.
	Scan func(records int) (release func(), err error)
	// ReadIndexed, when set, is asked before the query reads the records
	// its index lookups named, with their number (a large group's members,
	// a shared work email): an error refuses the query and is returned as
	// is; release is called when the reading ends.
	ReadIndexed func(records int) (release func(), err error)
}

// Page is one page of a list and the number of all matches.
type Page[T any] struct {
	Total     int
	Resources []T
}

// prefixLimit bounds how many ids a userName prefix lookup may return before
// the query falls back to a scan; the scan is bounded in batches instead.
const prefixLimit = 10000

// ListUsers runs a list query over users. Returns KindUnavailable.
func (s *Service) ListUsers(ctx context.Context, tenant string, q ListQuery[User]) (Page[User], error) {
	if !q.Indexed && q.Match == nil {
		ids, total, err := s.store.PageUsers(ctx, tenant, q.StartIndex-1, q.Count)
		if err != nil {
			return Page[User]{}, fromStorage(err, "users")
		}
		users, err := s.loadUsers(ctx, tenant, ids, false)
		return Page[User]{Total: int(total), Resources: users}, err
	}
	w := window[User]{start: q.StartIndex - 1, count: q.Count, match: q.Match}
	if q.Indexed {
		ids, recs, loaded, complete, err := s.findUsers(ctx, tenant, q.Lookups)
		if err != nil {
			return Page[User]{}, err
		}
		if complete {
			if q.ReadIndexed != nil {
				release, err := q.ReadIndexed(len(ids))
				if err != nil {
					return Page[User]{}, err
				}
				defer release()
			}
			var users []User
			if loaded {
				users, err = decodeUsers(recs, q.Undecoded)
			} else {
				users, err = s.loadUsers(ctx, tenant, ids, q.Undecoded)
			}
			if err == nil && q.WithGroups {
				err = s.attachGroups(ctx, tenant, users)
			}
			if err != nil {
				return Page[User]{}, err
			}
			sortByCreation(users, func(u User) (int64, string) { return u.Created.UnixNano(), u.ID })
			w.kept = users[:0] // the matches, kept in place: offer never writes ahead of what it reads
			w.offer(users)
			return w.page(), nil
		}
	}
	return s.scanUsers(ctx, tenant, q, w)
}

// scanUsers is ListUsers examining every user of the tenant: a function
// of its own, since the scan's callback makes w escape, which the indexed
// path need not pay for.
func (s *Service) scanUsers(ctx context.Context, tenant string, q ListQuery[User], w window[User]) (Page[User], error) {
	if q.Scan != nil {
		_, n, err := s.store.PageUsers(ctx, tenant, 0, 0)
		if err != nil {
			return Page[User]{}, fromStorage(err, "users")
		}
		release, err := q.Scan(int(n))
		if err != nil {
			return Page[User]{}, err
		}
		defer release()
	}
	var decodeErr error
	err := s.store.ScanUsers(ctx, tenant, func(batch []storage.User) bool {
		users := make([]User, 0, len(batch))
		for _, rec := range batch {
			u, err := decodeUser(rec)
			if err != nil {
				decodeErr = err
				return false
			}
			users = append(users, u)
		}
		if q.WithGroups {
			if decodeErr = s.attachGroups(ctx, tenant, users); decodeErr != nil {
				return false
			}
		}
		w.offer(users)
		return true
	})
	if err != nil {
		return Page[User]{}, fromStorage(err, "users")
	}
	return w.page(), decodeErr
}

// loadedAtOnce bounds the records an index lookup reads in the same round
// trip as the index, before the query's ReadIndexed has counted them.
const loadedAtOnce = 64

// userIndexOf names the storage index of a lookup that has one.
var userIndexOf = map[LookupAttr]storage.UserIndex{
	LookupUserName:       storage.UserByUserName,
	LookupExternalID:     storage.UserByExternalID,
	LookupWorkEmail:      storage.UserByWorkEmail,
	LookupEmployeeNumber: storage.UserByEmployeeNumber,
}

// findUsers is userCandidates; for a single index lookup (Entra's
// userName eq) it also reads the users in the same round trip when there
// are at most loadedAtOnce of them (loaded true).
func (s *Service) findUsers(ctx context.Context, tenant string, lookups []Lookup) (ids []string, recs []storage.User, loaded, complete bool, err error) {
	if len(lookups) == 1 {
		if by, ok := userIndexOf[lookups[0].Attr]; ok {
			ids, recs, loaded, err = s.store.FindAndGetUsers(ctx, tenant, by, lookups[0].Value, loadedAtOnce)
			if err != nil {
				return nil, nil, false, false, fromStorage(err, "users")
			}
			return ids, recs, loaded, true, nil
		}
	}
	ids, complete, err = s.userCandidates(ctx, tenant, lookups)
	return ids, nil, false, complete, err
}

// userCandidates resolves lookups to ids. complete is false when a prefix
// lookup hit its limit, and the caller must scan instead.
func (s *Service) userCandidates(ctx context.Context, tenant string, lookups []Lookup) ([]string, bool, error) {
	var ids []string
	for _, l := range lookups {
		var found []string
		var err error
		switch l.Attr {
		case LookupID:
			found = []string{l.Value}
		case LookupUserName:
			found, err = s.store.FindUsers(ctx, tenant, storage.UserByUserName, l.Value)
		case LookupExternalID:
			found, err = s.store.FindUsers(ctx, tenant, storage.UserByExternalID, l.Value)
		case LookupWorkEmail:
			found, err = s.store.FindUsers(ctx, tenant, storage.UserByWorkEmail, l.Value)
		case LookupEmployeeNumber:
			found, err = s.store.FindUsers(ctx, tenant, storage.UserByEmployeeNumber, l.Value)
		case LookupGroupMembers:
			found, err = s.store.GroupMembers(ctx, tenant, l.Value)
			if errors.Is(err, storage.ErrNotFound) {
				found, err = nil, nil // no such group: no user is in it
			}
		case LookupUserNamePrefix:
			found, err = s.store.UsersWithUserNamePrefix(ctx, tenant, l.Value, prefixLimit+1)
			if err == nil && len(found) > prefixLimit {
				return nil, false, nil
			}
		default:
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fromStorage(err, "users")
		}
		ids = append(ids, found...)
	}
	return dedupe(ids), true, nil
}

// attachGroups reads the groups of users, in one round trip.
func (s *Service) attachGroups(ctx context.Context, tenant string, users []User) error {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	groups, err := s.store.UsersGroups(ctx, tenant, ids)
	if err != nil {
		return fromStorage(err, "users' groups")
	}
	for i := range users {
		users[i].Groups = groups[i]
	}
	return nil
}

func (s *Service) loadUsers(ctx context.Context, tenant string, ids []string, undecoded bool) ([]User, error) {
	if len(ids) == 0 {
		return []User{}, nil
	}
	recs, err := s.store.GetUsers(ctx, tenant, ids)
	if err != nil {
		return nil, fromStorage(err, "users")
	}
	return decodeUsers(recs, undecoded)
}

// decodeUsers turns records into users; undecoded leaves their documents
// as stored (Raw), without Attrs. Returns KindInternal for a record whose
// document does not decode.
func decodeUsers(recs []storage.User, undecoded bool) ([]User, error) {
	out := make([]User, 0, len(recs))
	for _, rec := range recs {
		if undecoded {
			out = append(out, userView(rec, nil))
			continue
		}
		u, err := decodeUser(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// window counts every match and keeps those inside [start, start+count).
type window[T any] struct {
	start, count int
	match        func(T) bool
	total        int
	kept         []T
}

func (w *window[T]) offer(items []T) {
	for _, it := range items {
		if w.match != nil && !w.match(it) {
			continue
		}
		if w.total >= w.start && len(w.kept) < w.count {
			w.kept = append(w.kept, it)
		}
		w.total++
	}
}

func (w *window[T]) page() Page[T] {
	if w.kept == nil {
		w.kept = []T{}
	}
	return Page[T]{Total: w.total, Resources: w.kept}
}

// sortByCreation gives index lookups the same order as listing and scans.
func sortByCreation[T any](items []T, key func(T) (int64, string)) {
	if len(items) < 2 {
		return // sort.Slice allocates, even for nothing to sort
	}
	sort.Slice(items, func(i, j int) bool {
		ti, idi := key(items[i])
		tj, idj := key(items[j])
		if ti != tj {
			return ti < tj
		}
		return idi < idj
	})
}

// UserScan is one step of a filtered walk through a tenant's users.
type UserScan struct {
	Users []User
	// Next is where the walk goes on: an offset in creation order.
	Next int
	// Done says the walk reached the last user; Total is how many the
	// tenant has.
	Done  bool
	Total int
}

// scanBatch is how many users one round trip of ScanUsersFrom reads.
const scanBatch = 250

// ScanUsersFrom walks the tenant's users in creation order from offset
// from, keeping those match accepts, until it has count of them or has
// read budget users: a page of a filtered list costs at most budget
// records, however rare the matches, and says where the next one starts.
// Returns KindUnavailable.
func (s *Service) ScanUsersFrom(ctx context.Context, tenant string, from, count, budget int, match func(User) bool) (UserScan, error) {
	out := UserScan{Next: max(from, 0)}
	for read := 0; read < budget; {
		n := min(scanBatch, budget-read)
		ids, total, err := s.store.PageUsers(ctx, tenant, out.Next, n)
		if err != nil {
			return UserScan{}, fromStorage(err, "users")
		}
		out.Total = int(total)
		users, err := s.loadUsers(ctx, tenant, ids, false)
		if err != nil {
			return UserScan{}, err
		}
		byID := make(map[string]User, len(users))
		for _, u := range users {
			byID[u.ID] = u
		}
		for i, id := range ids {
			u, ok := byID[id] // gone since the page was read: skipped
			if !ok || !match(u) {
				continue
			}
			out.Users = append(out.Users, u)
			if len(out.Users) == count {
				out.Next += i + 1
				out.Done = out.Next >= out.Total
				return out, nil
			}
		}
		out.Next += len(ids)
		read += len(ids)
		if len(ids) < n || out.Next >= out.Total {
			out.Done = true
			return out, nil
		}
	}
	return out, nil
}
