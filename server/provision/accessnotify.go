package provision

import (
	"context"
	"time"

	"github.com/scimd/scimd/storage"
)

// notifyingStore tells the access resolver (Options.AccessChanged) of every
// successful write that can change someone's effective access: the write's
// script recorded the cause in the tenant's outbox, and the notice lets this
// replica's resolver decide it at once rather than at its next sweep.
type notifyingStore struct {
	store
	notify func(tenant string)
}

func (s notifyingStore) after(tenant string, err error) error {
	if err == nil {
		s.notify(tenant)
	}
	return err
}

func (s notifyingStore) CreateUser(ctx context.Context, tenant string, u storage.User, audit []byte) error {
	return s.after(tenant, s.store.CreateUser(ctx, tenant, u, audit))
}

// CreateUserUnlinked is the SCIM create's first try: its script records the
// user_created cause as CreateUser's does (a refusal to link records none).
func (s notifyingStore) CreateUserUnlinked(ctx context.Context, tenant string, u storage.User, audit []byte) (storage.Holders, error) {
	h, err := s.store.CreateUserUnlinked(ctx, tenant, u, audit)
	return h, s.after(tenant, err)
}

func (s notifyingStore) UpdateUser(ctx context.Context, tenant string, prev, u storage.User, audit []byte) error {
	err := s.store.UpdateUser(ctx, tenant, prev, u, audit)
	if prev.Active == u.Active {
		return err // only active is an input of the decision
	}
	return s.after(tenant, err)
}

func (s notifyingStore) DeleteUser(ctx context.Context, tenant, id string, audit []byte) error {
	return s.after(tenant, s.store.DeleteUser(ctx, tenant, id, audit))
}

func (s notifyingStore) CreateGroup(ctx context.Context, tenant string, g storage.Group, members []string, audit []byte) error {
	return s.after(tenant, s.store.CreateGroup(ctx, tenant, g, members, audit))
}

func (s notifyingStore) UpdateGroup(ctx context.Context, tenant string, prev, g storage.Group, change storage.MemberChange, audit []byte) error {
	return s.after(tenant, s.store.UpdateGroup(ctx, tenant, prev, g, change, audit))
}

func (s notifyingStore) DeleteGroup(ctx context.Context, tenant, id string, audit []byte) error {
	return s.after(tenant, s.store.DeleteGroup(ctx, tenant, id, audit))
}

func (s notifyingStore) DeleteGroupAt(ctx context.Context, tenant, id string, version int64, audit []byte) error {
	return s.after(tenant, s.store.DeleteGroupAt(ctx, tenant, id, version, audit))
}

func (s notifyingStore) ChangeMembers(ctx context.Context, tenant, groupID string, add, remove []string, modified time.Time, audit []byte) (int64, error) {
	v, err := s.store.ChangeMembers(ctx, tenant, groupID, add, remove, modified, audit)
	return v, s.after(tenant, err)
}

func (s notifyingStore) PutAccount(ctx context.Context, tenant string, a storage.Account, audit []byte) (bool, error) {
	created, err := s.store.PutAccount(ctx, tenant, a, audit)
	return created, s.after(tenant, err)
}

func (s notifyingStore) DeleteAccount(ctx context.Context, tenant, id string, audit []byte) (int64, error) {
	n, err := s.store.DeleteAccount(ctx, tenant, id, audit)
	return n, s.after(tenant, err)
}

func (s notifyingStore) PutRole(ctx context.Context, tenant string, r storage.Role, audit []byte) (bool, error) {
	created, err := s.store.PutRole(ctx, tenant, r, audit)
	return created, s.after(tenant, err)
}

func (s notifyingStore) PutGrants(ctx context.Context, tenant, groupID string, grants []storage.Grant, customLevels map[string]string, audit []byte) error {
	return s.after(tenant, s.store.PutGrants(ctx, tenant, groupID, grants, customLevels, audit))
}

func (s notifyingStore) DeleteRole(ctx context.Context, tenant, name string, audit []byte) error {
	return s.after(tenant, s.store.DeleteRole(ctx, tenant, name, audit))
}
