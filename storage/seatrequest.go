package storage

import (
	"context"
	_ "embed"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxSeatRequests is how many seat requests a tenant keeps: the newest.
const MaxSeatRequests = 100

// SeatRequest is a tenant admin's request for more license seats, with the
// license as it stood when it was made.
type SeatRequest struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Seats     int64     `json:"seats"`
	Note      string    `json:"note,omitempty"`
	By        string    `json:"by,omitempty"` // the admin token's name; empty for the operator
	Limit     int64     `json:"limit"`
	SeatsUsed int64     `json:"seatsUsed"`
}

var (
	//go:embed lua/add_seat_request.lua
	addSeatRequestLua    string
	addSeatRequestScript = redis.NewScript(auditLua + addSeatRequestLua)
)

// AddSeatRequest records r for the tenant with its audit event, keeping the
// newest MaxSeatRequests. Returns ErrNotFound (tenant), *AuditFullError,
// ErrUnavailable.
func (s *Store) AddSeatRequest(ctx context.Context, tenant string, r SeatRequest, audit []byte) error {
	if !validTenantID(tenant) {
		return notFound("tenant")
	}
	rec, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.runCounting(ctx, "add seat request", addSeatRequestScript,
		[]string{tenantKey(tenant), seatRequestsKey(tenant), auditKey(tenant)},
		[]any{rec, s.auditRetention(), MaxSeatRequests, audit})
	return err
}

// SeatRequests returns each tenant's seat requests, newest first, in one
// pipelined round trip: the operator's list over every tenant, or one
// tenant's. A tenant without any has none in the map. Returns ErrUnavailable.
func (s *Store) SeatRequests(ctx context.Context, tenants []string) (map[string][]SeatRequest, error) {
	out := map[string][]SeatRequest{}
	if len(tenants) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(tenants))
	for i, t := range tenants {
		cmds[i] = pipe.LRange(ctx, seatRequestsKey(t), 0, MaxSeatRequests-1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
		return nil, unavailable("seat requests", err)
	}
	for i, t := range tenants {
		raws, err := cmds[i].Result()
		if err != nil && !isNil(err) {
			return nil, unavailable("seat requests", err)
		}
		for _, raw := range raws {
			var r SeatRequest
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				return nil, unavailable("seat requests", badReply("seat request record: %v", err))
			}
			out[t] = append(out[t], r)
		}
	}
	return out, nil
}
