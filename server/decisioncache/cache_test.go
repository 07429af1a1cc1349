package decisioncache

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// live returns an enabled cache of max bytes whose subscription is confirmed.
func live(max int64) *Cache[string] {
	c := New[string](Options{Bytes: max, Window: time.Hour})
	c.Subscribed()
	return c
}

func put(c *Cache[string], tenant, id, v string) {
	c.Put(c.Ticket(), tenant, id, v, len(v))
}

func TestCache(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(c *Cache[string])
		want map[string]string // tenant/id -> value ("" absent)
	}{
		{"kept", func(c *Cache[string]) { put(c, "a", "u1", "v1") }, map[string]string{"a/u1": "v1", "b/u1": ""}},
		{"changed users dropped", func(c *Cache[string]) {
			put(c, "a", "u1", "v1")
			put(c, "a", "u2", "v2")
			c.Changed("a", []string{"u1"})
		}, map[string]string{"a/u1": "", "a/u2": "v2"}},
		{"changed tenant dropped", func(c *Cache[string]) {
			put(c, "a", "u1", "v1")
			put(c, "b", "u1", "w1")
			c.Changed("a", nil)
		}, map[string]string{"a/u1": "", "b/u1": "w1"}},
		{"read before a change not kept", func(c *Cache[string]) {
			tk := c.Ticket()
			c.Changed("other", []string{"x"}) // any change: the read may predate it
			c.Put(tk, "a", "u1", "old", 3)
		}, map[string]string{"a/u1": ""}},
		{"read before a drop not kept", func(c *Cache[string]) {
			tk := c.Ticket()
			c.Subscribed()
			c.Put(tk, "a", "u1", "old", 3)
		}, map[string]string{"a/u1": ""}},
		{"lost: dropped and bypassed", func(c *Cache[string]) {
			put(c, "a", "u1", "v1")
			c.Lost()
			put(c, "a", "u2", "v2")
		}, map[string]string{"a/u1": "", "a/u2": ""}},
		{"lost then subscribed: used again, empty", func(c *Cache[string]) {
			put(c, "a", "u1", "v1")
			c.Lost()
			c.Heard(time.Now()) // a late answer does not bring it back
			c.Subscribed()
			put(c, "a", "u2", "v2")
		}, map[string]string{"a/u1": "", "a/u2": "v2"}},
		{"replaced", func(c *Cache[string]) {
			put(c, "a", "u1", "v1")
			put(c, "a", "u1", "v2")
		}, map[string]string{"a/u1": "v2"}},
		{"too big for the cache", func(c *Cache[string]) {
			put(c, "a", "u1", string(make([]byte, 1<<20/16)))
		}, map[string]string{"a/u1": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := live(1 << 20)
			tc.do(c)
			for key, want := range tc.want {
				tenant, id, _ := strings.Cut(key, "/")
				got, ok := c.Get(tenant, id)
				if ok != (want != "") || got != want {
					t.Errorf("Get(%s) = %q, %v; want %q", key, got, ok, want)
				}
			}
			if s := c.Stats(); s.Entries != countOf(tc.want) {
				t.Errorf("%d entries held, want %d", s.Entries, countOf(tc.want))
			}
		})
	}
}

func countOf(want map[string]string) int {
	n := 0
	for _, v := range want {
		if v != "" {
			n++
		}
	}
	return n
}

