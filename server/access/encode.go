package access

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/scimd/scimd/policies"
)

// encoder writes the records and feed entries of one batch. A grant change
// on a big group gives thousands of users a few distinct decisions, so the
// JSON of each decision (new, and old as read) is made once per batch and
// spliced into each user's record and entry; the bytes are those
// encoding/json writes for Record and FeedEntry (encode_test.go checks it).
// It cut the resolver's CPU by about half (BENCHMARKS.md).
type encoder struct {
	rev      string
	revision []byte // JSON string
	at       []byte // JSON time
	news     map[string]*encodedAccess
	olds     map[string]*oldAccess
	causes   map[Cause][]byte
}

// encodedAccess is a decision as records and entries write it.
type encodedAccess struct {
	json []byte // {"active":...,"enterprise":...,"accounts":{...}}
	etag []byte // JSON string
}

// oldAccess is the decision part of a stored record, decoded.
type oldAccess struct {
	access policies.Access
	json   []byte // as the feed entry's "old" writes it
	same   []byte // with accounts never null, for comparing
}

func newEncoder(revision string, at time.Time) *encoder {
	return &encoder{rev: revision, revision: mustJSON(revision), at: mustJSON(at.UTC()), news: map[string]*encodedAccess{},
		olds: map[string]*oldAccess{}, causes: map[Cause][]byte{}}
}

// decision returns the encoded decision a, made from the input with this
// hash (equal hashes, equal decisions: one Engine runs one revision).
func (e *encoder) decision(hash string, a policies.Access) *encodedAccess {
	if d, ok := e.news[hash]; ok {
		return d
	}
	if a.Accounts == nil {
		a.Accounts = map[string]*policies.EffectiveRole{}
	}
	d := &encodedAccess{json: mustJSON(a), etag: mustJSON(etag(a, e.rev))}
	e.news[hash] = d
	return d
}

// old returns the decision of a stored record, or false for a record
// that does not read as one this package writes (then parseRecord decides).
// A record's decision part is found in place: Record's fields are written
// in order, and `,"revision":"` cannot occur inside a JSON string (a quote
// there is escaped), so its first occurrence ends the part.
func (e *encoder) old(raw []byte) (*oldAccess, bool) {
	const head = `{"user":"`
	if !bytes.HasPrefix(raw, []byte(head)) {
		return nil, false
	}
	i := len(head)
	for ; i < len(raw) && raw[i] != '"'; i++ {
		if raw[i] == '\\' {
			i++
		}
	}
	if !bytes.HasPrefix(raw[min(i+1, len(raw)):], []byte(`,"active":`)) {
		return nil, false
	}
	start := i + 2
	n := bytes.Index(raw[start:], []byte(`,"revision":"`))
	if n < 0 {
		return nil, false
	}
	part := raw[start : start+n]
	if o, ok := e.olds[string(part)]; ok {
		return o, true
	}
	var a policies.Access
	if err := json.Unmarshal(append(append([]byte{'{'}, part...), '}'), &a); err != nil {
		return nil, false
	}
	o := newOldAccess(a)
	e.olds[string(part)] = o
	return o, true
}

func newOldAccess(a policies.Access) *oldAccess {
	o := &oldAccess{access: a, json: mustJSON(a)}
	if a.Accounts == nil {
		a.Accounts = map[string]*policies.EffectiveRole{}
	}
	o.same = mustJSON(a)
	return o
}

// record is the JSON of newRecord(uid, access, hash, revision, gen, at),
// d being the encoded access.
func (e *encoder) record(uid string, d *encodedAccess, hash string, gen int64) []byte {
	b := make([]byte, 0, len(d.json)+len(uid)+len(hash)+len(e.revision)+len(d.etag)+len(e.at)+100)
	b = append(b, `{"user":`...)
	b = appendString(b, uid)
	b = append(b, ',')
	b = append(b, d.json[1:len(d.json)-1]...)
	b = append(b, `,"revision":`...)
	b = append(b, e.revision...)
	b = append(b, `,"generation":`...)
	b = strconv.AppendInt(b, gen, 10)
	b = append(b, `,"input_hash":`...)
	b = appendString(b, hash)
	b = append(b, `,"etag":`...)
	b = append(b, d.etag...)
	b = append(b, `,"decided_at":`...)
	b = append(b, e.at...)
	return append(b, `,"stale":false}`...)
}

// entry is the JSON of a FeedEntry with these old and new decisions (nil:
// JSON null).
func (e *encoder) entry(user, userName, externalID string, old, new []byte, cause Cause) []byte {
	c, ok := e.causes[cause]
	if !ok {
		c = mustJSON(cause)
		e.causes[cause] = c
	}
	b := make([]byte, 0, len(old)+len(new)+len(user)+len(userName)+len(externalID)+len(c)+len(e.revision)+len(e.at)+100)
	b = append(b, `{"user":`...)
	b = appendString(b, user)
	b = append(b, `,"userName":`...)
	b = appendString(b, userName)
	b = append(b, `,"externalId":`...)
	b = appendString(b, externalID)
	b = append(b, `,"old":`...)
	b = appendRaw(b, old)
	b = append(b, `,"new":`...)
	b = appendRaw(b, new)
	b = append(b, `,"cause":`...)
	b = append(b, c...)
	b = append(b, `,"revision":`...)
	b = append(b, e.revision...)
	b = append(b, `,"generation":`...)
	b = strconv.AppendInt(b, cause.Generation, 10)
	b = append(b, `,"at":`...)
	b = append(b, e.at...)
	return append(b, '}')
}

func appendRaw(b, raw []byte) []byte {
	if raw == nil {
		return append(b, "null"...)
	}
	return append(b, raw...)
}

// appendString appends s as encoding/json writes it: plain printable ASCII
// as is, anything else through encoding/json (which escapes HTML
// characters, control characters and invalid UTF-8).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return append(b, mustJSON(s)...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
