// Package rollout tells the replicas which policy revision is active (issue
// 12). Every replica beats, every few seconds, the revision its policies
// run (policies.Engine.Revision, a digest of the files) into Redis; the
// revision every live replica runs is the active one. During a rolling
// deploy the replicas run two revisions, and the active one stays the old
// one until the last replica runs the new one: only replicas running the
// active revision re-decide stored access, so two revisions never undo each
// other's decisions, and the others serve the stored decisions and say so
// (State.Detail for readiness, a metric, a log line).
package rollout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/scimd/scimd/storage"
)

// Defaults of Options.
const (
	DefaultInterval = 5 * time.Second
	// A replica is live for three intervals after its last beat: one late
	// beat (a slow Redis, a pause) does not drop it.
	liveIntervals = 3
)

// Store is what the heartbeat asks of storage.
type Store interface {
	PolicyHeartbeat(ctx context.Context, replica, revision string, now time.Time, live time.Duration, leave bool) (storage.Rollout, error)
	ActivePolicyRevision(ctx context.Context) (string, error)
}

// Metrics is told where the rollout stands after each beat.
type Metrics interface {
	PolicyRollout(running string, r storage.Rollout)
}

// Options configure a Heartbeat.
type Options struct {
	// Revision is the policy revision this replica runs.
	Revision string
	// Replica identifies this process; empty makes one of the host name
	// and random bytes (a restarted process is another replica).
	Replica string
	// Interval between beats; 0 means DefaultInterval. A replica counts as
	// live for three intervals after its last beat, so a crashed one holds
	// a rollout back that long at most.
	Interval time.Duration
	// Clock returns the time; nil means time.Now. Replicas' clocks should
	// agree to well within an interval.
	Clock   func() time.Time
	Log     *slog.Logger // nil: slog.Default()
	Metrics Metrics      // nil: none
}

// State is where the rollout stands, as this replica's last beat saw it.
type State struct {
	// Running is this replica's revision.
	Running string
	// Known: a beat answered (before that, nothing is known).
	Known bool
	storage.Rollout
}

// Serving reports whether this replica runs the active revision, and so
// may re-decide stored access.
func (s State) Serving() bool { return s.Known && s.Running == s.Active }

// Detail says, for readiness, why this replica does not re-decide stored
// access; empty when it runs the active revision.
func (s State) Detail() string {
	switch {
	case !s.Known:
		return fmt.Sprintf("policy revision %s: not yet recorded in Redis; serving the stored access decisions", s.Running)
	case s.Serving():
		return ""
	}
	active := s.Active
	if active == "" {
		active = "none yet"
	}
	parts := make([]string, 0, len(s.Revisions))
	for _, rev := range s.SortedRevisions() {
		parts = append(parts, fmt.Sprintf("%s on %d", rev, s.Revisions[rev]))
	}
	return fmt.Sprintf("policy revision %s is not active (active: %s; live replicas: %s): serving the stored access decisions until every replica runs one revision",
		s.Running, active, strings.Join(parts, ", "))
}

// Heartbeat records this replica's policy revision and follows the active
// one. It is safe for concurrent use.
type Heartbeat struct {
	st      Store
	opts    Options
	live    time.Duration
	mu      sync.Mutex
	state   State
	failing bool // the last beat failed (logged once per streak)
}

// New returns a heartbeat for the replica; call Run (or Beat) to record it.
func New(st Store, opts Options) *Heartbeat {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Replica == "" {
		opts.Replica = replicaID()
	}
	return &Heartbeat{st: st, opts: opts, live: liveIntervals * opts.Interval, state: State{Running: opts.Revision}}
}

func replicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "scimd"
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("rollout: no randomness: " + err.Error())
	}
	return host + "-" + hex.EncodeToString(b[:])
}

// Replica is this replica's id.
func (h *Heartbeat) Replica() string { return h.opts.Replica }

// Beat records this replica's revision once and returns where the rollout
// stands. Returns storage.ErrUnavailable (the last state is kept).
func (h *Heartbeat) Beat(ctx context.Context) (State, error) {
	r, err := h.st.PolicyHeartbeat(ctx, h.opts.Replica, h.opts.Revision, h.opts.Clock(), h.live, false)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if !h.failing {
			h.opts.Log.Warn("policy rollout: heartbeat failed; the active revision is not followed until Redis answers", "replica", h.opts.Replica, "err", err)
		}
		h.failing = true
		return h.state, err
	}
	if h.failing {
		h.opts.Log.Info("policy rollout: heartbeat answers again", "replica", h.opts.Replica)
	}
	h.failing = false
	prev := h.state
	h.state = State{Running: h.opts.Revision, Known: true, Rollout: r}
	if !prev.Known || prev.Active != r.Active || prev.Serving() != h.state.Serving() {
		h.logChange()
	}
	if h.opts.Metrics != nil {
		h.opts.Metrics.PolicyRollout(h.opts.Revision, r)
	}
	return h.state, nil
}

func (h *Heartbeat) logChange() {
	s := h.state
	if s.Serving() {
		h.opts.Log.Info("policy rollout: this replica runs the active policy revision and re-decides stored access", "revision", s.Running, "replicas", s.Live)
		return
	}
	h.opts.Log.Warn("policy rollout: "+s.Detail(), "revision", s.Running, "active", s.Active, "replicas", s.Live)
}

// State returns where the rollout stood at the last beat that answered.
func (h *Heartbeat) State() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// ActiveRevision reads the active revision from Redis ("" while none was
// ever decided), for the resolver to check before it re-decides: it
// re-decides only when its engine runs that revision. Returns
// storage.ErrUnavailable.
func (h *Heartbeat) ActiveRevision(ctx context.Context) (string, error) {
	return h.st.ActivePolicyRevision(ctx)
}

// Leave drops this replica from the heartbeats (a clean shutdown), so that a
// rollout need not wait for its entry to expire. Returns
// storage.ErrUnavailable.
func (h *Heartbeat) Leave(ctx context.Context) error {
	_, err := h.st.PolicyHeartbeat(ctx, h.opts.Replica, h.opts.Revision, h.opts.Clock(), h.live, true)
	return err
}

// Run beats every interval until ctx ends, then leaves (within a second).
func (h *Heartbeat) Run(ctx context.Context) {
	tick := time.NewTicker(h.opts.Interval)
	defer tick.Stop()
	for {
		bctx, cancel := context.WithTimeout(ctx, h.opts.Interval)
		h.Beat(bctx) // a failure is logged by Beat and leaves the state as it was
		cancel()
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := h.Leave(lctx); err != nil {
				h.opts.Log.Warn("policy rollout: could not leave; this replica's entry expires by itself", "replica", h.opts.Replica, "err", err)
			}
			return
		case <-tick.C:
		}
	}
}