// TestCacheUnheard: without a subscription, or with none heard for the
// window, nothing is served or kept; nor is an entry past its max age.
func TestCacheUnheard(t *testing.T) {
	c := New[string](Options{Bytes: 1 << 20, Window: time.Hour})
	put(c, "a", "u1", "v1")
	if _, ok := c.Get("a", "u1"); ok {
		t.Error("served before any subscription")
	}
	c = New[string](Options{Bytes: 1 << 20, Window: time.Nanosecond})
	c.Subscribed()
	put(c, "a", "u1", "v1")
	if _, ok := c.Get("a", "u1"); ok {
		t.Error("served after the window")
	}
	if s := c.Stats(); s.Bypassed == 0 {
		t.Errorf("stats %+v: no bypass counted", s)
	}
	c = New[string](Options{Bytes: 1 << 20, Window: time.Hour, MaxAge: time.Nanosecond})
	c.Subscribed()
	put(c, "a", "u1", "v1")
	if _, ok := c.Get("a", "u1"); ok {
		t.Error("served past its max age")
	}
	if s := c.Stats(); s.Entries != 0 {
		t.Errorf("stats %+v: the expired entry is still held", s)
	}
	if off := New[string](Options{}); off.Enabled() {
		t.Error("a cache of 0 bytes is enabled")
	}
}

// TestCacheBound: the byte cap holds, and a tenant reading many users
// evicts its own entries, not a small tenant's.
func TestCacheBound(t *testing.T) {
	const max = 64 << 10
	c := live(max)
	value := string(make([]byte, 500))
	for i := 0; i < 10; i++ {
		put(c, "small", fmt.Sprintf("s%d", i), value)
	}
	small := c.TenantBytes("small")
	for i := 0; i < 10000; i++ {
		put(c, "big", fmt.Sprintf("b%d", i), value)
		if s := c.Stats(); s.Bytes > max {
			t.Fatalf("after %d puts %d bytes held, over the cap %d", i, s.Bytes, max)
		}
	}
	if got := c.TenantBytes("small"); got != small {
		t.Errorf("the small tenant holds %d bytes after the big one's reads, want %d", got, small)
	}
	for i := 0; i < 10; i++ {
		if _, ok := c.Get("small", fmt.Sprintf("s%d", i)); !ok {
			t.Errorf("small tenant's s%d evicted", i)
		}
	}
	if _, ok := c.Get("big", "b9999"); !ok {
		t.Error("the latest entry is not held")
	}
	if s := c.Stats(); s.Evictions == 0 {
		t.Errorf("stats %+v: no evictions", s)
	}

	// A tenant arriving in a cache another filled gets its entries in.
	for i := 0; i < 10; i++ {
		put(c, "late", fmt.Sprintf("l%d", i), value)
	}
	for i := 0; i < 10; i++ {
		if _, ok := c.Get("late", fmt.Sprintf("l%d", i)); !ok {
			t.Errorf("late tenant's l%d not held", i)
		}
	}

	// Many tenants each reading as much: none is left with more than its
	// share, plus an entry.
	c = live(max)
	for i := 0; i < 20000; i++ {
		put(c, fmt.Sprintf("t%d", i%8), fmt.Sprintf("u%d", i), value)
	}
	for i := 0; i < 8; i++ {
		if b := c.TenantBytes(fmt.Sprintf("t%d", i)); b > max/8+int64(len(value))+entryOverhead+tenantOverhead+16 {
			t.Errorf("tenant t%d holds %d bytes, over its share %d", i, b, max/8)
		}
	}

	// Many tenants of one small entry each: their own structures count
	// too, and all is given back when they leave.
	c = live(max)
	for i := 0; i < 5000; i++ {
		put(c, fmt.Sprintf("tenant-%d", i), "u", "v")
		if s := c.Stats(); s.Bytes > max {
			t.Fatalf("after %d tenants %d bytes held, over the cap %d", i, s.Bytes, max)
		}
	}
	if s := c.Stats(); s.Entries > int(max/(entryOverhead+tenantOverhead)) {
		t.Errorf("%d one-entry tenants held in %d bytes: their structures are not counted", s.Entries, max)
	}
	for i := 0; i < 5000; i++ {
		c.Changed(fmt.Sprintf("tenant-%d", i), nil)
	}
	if s := c.Stats(); s.Bytes != 0 || s.Entries != 0 {
		t.Errorf("every tenant gone, stats %+v: want 0 bytes", s)
	}
}
