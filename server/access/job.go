package access

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/storage"
)

// job is the outbox entry being resolved, as job_cause stores it, so that
// another replica can resume it from job_pos.
type job struct {
	Entry string `json:"entry"` // the outbox entry id
	Kind  string `json:"k"`
	ID    string `json:"id"`
	Gen   int64  `json:"g"`
	Cause Cause  `json:"cause"`
	// Gone are the names of a deleted user, which only the cause still
	// knows (user_deleted), for its feed entry.
	Gone *names `json:"gone,omitempty"`
	// pos is where the next batch starts (job_pos): the index into the ids
	// of a users entry, the SSCAN cursor of a group, "<group> <cursor>" of
	// a role, the creation sequence of all.
	pos string
}

// jobFor starts a job on an outbox entry.
func jobFor(e storage.OutboxEntry) job {
	j := job{Entry: e.ID, Kind: e.Kind, ID: e.Target, Gen: e.Generation}
	var c Cause
	if err := json.Unmarshal(e.Cause, &c); err != nil || c.Kind == "" {
		// An entry without a readable cause still says what went stale.
		c = Cause{Kind: map[string]string{storage.OutboxUsers: storage.CauseActive, storage.OutboxGroup: storage.CauseMembership,
			storage.OutboxRole: storage.CauseRole, storage.OutboxAll: storage.CauseRepair}[e.Kind], ID: e.Target}
	}
	c.Generation = e.Generation
	j.Cause = c
	if c.Kind == storage.CauseUserDeleted {
		var n names
		if json.Unmarshal(e.Cause, &n) == nil {
			j.Gone = &n
		}
	}
	return j
}

// names are a user's names as the feed shows them.
type names struct {
	UserName   string `json:"userName"`
	ExternalID string `json:"externalId"`
}

// pick chooses the outbox entry to resolve next: the oldest, unless an
// 'all' is pending, which re-decides every user and so supersedes every
// entry before it (the last 'all' of those read is taken).
func pick(entries []storage.OutboxEntry) storage.OutboxEntry {
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Kind == storage.OutboxAll {
			return entries[i]
		}
	}
	return entries[0]
}

// total counts the users a job will go through, for its progress.
func (r *Resolver) total(ctx context.Context, tenant string, j job) (int64, error) {
	switch j.Kind {
	case storage.OutboxUsers:
		return int64(len(strings.Fields(j.ID))), nil
	case storage.OutboxGroup:
		n, err := r.st.MemberCounts(ctx, tenant, []string{j.ID})
		if err != nil {
			return 0, err
		}
		return n[0], nil
	case storage.OutboxRole:
		groups, err := r.st.GroupsGranting(ctx, tenant, j.ID)
		if err != nil {
			return 0, err
		}
		ns, err := r.st.MemberCounts(ctx, tenant, groups)
		if err != nil {
			return 0, err
		}
		var sum int64
		for _, n := range ns {
			sum += n
		}
		return sum, nil
	case storage.OutboxAll:
		return r.st.UserCount(ctx, tenant)
	}
	return 0, nil
}

// next returns the next batch of the job's users and the position after
// it; done says the job has no users after this batch.
func (r *Resolver) next(ctx context.Context, tenant string, j job) (ids []string, pos string, done bool, err error) {
	batch := r.opts.Batch
	switch j.Kind {
	case storage.OutboxUsers:
		all := strings.Fields(j.ID)
		from, _ := strconv.Atoi(j.pos)
		from = min(max(from, 0), len(all))
		to := min(from+batch, len(all))
		return all[from:to], strconv.Itoa(to), to == len(all), nil
	case storage.OutboxGroup:
		return r.scanGroup(ctx, tenant, j.ID, j.pos, batch)
	case storage.OutboxRole:
		groups, err := r.st.GroupsGranting(ctx, tenant, j.ID)
		if err != nil {
			return nil, "", false, err
		}
		group, cursor, _ := strings.Cut(j.pos, " ")
		i := 0
		if group != "" {
			i, _ = slices.BinarySearch(groups, group)
		}
		for ; i < len(groups); i++ {
			if groups[i] != group {
				cursor = ""
			}
			ids, c, last, err := r.scanGroup(ctx, tenant, groups[i], cursor, batch)
			switch {
			case err != nil:
				return nil, "", false, err
			case !last:
				return ids, groups[i] + " " + c, false, nil
			case i == len(groups)-1:
				return ids, "", true, nil
			case len(ids) > 0:
				return ids, groups[i+1] + " ", false, nil
			}
		}
		return nil, "", true, nil
	case storage.OutboxAll:
		after, _ := strconv.ParseInt(j.pos, 10, 64)
		ids, last, err := r.st.UsersAfter(ctx, tenant, after, batch)
		if err != nil {
			return nil, "", false, err
		}
		return ids, strconv.FormatInt(last, 10), len(ids) < batch, nil
	}
	return nil, "", true, nil
}

