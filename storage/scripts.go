package storage

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Each atomic write is one Lua script; its header lists KEYS, ARGV and every
// reply. Every reply is an array whose first element is one of these codes.
const (
	codeOK             = 0  // {0}
	codeNotFound       = 1  // {1, what}: "tenant", "user" or "group"
	codeExists         = 2  // {2, what}: the id is taken
	codeUnique         = 3  // {3, attribute, holder id}
	codeLicense        = 4  // {4, limit, used}
	codeVersion        = 5  // {5}: the stored version is not the one read
	codeMemberNotFound = 6  // {6, user id}
	codeRetry          = 7  // {7}: state read before the script moved; read again
	codeNoAccount      = 8  // {8, account id}: a named sub-account does not exist
	codeRoleInUse      = 9  // {9, JSON list of grants}: grants name the role
	codeRoleChanged    = 10 // {10, role name}: a custom role moved since it was read
	codeQuota          = 11 // {11, quota, limit, used}: the write would pass a quota or cap
	codeAuditFull      = 12 // {12, ms}: the audit append would trim an event of ms (lua/audit.lua)
	codeLeaseLost      = 13 // {13}: the tenant's resolver lease is another replica's (lua/write_decisions.lua)
)

// maxAttempts bounds the read-then-script loops whose script answers codeRetry.
const maxAttempts = 5

// errRetry is codeRetry; it never leaves the package.
var errRetry = errors.New("storage: state moved, retry")

var (
	//go:embed lua/create_tenant.lua
	createTenantLua    string
	createTenantScript = redis.NewScript(createTenantLua)

	//go:embed lua/update_tenant.lua
	updateTenantLua    string
	updateTenantScript = redis.NewScript(auditLua + updateTenantLua)

	//go:embed lua/append_audit.lua
	appendAuditLua    string
	appendAuditScript = redis.NewScript(auditLua + appendAuditLua)

	//go:embed lua/find_users.lua
	findUsersLua    string
	findUsersScript = redis.NewScript(findUsersLua)

	//go:embed lua/pack.lua
	packLua string

	//go:embed lua/create_user.lua
	createUserLua    string
	createUserScript = redis.NewScript(auditLua + outboxLua + packLua + createUserLua)

	//go:embed lua/update_user.lua
	updateUserLua    string
	updateUserScript = redis.NewScript(auditLua + outboxLua + updateUserLua)

	//go:embed lua/delete_user.lua
	deleteUserLua    string
	deleteUserScript = redis.NewScript(auditLua + outboxLua + deleteUserLua)

	//go:embed lua/create_group.lua
	createGroupLua    string
	createGroupScript = redis.NewScript(auditLua + outboxLua + createGroupLua)

	//go:embed lua/update_group.lua
	updateGroupLua    string
	updateGroupScript = redis.NewScript(auditLua + outboxLua + updateGroupLua)

	//go:embed lua/delete_group.lua
	deleteGroupLua    string
	deleteGroupScript = redis.NewScript(auditLua + outboxLua + deleteGroupLua)
)

// runScript runs script (see eval) and maps its reply with scriptResult.
func (s *Store) runScript(ctx context.Context, op string, script *redis.Script, keys []string, args []any) error {
	res, err := s.eval(ctx, op, script, keys, args)
	if err != nil {
		return err
	}
	return s.withRetry(scriptResult(op, res))
}

// runScriptArgs is runScript with the keys and arguments packed (scriptArgs).
func (s *Store) runScriptArgs(ctx context.Context, op string, script *redis.Script, a *scriptArgs) error {
	res, err := s.evalArgs(ctx, op, script, a)
	if err != nil {
		return err
	}
	return s.withRetry(scriptResult(op, res))
}

// countResult reads a {0, n} reply, or the error of another.
func (s *Store) countResult(op string, res any) (int64, error) {
	if err := s.withRetry(scriptResult(op, res)); err != nil {
		return 0, err
	}
	arr, _ := res.([]any) // scriptResult checked the shape of a {0, ...} reply
	if len(arr) < 2 {
		return 0, unavailable(op, badReply("%v", res))
	}
	n, ok := arr[1].(int64)
	if !ok {
		return 0, unavailable(op, badReply("count %T %v", arr[1], arr[1]))
	}
	return n, nil
}

