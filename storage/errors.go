package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// unavailableError is what every failure to talk to Redis becomes: it matches
// ErrUnavailable for the service and keeps the cause (and errors.Is on it,
// e.g. context.DeadlineExceeded) for the log.
type unavailableError struct {
	op    string
	cause error
}

func (e *unavailableError) Error() string {
	// A cause of storage's own (ErrNotReplicated) says "storage:" already.
	return "storage: " + e.op + ": unavailable: " + strings.TrimPrefix(e.cause.Error(), "storage: ")
}

// Is makes errors.Is(err, ErrUnavailable) work.
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

func (e *unavailableError) Unwrap() error { return e.cause }

// unavailable wraps err, a go-redis error or an unexpected reply, for op.
// Redis refusing a write for want of memory (maxmemory reached, with
// noeviction) becomes a storeFullError.
func unavailable(op string, err error) error {
	if redis.HasErrorPrefix(err, "OOM") {
		return &storeFullError{unavailableError{op: op, cause: err}}
	}
	return &unavailableError{op: op, cause: err}
}

// storeFullError is a write Redis refused because it is out of memory. It
// matches ErrStoreFull and, being an outage of sorts, ErrUnavailable.
type storeFullError struct{ unavailableError }

// Is makes errors.Is(err, ErrStoreFull) and errors.Is(err, ErrUnavailable) work.
func (e *storeFullError) Is(target error) bool {
	return target == ErrStoreFull || target == ErrUnavailable
}

// badReply is the cause of an unavailableError for a reply of the wrong shape.
func badReply(format string, args ...any) error {
	return fmt.Errorf("unexpected reply: "+format, args...)
}

// isNil reports whether err is go-redis's "no such key/field" answer.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }

// notFound names what was missing while keeping errors.Is(err, ErrNotFound).
func notFound(what string) error { return fmt.Errorf("%w: %s", ErrNotFound, what) }

func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