// scanGroup returns the next members of a group from an SSCAN cursor (""
// to start), skipping empty pages, and whether the scan is over.
func (r *Resolver) scanGroup(ctx context.Context, tenant, group, cursor string, batch int) ([]string, string, bool, error) {
	c, _ := strconv.ParseUint(cursor, 10, 64)
	for {
		ids, next, err := r.st.MembersPage(ctx, tenant, group, c, batch)
		if err != nil {
			return nil, "", false, err
		}
		if next == 0 || len(ids) > 0 {
			return ids, strconv.FormatUint(next, 10), next == 0, nil
		}
		c = next
	}
}

// step resolves the tenant's work until the slice ends (end) or a job
// ends, and reports whether work is left. It reads the state, starts the
// next job if none is under way (or asks for a re-decision of everyone when
// the policy revision moved), and runs the job's batches.
func (r *Resolver) step(ctx context.Context, tenant string, end time.Time) (bool, error) {
	st, err := r.st.AccessState(ctx, tenant)
	if err != nil {
		return false, err
	}
	var j job
	var start map[string]string
	if st.Job != "" {
		if err := json.Unmarshal([]byte(st.Job), &j); err != nil {
			return false, fmt.Errorf("access: job_cause %q: %w", st.Job, err)
		}
		j.pos = st.JobPos
	} else {
		if st.Revision != r.revision && st.Queued != r.revision {
			return true, r.enqueuePolicy(ctx, tenant)
		}
		// As many entries as a batch may merge: a backlog of small causes
		// (a user each) drains a full batch a step.
		entries, err := r.st.ReadOutbox(ctx, tenant, st.Cursor, max(r.opts.Batch, 100))
		if err != nil {
			return false, err
		}
		if len(entries) == 0 {
			return false, nil
		}
		if next := pick(entries); next.Kind == storage.OutboxUsers && len(next.Users()) <= r.opts.Batch {
			return true, r.resolveMerged(ctx, tenant, entries)
		}
		j = jobFor(pick(entries))
		total, err := r.total(ctx, tenant, j)
		if err != nil {
			return false, err
		}
		start = map[string]string{storage.StateJobCause: string(mustJSON(j)), storage.StateJobTotal: strconv.FormatInt(total, 10),
			storage.StateJobStarted: strconv.FormatInt(r.opts.Clock().UnixMilli(), 10)}
	}
	return r.runJob(ctx, tenant, j, start, st.JobChanged, end)
}

// jobBatch is a batch of a job, decided, and where the job goes on after it.
type jobBatch struct {
	d    decided
	pos  string
	done bool
	err  error
}

// runJob resolves the job's batches, from j.pos, until the job is done or
// the slice ends, and reports whether work is left. Each batch is decided
// while the one before it is written, so that the policy's and Go's work
// overlaps Redis's. The job stays in memory between batches: under the
// lease no other replica moves it, and a write once the lease is lost is
// refused (ErrLeaseLost), which ends the run. A user met again (SSCAN may
// return a member twice) in the batch decided ahead finds its record moved
// by the write before: it is decided again, as any conflict. start are the
// state fields the first batch sets (a job just started), changed the
// users the job changed before.
func (r *Resolver) runJob(ctx context.Context, tenant string, j job, start map[string]string, changed int64, end time.Time) (bool, error) {
	decide := func(pos string, state map[string]string) jobBatch {
		at := j
		at.pos = pos
		ids, pos, done, err := r.next(ctx, tenant, at)
		if err != nil {
			return jobBatch{err: err}
		}
		if state == nil {
			state = map[string]string{}
		}
		state[storage.StateJobPos] = pos
		d, err := r.decide(ctx, tenant, []job{j}, nil, ids, storage.DecisionBatch{Owner: r.opts.Replica, State: state, Job: true}, 0)
		return jobBatch{d: d, pos: pos, done: done, err: err}
	}
	cur := decide(j.pos, start)
	for {
		if cur.err != nil {
			return false, cur.err
		}
		var ahead chan jobBatch
		if !cur.done && ctx.Err() == nil && r.opts.Clock().Before(end) {
			ahead = make(chan jobBatch, 1)
			go func(pos string) {
				r.pace(ctx)
				ahead <- decide(pos, nil)
			}(cur.pos)
		}
		n, err := r.commit(ctx, tenant, cur.d)
		changed += int64(n)
		if err == nil && !cur.done && ahead != nil {
			var held bool
			// Renewed, not taken again: a lease that lapsed may have let
			// another replica move the job this one holds in memory.
			if held, err = r.st.RenewAccessLease(ctx, tenant, r.opts.Replica, r.opts.Lease); err == nil && !held {
				err = storage.ErrLeaseLost
			}
		}
		if err != nil {
			if ahead != nil {
				<-ahead
			}
			return false, err
		}
		switch {
		case cur.done:
			return true, r.finish(ctx, tenant, j, changed)
		case ahead == nil:
			return true, nil
		}
		cur = <-ahead
	}
}

