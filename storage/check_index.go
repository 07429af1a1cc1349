package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// How Check judges the indexes: every entry must name a record holding its
// value (else it is stale), and every record's value must have an entry
// (else it is missing).

// indexKind is how an index is stored.
type indexKind int

const (
	hashIndex indexKind = iota // one hash value -> id (unique)
	setIndex                   // one set of ids per value
	lexIndex                   // one sorted set of value NUL id
)

// index describes one index for checkIndex.
type index struct {
	name     string // the index, for details
	attr     string // the attribute, for details
	kind     indexKind
	rs       *recordSet
	val      int  // slot of facts.values
	seen     int  // slot of facts.seen
	optional bool // an empty value is not indexed
	key      func(value string) string
	values   []string // set indexes: the values whose keys SCAN found
	// legacy marks the hash an earlier release kept in place of a set
	// index: its entries are judged (and a stale one removed), a record
	// it holds counts as indexed, and it is not asked about the others.
	legacy bool
	// alt, when not -1, is the slot of the value an earlier release
	// indexed the record under, which the entry may still hold until
	// migrated (the user's lower-cased userName, before UserNameKey).
	alt int
}

func (c *checker) checkIndexes(ctx context.Context) error {
	t := c.t
	one := func(k string) func(string) string { return func(string) string { return k } }
	for _, ix := range []*index{
		{"userName", "userName", hashIndex, c.users, valUserName, valUserName, false, one(userNameIndexKey(t)), nil, false, valUserNameLower},
		{"externalId (before migration)", "externalId", hashIndex, c.users, valUserExternalID, valUserExternalID, true,
			one(legacyUserExternalIDIndexKey(t)), nil, true, -1},
		{"externalId", "externalId", setIndex, c.users, valUserExternalID, valUserExternalID, true,
			func(v string) string { return userExternalIDIndexKey(t, v) }, c.userExtSets, false, -1},
		{"work email", "work email", setIndex, c.users, valWorkEmail, valWorkEmail, true,
			func(v string) string { return userEmailIndexKey(t, v) }, c.emailSets, false, -1},
		{"employeeNumber", "employeeNumber", setIndex, c.users, valEmployeeNumber, valEmployeeNumber, true,
			func(v string) string { return userEmployeeNumberIndexKey(t, v) }, c.employeeSets, false, -1},
		{"userName prefix", "userName", lexIndex, c.users, valUserNameLower, seenUserNameLex, false, one(userNameLexKey(t)), nil, false, -1},
		{"displayName", "displayName", hashIndex, c.groups, valDisplayName, valDisplayName, false, one(groupDisplayNameIndexKey(t)), nil, false, -1},
		{"group externalId", "externalId", setIndex, c.groups, valGroupExternalID, valGroupExternalID, true,
			func(v string) string { return groupExternalIDIndexKey(t, v) }, c.extSets, false, -1},
	} {
		if err := c.checkIndex(ctx, ix); err != nil {
			return err
		}
	}
	return nil
}

// checkIndex reads every entry of ix and reports those that are stale, then
// goes over the records for values no entry held.
func (c *checker) checkIndex(ctx context.Context, ix *index) error {
	var err error
	switch ix.kind {
	case hashIndex:
		key := ix.key("")
		err = c.scanPairs(ctx, func(cursor uint64) *redis.ScanCmd {
			return c.s.rdb.HScan(ctx, key, cursor, "", int64(c.s.opts.ScanBatch))
		}, func(value, id string) { c.judge(ix, key, value, id, value, "hdel") })
	case lexIndex:
		key := ix.key("")
		err = c.scanPairs(ctx, func(cursor uint64) *redis.ScanCmd {
			return c.s.rdb.ZScan(ctx, key, cursor, "", int64(c.s.opts.ScanBatch))
		}, func(member, _ string) {
			// As lexID reads it; a member without a NUL names no id.
			value, id := "", ""
			if i := strings.LastIndexByte(member, 0); i >= 0 {
				value, id = member[:i], member[i+1:]
			}
			c.judge(ix, key, member, id, value, "zrem")
		})
	case setIndex:
		keys := make([]string, len(ix.values))
		for i, v := range ix.values {
			keys[i] = ix.key(v)
		}
		err = c.sscanSets(ctx, keys, func(i int, ids []string) error {
			for _, id := range ids {
				c.judge(ix, keys[i], id, id, ix.values[i], "srem")
			}
			return nil
		})
	}
	if err != nil || ix.legacy {
		return err
	}
	return c.checkIndexMissing(ctx, ix)
}