// withRetry completes an AuditFullError with when to try again.
func (s *Store) withRetry(err error) error {
	if err == nil {
		return nil // without errors.As, whose target would be allocated on every write
	}
	var full *AuditFullError
	if errors.As(err, &full) {
		full.Retry = full.Youngest.Add(s.opts.AuditMinAge)
	}
	return err
}

// eval runs a write script: EVALSHA, then EVAL when the server lacks it.
// With Options.WaitReplicas, WAIT follows on the same connection in the
// same round trip (WAIT counts the replicas that have this connection's
// writes), and a write too few replicas confirmed is ErrUnavailable: it
// may be lost in a failover, so it is not acknowledged. Its effect may
// still be there: sent again, a create answers a conflict and a change
// applies again.
func (s *Store) eval(ctx context.Context, op string, script *redis.Script, keys []string, args []any) (any, error) {
	first := func() string {
		if len(keys) == 0 {
			return ""
		}
		return keys[0]
	}
	return s.evalOnMaster(ctx, op, first, func(c redis.Cmdable) (any, error) {
		return s.evalOn(ctx, c, script, keys, args)
	})
}

// evalArgs is eval with the keys and arguments packed (scriptArgs): the
// same command, without an allocation per key and argument.
func (s *Store) evalArgs(ctx context.Context, op string, script *redis.Script, a *scriptArgs) (any, error) {
	return s.evalOnMaster(ctx, op, a.firstKey, func(c redis.Cmdable) (any, error) {
		d, ok := c.(interface {
			Do(ctx context.Context, args ...any) *redis.Cmd
		})
		if !ok || s.opts.WaitReplicas > 0 {
			keys, args := a.split()
			return s.evalOn(ctx, c, script, keys, args)
		}
		res, err := d.Do(ctx, a.command("evalsha", script.Hash())...).Result()
		if err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")) {
			// As Script.Run: the server lacks the script (restarted, or
			// SCRIPT FLUSH); EVAL loads it.
			keys, args := a.split()
			return script.Eval(ctx, c, keys, args...).Result()
		}
		return res, err
	})
}

// evalOnMaster runs a script with run on the client, or on a cluster on the
// master holding the first key (first), mapping errors to ErrUnavailable.
func (s *Store) evalOnMaster(ctx context.Context, op string, first func() string, run func(c redis.Cmdable) (any, error)) (any, error) {
	var c redis.Cmdable = s.rdb
	cc, cluster := s.rdb.(*redis.ClusterClient)
	if cluster && first() == "" {
		return nil, unavailable(op, badReply("a script without keys has no slot"))
	}
	if cluster {
		// The master that holds the keys (a tenant's keys share one slot)
		// runs the script directly: the cluster client resends a command
		// whose connection broke (its redirect loop ignores max_retries),
		// and a write script must not run twice; a pipeline would also send
		// WAIT to any node. A slot that moved answers MOVED: the slot map is
		// reloaded and the request answers 503, to be sent again.
		node, err := cc.MasterForKey(ctx, first())
		if err != nil {
			return nil, unavailable(op, err)
		}
		c = node
	}
	res, err := run(c)
	if err != nil {
		if cluster && slotMapStale(err) {
			cc.ReloadState(ctx) // in the background; the next request uses it
		}
		return nil, unavailable(op, err)
	}
	return res, nil
}

// slotMapStale reports whether err suggests the cluster's slot map moved
// on: the slot moved (MOVED, ASK), the node is not a master any more or not
// ready (READONLY, LOADING, CLUSTERDOWN, TRYAGAIN), or it did not answer at
// all (a network error, not a reply).
func slotMapStale(err error) bool {
	for _, prefix := range []string{"MOVED", "ASK", "READONLY", "LOADING", "CLUSTERDOWN", "TRYAGAIN"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	var reply redis.Error
	return !errors.As(err, &reply)
}

// evalOn runs script on c, with WAIT when Options.WaitReplicas asks.
func (s *Store) evalOn(ctx context.Context, c redis.Cmdable, script *redis.Script, keys []string, args []any) (any, error) {
	if s.opts.WaitReplicas <= 0 {
		return script.Run(ctx, c, keys, args...).Result()
	}
	res, err := s.evalWait(ctx, c, script, keys, args, true)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		res, err = s.evalWait(ctx, c, script, keys, args, false)
	}
	return res, err
}