// finish ends the job after its last batch: the outbox moves past its
// entry, with the cause's audit event if it changed any user's access.
func (r *Resolver) finish(ctx context.Context, tenant string, j job, changed int64) error {
	finish := map[string]string{storage.StateCursor: j.Entry, storage.StateResolvedGen: strconv.FormatInt(j.Gen, 10)}
	if j.Kind == storage.OutboxAll {
		// Every user was decided again at this revision.
		finish[storage.StateRevision] = r.revision
	}
	res, err := r.st.WriteDecisions(ctx, tenant, storage.DecisionBatch{Owner: r.opts.Replica, State: finish, Resolved: j.Entry, Audit: r.auditEvent(j)})
	if err != nil {
		return err
	}
	if res.Audited == 0 && changed > 0 {
		r.log.Warn("access: audit log full: the access.change event of a cause was not recorded", "tenant", tenant, "cause", j.Cause.Kind, "id", j.Cause.ID)
	}
	r.resolvedLag(j)
	return nil
}

// resolvedLag reports how long the cause of j waited for its decisions.
func (r *Resolver) resolvedLag(j job) {
	if at, ok := storage.OutboxTime(j.Entry); ok {
		// Redis's clock against this replica's: a negative skew counts 0.
		r.m.AccessCauseResolved(max(r.opts.Clock().Sub(at), 0))
	}
}

// resolveMerged resolves the run of small 'users' entries at the head of
// entries in one batch, which also resolves them (moves the cursor past
// the last), each cause with its own audit event.
func (r *Resolver) resolveMerged(ctx context.Context, tenant string, entries []storage.OutboxEntry) error {
	jobs, of, ids := r.merge(entries)
	last := jobs[len(jobs)-1]
	causes := make([][]byte, len(jobs))
	for i, j := range jobs {
		causes[i] = r.auditEvent(j)
	}
	_, err := r.resolve(ctx, tenant, jobs, of, ids, storage.DecisionBatch{Owner: r.opts.Replica, Causes: causes, Resolved: last.Entry,
		State: map[string]string{storage.StateCursor: last.Entry, storage.StateResolvedGen: strconv.FormatInt(last.Gen, 10)}})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		r.resolvedLag(j)
	}
	return nil
}

// enqueuePolicy asks for every user of the tenant to be decided again at
// this replica's revision, once (revision_queued remembers it).
func (r *Resolver) enqueuePolicy(ctx context.Context, tenant string) error {
	cause := mustJSON(map[string]string{"kind": storage.CausePolicy, "id": r.revision})
	if _, err := r.st.EnqueueAccess(ctx, tenant, storage.OutboxAll, "", cause); err != nil {
		return err
	}
	_, err := r.st.WriteDecisions(ctx, tenant, storage.DecisionBatch{Owner: r.opts.Replica, State: map[string]string{storage.StateQueued: r.revision}})
	return err
}

// resolve decides the users ids and writes the batch; users whose stored
// record moved meanwhile (ResolveNow wrote one) are decided again, a few
// times at most, outside the job's counts. jobs are the causes: one for a
// job's batch, several for merged small causes, each user's the last
// naming it in of (then each record counts for its cause's audit event in
// b.Causes). It returns the number of feed entries written.
func (r *Resolver) resolve(ctx context.Context, tenant string, jobs []job, of map[string]int, ids []string, b storage.DecisionBatch) (int, error) {
	d, err := r.decide(ctx, tenant, jobs, of, ids, b, 0)
	if err != nil {
		return 0, err
	}
	return r.commit(ctx, tenant, d)
}

// decided is a batch decided and planned, ready to write.
type decided struct {
	jobs                       []job
	of                         map[string]int
	b                          storage.DecisionBatch
	users, evaluations, failed int
	err                        error // the policy's first failure, for the log
}