// judge marks the record an index entry (value -> id, stored as entry in
// key) speaks for, or reports the entry stale; op is how to remove it.
func (c *checker) judge(ix *index, key, entry, id, value, op string) {
	c.rep.IndexEntries++
	rec := ix.rs.facts[id]
	if rec.malformed() {
		return
	}
	held := rec.exists() && (rec.values[ix.val] == value || ix.alt >= 0 && rec.values[ix.alt] == value)
	if held && (value != "" || !ix.optional) {
		rec.seen[ix.seen] = true
		return
	}
	f := c.finding(FindingIndexStale, key, entry, ix.rs, id)
	if rec.exists() {
		f.Detail = fmt.Sprintf("%s index entry %q names %s %s, whose %s is %q",
			ix.name, value, ix.rs.noun, id, ix.attr, rec.values[ix.val])
	} else {
		f.Detail = fmt.Sprintf("%s index entry %q names %s %q, which has no record", ix.name, value, ix.rs.noun, id)
	}
	hashValue := ""
	if op == "hdel" {
		hashValue = id
	}
	c.add(f, c.fixEntry(ix.rs, id, op, key, entry, hashValue))
}

// checkIndexMissing reports the records whose value no entry of ix held.
// For a unique (hash) index it asks who holds the value instead: another
// record with the same value is a conflict; a stale entry (reported and
// removed first) is not.
func (c *checker) checkIndexMissing(ctx context.Context, ix *index) error {
	missing := func(id, key, entry, op, hashValue string) {
		rec := ix.rs.facts[id]
		f := c.finding(FindingIndexMissing, key, entry, ix.rs, id)
		f.Detail = fmt.Sprintf("%s %s's %s %q is not in the %s index", ix.rs.noun, id, ix.attr, rec.values[ix.val], ix.name)
		c.add(f, c.fixEntry(ix.rs, id, op, key, entry, hashValue))
	}
	var unheld []string
	for _, id := range ix.rs.ids {
		rec := ix.rs.facts[id]
		v := rec.values[ix.val]
		if !rec.exists() || rec.seen[ix.seen] || (ix.optional && v == "") {
			continue
		}
		switch ix.kind {
		case setIndex:
			missing(id, ix.key(v), id, "sadd", "")
		case lexIndex:
			m := lexMember(v, id)
			missing(id, ix.key(v), m, "zadd", "")
		case hashIndex:
			unheld = append(unheld, id)
		}
	}
	key := ix.key("")
	for batch := range slices.Chunk(unheld, c.s.opts.ScanBatch) {
		cmds := make([]*redis.StringCmd, len(batch))
		// A field nobody holds answers redis.Nil, which Pipelined reports as
		// the batch's error if it comes first: each command's error is
		// looked at below too.
		if _, err := c.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range batch {
				cmds[i] = p.HGet(ctx, key, ix.rs.facts[id].values[ix.val])
			}
			return nil
		}); err != nil && !isNil(err) {
			return err
		}
		for i, id := range batch {
			v := ix.rs.facts[id].values[ix.val]
			holder, err := cmds[i].Result()
			if err != nil && !isNil(err) {
				return err
			}
			if holder == id {
				continue // written since the scan
			}
			if h := ix.rs.facts[holder]; holder != "" && (h.malformed() || (h.exists() && h.values[ix.val] == v)) {
				why := "which has the same " + ix.attr + ": resolve the duplicate by hand"
				if h.malformed() {
					why = "whose record is malformed"
				}
				f := c.finding(FindingIndexConflict, key, v, ix.rs, id)
				f.Detail = fmt.Sprintf("%s %s's %s %q is indexed to %s %s, %s", ix.rs.noun, id, ix.attr, v, ix.rs.noun, holder, why)
				c.add(f, nil)
				continue
			}
			missing(id, key, v, "hset", id)
		}
	}
	return nil
}
