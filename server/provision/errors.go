package provision

import (
	"errors"
	"fmt"
	"time"

	"github.com/scimd/scimd/storage"
)

// Kind says what went wrong in terms both edges can map to a status.
type Kind int

// The error kinds.
const (
	KindInternal         Kind = iota // a bug or an unexpected reply: 500, details only in the log
	KindNotFound                     // no such tenant, user or group
	KindUniqueness                   // a unique value is held by another record
	KindInvalid                      // the input breaks a rule of the domain
	KindPrecondition                 // If-Match did not match the current version
	KindLicenseExhausted             // no license seat left
	KindUnavailable                  // Redis is unreachable or timed out
	KindConflict                     // concurrent writers kept winning; try again
	KindUnauthorized                 // a missing, wrong or other tenant's token
	KindForbidden                    // a policy refused the change; Detail is its reason
	KindInUse                        // the resource is still referenced (a granted role); Detail names by what
	KindQuotaExceeded                // the tenant holds its quota (or a cap) of something; Detail says which
	KindAuditFull                    // recording the change would drop audit events younger than the minimum age; RetryAfter says when
	KindThrottled                    // too many failed attempts from the client; RetryAfter says when

	kindEnd // new kinds go above: Kinds lists every kind below it
)

// Kinds lists every kind, for the tables that must cover them all (the
// edges' statuses).
func Kinds() []Kind {
	out := make([]Kind, 0, kindEnd)
	for k := range kindEnd {
		out = append(out, k)
	}
	return out
}

// Error is the service's error: a kind, a detail safe to show to the client
// and, where one applies, the attribute concerned.
type Error struct {
	Kind      Kind
	Detail    string
	Attribute string
	// RetryAfter, for KindAuditFull and KindThrottled, is how long until
	// the request may pass.
	RetryAfter time.Duration
	cause      error
	// ambiguous marks the 409 of a request whose identifiers match two
	// different users (a refusal of reason "ambiguousLink").
	ambiguous bool
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %v", e.Detail, e.cause)
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.cause }

// KindOf returns the kind of err: KindInternal for any error that is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// fromStorage translates storage's sentinels; what names the resource comes
// from the caller so that the detail reads well.
func fromStorage(err error, what string) error {
	if err == nil {
		return nil
	}
	var uniq *storage.UniquenessError
	var lic *storage.LicenseError
	var quota *storage.QuotaError
	var full *storage.AuditFullError
	switch {
	case errors.As(err, &uniq):
		return &Error{Kind: KindUniqueness, Attribute: uniq.Attribute, cause: err,
			Detail: fmt.Sprintf("%s is already in use by another resource", uniq.Attribute)}
	case errors.As(err, &lic):
		return &Error{Kind: KindLicenseExhausted, cause: err,
			Detail: fmt.Sprintf("license limit reached: %d of %d seats in use", lic.Used, lic.Limit)}
	case errors.As(err, &quota):
		return &Error{Kind: KindQuotaExceeded, Attribute: quotaAttribute[quota.Quota], cause: err, Detail: quotaDetail(quota)}
	case errors.Is(err, storage.ErrNotFound):
		return &Error{Kind: KindNotFound, Detail: what + " not found", cause: err}
	case errors.Is(err, storage.ErrMemberNotFound):
		return &Error{Kind: KindInvalid, Attribute: "members", cause: err,
			Detail: "a member value names no user of this tenant"}
	case errors.Is(err, storage.ErrVersionConflict):
		return &Error{Kind: KindConflict, Detail: what + " was changed concurrently; try again", cause: err}
	case errors.Is(err, storage.ErrStoreFull):
		return &Error{Kind: KindUnavailable, Detail: "store full: the directory store is out of memory and refuses changes (reads still work); the operator must free or add memory; try again later", cause: err}
	case errors.As(err, &full):
		return &Error{Kind: KindAuditFull, cause: err, RetryAfter: max(time.Second, time.Until(full.Retry)),
			Detail: "the audit log is full: recording this change would drop audit events younger than the operator's minimum age; try again later"}
	case errors.Is(err, storage.ErrUnavailable):
		return &Error{Kind: KindUnavailable, Detail: "the directory store is unavailable; try again later", cause: err}
	}
	return &Error{Kind: KindInternal, Detail: "internal error", cause: err}
}

// quotaAttribute names the attribute a quota refusal concerns, where one does.
var quotaAttribute = map[string]string{"members": "members"}

// quotaDetail says which quota a refusal hit and what to do about it.
func quotaDetail(q *storage.QuotaError) string {
	switch q.Quota {
	case "users":
		return fmt.Sprintf("tenant quota reached: %d of %d users (inactive users count too); delete users or ask the operator to raise the quota", q.Used, q.Limit)
	case "groups":
		return fmt.Sprintf("tenant quota reached: %d of %d groups; delete groups or ask the operator to raise the quota", q.Used, q.Limit)
	case "members":
		return fmt.Sprintf("group member quota: a group may have at most %d members (this one has %d); ask the operator to raise the quota", q.Limit, q.Used)
	case "accounts":
		return fmt.Sprintf("a tenant may have at most %d sub-accounts", q.Limit)
	case "roles":
		return fmt.Sprintf("a tenant may have at most %d custom roles", q.Limit)
	case "adminTokens":
		return fmt.Sprintf("a tenant may have at most %d admin tokens; revoke some first", q.Limit)
	case "decisionTokens":
		return fmt.Sprintf("a tenant may have at most %d decision tokens; revoke some first", q.Limit)
	case "platformDecisionTokens":
		return fmt.Sprintf("there may be at most %d platform decision tokens; revoke some first", q.Limit)
	}
	return fmt.Sprintf("%s quota reached: %d of %d", q.Quota, q.Used, q.Limit)
}