// decide evaluates the users ids and plans their writes into b (see
// resolve); attempt counts the tries of users that conflicted, whose
// causes' audit events went with the first write.
func (r *Resolver) decide(ctx context.Context, tenant string, jobs []job, of map[string]int, ids []string, b storage.DecisionBatch, attempt int) (decided, error) {
	causeOf := func(uid string) (Cause, int) {
		i, ok := of[uid]
		if !ok {
			return jobs[0].Cause, 0
		}
		return jobs[i].Cause, i + 1
	}
	ev, err := evaluate(ctx, r.eng, r.st, tenant, ids, r.known)
	if err != nil {
		return decided{}, err
	}
	at := r.opts.Clock()
	for i, sub := range ev.Subjects {
		// A user that is gone: only its user_deleted cause has the names.
		if c, _ := causeOf(sub.ID); !sub.Exists && c.Kind == storage.CauseUserDeleted && c.ID == sub.ID {
			for _, j := range jobs {
				if j.Gone != nil && j.Cause == c {
					ev.Subjects[i].UserName, ev.Subjects[i].ExternalID = j.Gone.UserName, j.Gone.ExternalID
				}
			}
		}
	}
	changes, failed := plan(ev, causeOf, at)
	b.Records = make([]storage.DecisionWrite, 0, len(changes))
	for _, c := range changes {
		if attempt > 0 {
			c.write.Cause = 0 // the causes' events went with the first write
		}
		if r.sample() {
			cause, _ := causeOf(c.write.User)
			c.write = r.logged(c.write, cause)
		}
		b.Records = append(b.Records, c.write)
	}
	return decided{jobs: jobs, of: of, b: b, users: len(ev.Decisions), evaluations: ev.Evaluations, failed: failed, err: firstErr(ev)}, nil
}

// commit writes a decided batch, deciding again, a few times at most, the
// users whose record moved meanwhile; it returns the feed entries written.
func (r *Resolver) commit(ctx context.Context, tenant string, d decided) (int, error) {
	entries := 0
	for attempt := 0; ; attempt++ {
		res, err := r.st.WriteDecisions(ctx, tenant, d.b)
		if err != nil {
			return entries, err
		}
		entries += res.Entries
		r.m.AccessResolved(d.users, d.evaluations)
		if res.Entries > 0 {
			r.m.AccessChanged(res.Entries)
		}
		if d.failed > 0 {
			r.m.AccessPolicyErrors(d.failed)
			r.log.Error("access: the policy failed; previous decisions kept, marked stale", "tenant", tenant, "users", d.failed,
				"cause", d.jobs[0].Cause.Kind, "id", d.jobs[0].Cause.ID, "err", d.err)
		}
		if len(res.Conflicts) == 0 || attempt == 3 {
			return entries, nil
		}
		d, err = r.decide(ctx, tenant, d.jobs, d.of, res.Conflicts, storage.DecisionBatch{Owner: d.b.Owner}, attempt+1)
		if err != nil {
			return entries, err
		}
	}
}

// merge takes the run of 'users' entries at the head of entries, up to
// Batch users in all (at least the first entry), to resolve in one batch:
// the ids (each once) and, by user, the index of the last entry naming it.
func (r *Resolver) merge(entries []storage.OutboxEntry) ([]job, map[string]int, []string) {
	var jobs []job
	of := map[string]int{}
	var ids []string
	for _, e := range entries {
		if e.Kind != storage.OutboxUsers {
			break
		}
		users := e.Users()
		if len(jobs) > 0 && len(of)+len(users) > r.opts.Batch {
			break
		}
		jobs = append(jobs, jobFor(e))
		for _, u := range users {
			if _, ok := of[u]; !ok {
				ids = append(ids, u)
			}
			of[u] = len(jobs) - 1
		}
	}
	return jobs, of, ids
}

func firstErr(ev Evaluation) error {
	for _, d := range ev.Decisions {
		if d.Err != nil {
			return d.Err
		}
	}
	return nil
}

// auditEvent is the cause's one audit event; the storage script adds the
// number of users affected and the first and last feed entry.
func (r *Resolver) auditEvent(j job) []byte {
	return mustJSON(newAuditEvent(j.Cause, r.opts.Clock().UTC().Format(time.RFC3339Nano)))
}

// auditEventJSON is an audit event of a cause; a struct rather than a map
// (one event per cause is encoded, and a map's keys are sorted at every
// encoding), its fields in the order encoding/json sorts a map's keys, so
// that the bytes are those the map gave.
type auditEventJSON struct {
	Action     string         `json:"action"`
	Actor      *string        `json:"actor"`
	Changes    [1]auditChange `json:"changes"`
	IP         *string        `json:"ip"`
	Source     string         `json:"source"`
	TargetID   string         `json:"targetId"`
	TargetType string         `json:"targetType"`
	Time       string         `json:"time"`
}

type auditChange struct {
	Attribute string `json:"attribute"`
	New       Cause  `json:"new"`
}

func newAuditEvent(c Cause, at string) auditEventJSON {
	return auditEventJSON{Action: "access.change", Changes: [1]auditChange{{Attribute: "cause", New: c}}, Source: "resolver",
		TargetID: c.Kind + ":" + c.ID, TargetType: "AccessCause", Time: at}
}