func (s *Store) evalWait(ctx context.Context, c redis.Cmdable, script *redis.Script, keys []string, args []any, bySHA bool) (any, error) {
	var (
		ev   *redis.Cmd
		wait *redis.Cmd
	)
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if bySHA {
			ev = script.EvalSha(ctx, p, keys, args...)
		} else {
			ev = script.Eval(ctx, p, keys, args...)
		}
		// Pipeliner has no Wait method; the command is the same.
		wait = p.Do(ctx, "WAIT", s.opts.WaitReplicas, s.opts.WaitTimeout.Milliseconds())
		return nil
	})
	if err := ev.Err(); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	// WAIT counts replicas up to this connection's last write; a script
	// that refused wrote nothing, so its answer stands whatever WAIT says
	// (every script checks everything before its first write).
	if !succeeded(ev.Val()) {
		return ev.Val(), nil
	}
	n, err := wait.Int64()
	if err != nil {
		return nil, err
	}
	if n < int64(s.opts.WaitReplicas) {
		return nil, fmt.Errorf("%w: %d of %d replicas confirmed the write within %s", ErrNotReplicated, n, s.opts.WaitReplicas, s.opts.WaitTimeout)
	}
	return ev.Val(), nil
}

// succeeded reports whether a script's reply is {0, ...}: it wrote.
func succeeded(res any) bool {
	arr, ok := res.([]any)
	if !ok || len(arr) == 0 {
		return false
	}
	code, ok := arr[0].(int64)
	return ok && code == codeOK
}

// scriptResult maps a script's reply to nil or a sentinel error. Every type
// assertion is checked: a reply of another shape is ErrUnavailable, never a
// panic.
func scriptResult(op string, res any) error {
	arr, ok := res.([]any)
	if !ok || len(arr) == 0 {
		return unavailable(op, badReply("%T %v", res, res))
	}
	code, ok := arr[0].(int64)
	if !ok {
		return unavailable(op, badReply("code %T %v", arr[0], arr[0]))
	}
	str := func(i int) (string, bool) {
		if i >= len(arr) {
			return "", false
		}
		v, ok := arr[i].(string)
		return v, ok
	}
	num := func(i int) (int64, bool) {
		if i >= len(arr) {
			return 0, false
		}
		v, ok := arr[i].(int64)
		return v, ok
	}
	switch code {
	case codeOK:
		return nil
	case codeNotFound:
		if what, ok := str(1); ok {
			return notFound(what)
		}
	case codeExists:
		if what, ok := str(1); ok {
			return fmt.Errorf("%w: %s", ErrExists, what)
		}
	case codeUnique:
		attr, ok1 := str(1)
		holder, ok2 := str(2)
		if ok1 && ok2 {
			return &UniquenessError{Attribute: attr, HolderID: holder}
		}
	case codeLicense:
		limit, ok1 := num(1)
		used, ok2 := num(2)
		if ok1 && ok2 {
			return &LicenseError{Limit: limit, Used: used}
		}
	case codeVersion:
		return ErrVersionConflict
	case codeMemberNotFound:
		if id, ok := str(1); ok {
			return fmt.Errorf("%w: %s", ErrMemberNotFound, id)
		}
	case codeRetry:
		return errRetry
	case codeLeaseLost:
		return ErrLeaseLost
	case codeQuota:
		quota, ok1 := str(1)
		limit, ok2 := num(2)
		used, ok3 := num(3)
		if ok1 && ok2 && ok3 {
			return &QuotaError{Quota: quota, Limit: limit, Used: used}
		}
	case codeAuditFull:
		if ms, ok := num(1); ok {
			return &AuditFullError{Youngest: time.UnixMilli(ms).UTC()}
		}
	case codeNoAccount:
		if id, ok := str(1); ok {
			return &AccountNotFoundError{ID: id}
		}
	case codeRoleInUse:
		if raw, ok := str(1); ok {
			var uses []RoleUse
			if err := json.Unmarshal([]byte(raw), &uses); err == nil && len(uses) > 0 {
				return &RoleInUseError{Uses: uses}
			}
		}
	case codeRoleChanged:
		if name, ok := str(1); ok {
			return fmt.Errorf("%w: %s", ErrRoleChanged, name)
		}
	}
	return unavailable(op, badReply("%v", arr))
}
