package provision

import (
	"context"
	"encoding/json"
	"time"
)

// AccessStatus is where the resolver stands on a tenant's stored access
// decisions (issue 12): how far behind the writes they are, and the job
// under way.
type AccessStatus struct {
	// Generation is the tenant's decision generation: one per cause the
	// writes recorded. ResolvedGeneration is that of the last cause
	// resolved; stored decisions lag by the difference.
	Generation         int64 `json:"generation"`
	ResolvedGeneration int64 `json:"resolvedGeneration"`
	// Revision is the policy revision every stored decision was last made
	// at ("" before the first).
	Revision string `json:"revision"`
	// PendingCauses are the causes not yet resolved, the oldest recorded
	// at OldestPending.
	PendingCauses int64      `json:"pendingCauses"`
	OldestPending *time.Time `json:"oldestPendingAt"`
	Job           *AccessJob `json:"job"`
}

// AccessJob is the cause the resolver is working through.
type AccessJob struct {
	Cause   json.RawMessage `json:"cause"` // {kind, id, generation}
	Total   int64           `json:"total"` // users it goes through
	Done    int64           `json:"done"`
	Changed int64           `json:"changed"` // of which access changed
	Started time.Time       `json:"startedAt"`
}

// AccessStatus returns the resolver's progress on the tenant.
// Returns KindNotFound, KindUnavailable.
func (s *Service) AccessStatus(ctx context.Context, tenant string) (AccessStatus, error) {
	if err := s.TenantExists(ctx, tenant); err != nil {
		return AccessStatus{}, err
	}
	st, err := s.store.AccessState(ctx, tenant)
	if err != nil {
		return AccessStatus{}, fromStorage(err, "access state")
	}
	out := AccessStatus{Generation: st.Generation, ResolvedGeneration: st.ResolvedGen, Revision: st.Revision, PendingCauses: st.Pending}
	if !st.Oldest.IsZero() {
		out.OldestPending = &st.Oldest
	}
	if st.Job != "" {
		var job struct {
			Cause json.RawMessage `json:"cause"`
		}
		if err := json.Unmarshal([]byte(st.Job), &job); err != nil || job.Cause == nil {
			job.Cause = json.RawMessage("null")
		}
		out.Job = &AccessJob{Cause: job.Cause, Total: st.JobTotal, Done: min(st.JobDone, st.JobTotal), Changed: st.JobChanged, Started: st.JobStarted}
	}
	return out, nil
}
