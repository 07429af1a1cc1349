package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// `scimd migrate` brings data written by an earlier release to the form this
// release writes. A release that changes what is stored ships a step here and
// keeps reading both forms until the step has run on every tenant, so old
// and new replicas can serve side by side during a rolling restart and the
// migration can run while they do.
//
// A step works through a tenant in batches. After each batch the runner
// records the step's cursor in the tenant's migrateCursorKey, and when the
// step is finished its name in migrateDoneKey, so a run that is interrupted
// (SIGINT, a lost connection) resumes where it stopped, and a finished step
// is not run again. Each batch must be idempotent on its own: a batch that
// ran but whose cursor was not recorded runs again.

// MigrationStep is one named change to a tenant's stored data.
type MigrationStep struct {
	// Name is recorded per tenant when the step is finished: never rename
	// or reuse one.
	Name string
	// Summary says what the step changes, for `scimd migrate --list`.
	Summary string
	// Batch examines the tenant's next batch after cursor ("" is the
	// start) and, unless dry, changes what is still in the old form, each
	// change one atomic script that re-checks the record it rests on. It
	// returns the cursor to resume from, "" when the step has seen
	// everything. Returns ErrUnavailable.
	Batch func(ctx context.Context, s *Store, tenant, cursor string, dry bool) (MigrationBatch, error)
}

// MigrationBatch is what one batch of a step did.
type MigrationBatch struct {
	Next     string // the cursor to resume from; "" when the step has seen everything
	Examined int    // records or entries looked at
	Changed  int    // brought to the new form (in a dry run: would be)
	// Unresolved lists what the step cannot change by itself (a duplicate
	// only a person can settle). A step with any is not recorded as done:
	// settle them and run migrate again.
	Unresolved []string
}

// Migrations is this release's steps, in the order they run.
func Migrations() []MigrationStep {
	return []MigrationStep{
		stepUserExternalIDSets,
		stepUserNameKeys,
	}
}

// MigrationState is how far a step has got on a tenant.
type MigrationState string

// The states of a step.
const (
	MigrationDoneBefore MigrationState = "done-before" // recorded as done by an earlier run
	MigrationDone       MigrationState = "done"        // finished by this run
	MigrationPending    MigrationState = "pending"     // a dry run: not run
	MigrationUnresolved MigrationState = "unresolved"  // ran to the end, but left what it cannot change
	MigrationStopped    MigrationState = "stopped"     // interrupted: the cursor is recorded
)

// MigrationStepReport is one step's outcome on one tenant.
type MigrationStepReport struct {
	Name       string         `json:"name"`
	State      MigrationState `json:"state"`
	ResumedAt  string         `json:"resumedAt,omitempty"` // the cursor this run started from
	Examined   int            `json:"examined"`
	Changed    int            `json:"changed"` // in a dry run: would change
	Unresolved []string       `json:"unresolved"`
}

// MigrateReport is one tenant's run.
type MigrateReport struct {
	Tenant string                `json:"tenant"`
	DryRun bool                  `json:"dryRun"`
	Steps  []MigrationStepReport `json:"steps"`
}

