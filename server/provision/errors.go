package provision

import (
	"errors"
	"fmt"

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
)

// Error is the service's error: a kind, a detail safe to show to the client
// and, where one applies, the attribute concerned.
type Error struct {
	Kind      Kind
	Detail    string
	Attribute string
	cause     error
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
	switch {
	case errors.As(err, &uniq):
		return &Error{Kind: KindUniqueness, Attribute: uniq.Attribute, cause: err,
			Detail: fmt.Sprintf("%s is already in use by another resource", uniq.Attribute)}
	case errors.As(err, &lic):
		return &Error{Kind: KindLicenseExhausted, cause: err,
			Detail: fmt.Sprintf("license limit reached: %d of %d seats in use", lic.Used, lic.Limit)}
	case errors.Is(err, storage.ErrNotFound):
		return &Error{Kind: KindNotFound, Detail: what + " not found", cause: err}
	case errors.Is(err, storage.ErrMemberNotFound):
		return &Error{Kind: KindInvalid, Attribute: "members", cause: err,
			Detail: "a member value names no user of this tenant"}
	case errors.Is(err, storage.ErrVersionConflict):
		return &Error{Kind: KindConflict, Detail: what + " was changed concurrently; try again", cause: err}
	case errors.Is(err, storage.ErrUnavailable):
		return &Error{Kind: KindUnavailable, Detail: "the directory store is unavailable; try again later", cause: err}
	}
	return &Error{Kind: KindInternal, Detail: "internal error", cause: err}
}
