package storage

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestParseFeedID(t *testing.T) {
	tests := []struct {
		in   string
		want FeedID
		err  error
	}{
		{"0-0", FeedID{0, 0}, nil},
		{"1700000000000-3", FeedID{1700000000000, 3}, nil},
		{"18446744073709551615-18446744073709551615", FeedID{^uint64(0), ^uint64(0)}, nil},
		{"", FeedID{}, ErrBadCursor},
		{"12", FeedID{}, ErrBadCursor},
		{"12-", FeedID{}, ErrBadCursor},
		{"-1", FeedID{}, ErrBadCursor},
		{"1-+2", FeedID{}, ErrBadCursor},
		{"1-2-3", FeedID{}, ErrBadCursor},
		{"18446744073709551616-0", FeedID{}, ErrBadCursor},
		{"$", FeedID{}, ErrBadCursor},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseFeedID(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("ParseFeedID(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func appendFeed(t *testing.T, e env, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		id, err := e.s.AppendFeedForTest(t.Context(), e.tenant, fmt.Appendf(nil, `{"user":"u%d"}`, i))
		must(t, err)
		ids = append(ids, id)
	}
	return ids
}

func feedIDs(es []FeedEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestFeedRange(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		ctx := t.Context()
		if es, floor, err := e.s.FeedRange(ctx, e.tenant, "", 10); err != nil || len(es) != 0 || floor != "" {
			t.Fatalf("empty feed: %v %q %v", es, floor, err)
		}
		ids := appendFeed(t, e, 5)
		tests := []struct {
			name  string
			after string
			count int
			want  []string
			err   error
		}{
			{"from the oldest", "", 2, ids[:2], nil},
			{"after a cursor", ids[1], 2, ids[2:4], nil},
			{"to the end", ids[3], 10, ids[4:], nil},
			{"after the last", ids[4], 10, []string{}, nil},
			{"before everything", "0-0", 10, ids, nil},
			{"last possible id", "18446744073709551615-18446744073709551615", 10, []string{}, nil},
			{"malformed", "abc", 10, nil, ErrBadCursor},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				es, _, err := e.s.FeedRange(ctx, e.tenant, tt.after, tt.count)
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if err == nil {
					if d := cmp.Diff(tt.want, feedIDs(es)); d != "" {
						t.Errorf("ids (-want +got):\n%s", d)
					}
				}
			})
		}
		es, _, err := e.s.FeedRange(ctx, e.tenant, ids[0], 1)
		must(t, err)
		if string(es[0].Entry) != `{"user":"u1"}` {
			t.Errorf("entry = %s", es[0].Entry)
		}

		must(t, e.s.TrimFeedForTest(ctx, e.tenant, 2))
		for _, tt := range []struct {
			name  string
			after string
			want  []string
			err   error
		}{
			{"below the floor", ids[1], nil, ErrCursorExpired},
			{"zero below the floor", "0-0", nil, ErrCursorExpired},
			{"at the floor", ids[2], ids[3:], nil},
			{"oldest retained", "", ids[3:], nil},
		} {
			t.Run("trimmed "+tt.name, func(t *testing.T) {
				es, floor, err := e.s.FeedRange(ctx, e.tenant, tt.after, 10)
				if !errors.Is(err, tt.err) || floor != ids[2] {
					t.Fatalf("err = %v floor %q, want %v floor %q", err, floor, tt.err, ids[2])
				}
				if err == nil {
					if d := cmp.Diff(tt.want, feedIDs(es)); d != "" {
						t.Errorf("ids (-want +got):\n%s", d)
					}
				}
			})
		}
		st, err := e.s.FeedStats(ctx, e.tenant)
		must(t, err)
		if d := cmp.Diff(FeedStats{Length: 2, First: ids[3], Last: ids[4], Floor: ids[2]}, st); d != "" {
			t.Errorf("stats (-want +got):\n%s", d)
		}
		last, err := e.s.FeedLast(ctx, e.tenant)
		if err != nil || last != ids[4] {
			t.Errorf("FeedLast = %q, %v", last, err)
		}
	})
}

func TestFeedReaderWakes(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		r := e.s.FeedReader(1)
		defer func() { must(t, r.Close()) }()
		last, err := e.s.FeedLast(t.Context(), e.tenant)
		must(t, err)
		got := make(chan []FeedEntry, 1)
		go func() {
			es, err := r.Read(t.Context(), e.tenant, last, 10, time.Minute)
			if err != nil {
				t.Error(err)
			}
			got <- es
		}()
		// The read may start before or after the append: either way it
		// returns the entry after last.
		ids := appendFeed(t, e, 1)
		if d := cmp.Diff(ids, feedIDs(<-got)); d != "" {
			t.Errorf("ids (-want +got):\n%s", d)
		}
	})
}

func TestFeedReaderCloseEndsWait(t *testing.T) {
	run(t, Options{}, 10, func(t *testing.T, e env) {
		r := e.s.FeedReader(1)
		done := make(chan error, 1)
		go func() {
			_, err := r.Read(t.Context(), e.tenant, "$", 10, time.Hour)
			done <- err
		}()
		// Close may come before the read starts: the read then fails at
		// once; after it started, Close must end the wait.
		must(t, r.Close())
		if err := <-done; !errors.Is(err, ErrUnavailable) {
			t.Fatalf("read after close: %v, want ErrUnavailable", err)
		}
	})
}

// TestFeedReaderOwnPushProcessor: the feed reader's client, a copy of the
// store's options, handles push notifications on its own processor; on
// the store's, registering its maintenance handlers failed (a log line at
// every start) and would have sent its connections' notifications to the
// store's client.
func TestFeedReaderOwnPushProcessor(t *testing.T) {
	run(t, Options{}, 1, func(t *testing.T, e env) {
		c, ok := e.rdb.(*redis.Client)
		if !ok {
			t.Skipf("%T: the reader shares the client", e.rdb)
		}
		r := e.s.FeedReader(1)
		defer r.Close()
		mine, theirs := r.rdb.(*redis.Client).Options().PushNotificationProcessor, c.Options().PushNotificationProcessor
		if mine == nil || mine == theirs {
			t.Fatalf("the reader's push processor %p, the store's %p: want one of its own", mine, theirs)
		}
	})
}