// Complete reports whether every step is done (for a dry run: whether
// nothing would change and nothing is unresolved).
func (r MigrateReport) Complete() bool {
	for _, st := range r.Steps {
		switch st.State {
		case MigrationDone, MigrationDoneBefore:
		case MigrationPending:
			if st.Changed > 0 || len(st.Unresolved) > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// progressTimeout bounds the write recording a finished batch.
const progressTimeout = 5 * time.Second

// maxUnresolved bounds what a report lists per step; the rest is counted.
const maxUnresolved = 100

// Migrate runs steps (nil: Migrations()) on one tenant, skipping those
// recorded as done and resuming a step from its recorded cursor. With dry
// it writes nothing, progress included, and reports what would change. now
// is recorded with each finished step. A step interrupted by ctx (or a
// Redis failure) has its cursor recorded up to its last finished batch.
// Returns ErrNotFound (no such tenant) and ErrUnavailable, with the report
// so far.
func (s *Store) Migrate(ctx context.Context, tenant string, steps []MigrationStep, dry bool, now time.Time) (MigrateReport, error) {
	rep := MigrateReport{Tenant: tenant, DryRun: dry, Steps: []MigrationStepReport{}}
	if steps == nil {
		steps = Migrations()
	}
	if _, err := s.GetTenant(ctx, tenant); err != nil {
		return rep, err
	}
	var done, cursors *redis.MapStringStringCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		done = p.HGetAll(ctx, migrateDoneKey(tenant))
		cursors = p.HGetAll(ctx, migrateCursorKey(tenant))
		return nil
	}); err != nil {
		return rep, unavailable("migrate", err)
	}
	for _, step := range steps {
		sr := MigrationStepReport{Name: step.Name, Unresolved: []string{}}
		if _, ok := done.Val()[step.Name]; ok {
			sr.State = MigrationDoneBefore
			rep.Steps = append(rep.Steps, sr)
			continue
		}
		// What the interrupted run this one resumes left unresolved: its
		// batches are not run again, so their count carries over.
		prior, _ := strconv.Atoi(cursors.Val()[step.Name+unresolvedSuffix])
		err := s.migrateStep(ctx, tenant, step, cursors.Val()[step.Name], prior, dry, now, &sr)
		rep.Steps = append(rep.Steps, sr)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// unresolvedSuffix names, beside a step's cursor, how many items the
// batches before the cursor left unresolved.
const unresolvedSuffix = ":unresolved"

// migrateStep runs one step to its end, recording its progress; prior is
// what the batches before cursor left unresolved.
func (s *Store) migrateStep(ctx context.Context, tenant string, step MigrationStep, cursor string, prior int, dry bool, now time.Time, sr *MigrationStepReport) error {
	op := "migrate " + step.Name
	sr.ResumedAt = cursor
	sr.State = MigrationStopped
	if dry {
		prior = 0 // a dry run reports only what it sees
	}
	unresolved := prior
	for {
		if err := ctx.Err(); err != nil {
			return unavailable(op, err)
		}
		b, err := step.Batch(ctx, s, tenant, cursor, dry)
		if err != nil {
			if !isUnavailable(err) {
				err = unavailable(op, err)
			}
			return err
		}
		sr.Examined += b.Examined
		sr.Changed += b.Changed
		unresolved += len(b.Unresolved)
		for _, u := range b.Unresolved {
			if len(sr.Unresolved) < maxUnresolved {
				sr.Unresolved = append(sr.Unresolved, u)
			}
		}
		if b.Next != "" && b.Next == cursor {
			return unavailable(op, fmt.Errorf("step %s did not move past cursor %q", step.Name, cursor))
		}
		cursor = b.Next
		if dry {
			if cursor == "" {
				sr.State = MigrationPending
				break
			}
			continue
		}
		if cursor != "" {
			// The batch is done: record that even when ctx was cancelled
			// meanwhile (SIGINT), so the next run does not repeat it.
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), progressTimeout)
			_, err := s.rdb.TxPipelined(pctx, func(p redis.Pipeliner) error {
				p.HSet(pctx, migrateCursorKey(tenant), step.Name, cursor, step.Name+unresolvedSuffix, unresolved)
				return nil
			})
			cancel()
			if err != nil {
				return unavailable(op, err)
			}
			continue
		}
		// The end. With unresolved items the step starts over next time,
		// once someone has settled them; otherwise it is done for good.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), progressTimeout)
		_, err = s.rdb.TxPipelined(pctx, func(p redis.Pipeliner) error {
			p.HDel(pctx, migrateCursorKey(tenant), step.Name, step.Name+unresolvedSuffix)
			if unresolved == 0 {
				p.HSet(pctx, migrateDoneKey(tenant), step.Name, now.UTC().Format(time.RFC3339))
			}
			return nil
		})
		cancel()
		if err != nil {
			return unavailable(op, err)
		}
		sr.State = MigrationDone
		if unresolved > 0 {
			sr.State = MigrationUnresolved
		}
		break
	}
	if n := unresolved - prior - len(sr.Unresolved); n > 0 {
		sr.Unresolved = append(sr.Unresolved, fmt.Sprintf("and %d more", n))
	}
	if prior > 0 {
		sr.Unresolved = append(sr.Unresolved, fmt.Sprintf("and %d found by the interrupted run this one resumed: run migrate again to list them", prior))
	}
	return nil
}

// MigrationsDone returns the names of the steps recorded as done for the
// tenant. Returns ErrUnavailable.
func (s *Store) MigrationsDone(ctx context.Context, tenant string) (map[string]string, error) {
	m, err := s.rdb.HGetAll(ctx, migrateDoneKey(tenant)).Result()
	if err != nil {
		return nil, unavailable("migrations done", err)
	}
	return m, nil
}

// usersAfter returns the next batch of user ids in creation order after
// cursor (a creation sequence; "" is the start) and the cursor after them,
// "" when the batch was the last. Steps over users page with it: scores are
// unique and only grow, so users created or deleted meanwhile neither shift
// nor repeat a batch.
func (s *Store) usersAfter(ctx context.Context, tenant, cursor string) ([]string, string, error) {
	return s.orderedAfter(ctx, usersKey(tenant), cursor)
}

// orderedAfter pages the creation-order set zkey by score; see usersAfter.
func (s *Store) orderedAfter(ctx context.Context, zkey, cursor string) ([]string, string, error) {
	start := "-inf"
	if cursor != "" {
		if _, err := strconv.ParseFloat(cursor, 64); err != nil {
			return nil, "", errors.New("storage: bad migration cursor " + strconv.Quote(cursor))
		}
		start = "(" + cursor
	}
	zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
		Key: zkey, Start: start, Stop: "+inf", ByScore: true, Count: int64(s.opts.ScanBatch),
	}).Result()
	if err != nil {
		return nil, "", unavailable("page for migration", err)
	}
	ids := make([]string, 0, len(zs))
	for _, z := range zs {
		id, ok := z.Member.(string)
		if !ok {
			return nil, "", unavailable("page for migration", badReply("member %T", z.Member))
		}
		ids = append(ids, id)
	}
	next := ""
	if len(zs) == s.opts.ScanBatch {
		next = strconv.FormatFloat(zs[len(zs)-1].Score, 'f', -1, 64)
	}
	return ids, next, nil
}
