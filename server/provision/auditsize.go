package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/scimd/scimd/server/jsonval"
)

// MaxAuditEventBytes bounds one audit event as stored: a tenant's audit
// stream holds at most --audit-max-len events of at most this size, so
// retention bounds bytes, not only events. Large values are replaced by a
// Truncated marker so that an event never reaches it (see bound).
const MaxAuditEventBytes = 8 << 10

const (
	// auditValueBytes is the largest value (an attribute's old or new
	// value, a list of members added or removed) kept whole, as JSON.
	auditValueBytes = 512
	// auditTightValueBytes is the same when the event is still too large.
	auditTightValueBytes = 64
	// auditPrefixBytes is how much of a truncated value a marker shows.
	auditPrefixBytes = 64
	// auditDroppedNames and auditNameBytes bound droppedAttributes.
	auditDroppedNames = 32
	auditNameBytes    = 128
	// auditTargetBytes bounds targetId (ids are short; this is a backstop).
	auditTargetBytes = 256
)

// Truncated stands in an audit event for a value too large to keep: its
// size, its SHA-256 (of a string's UTF-8 bytes; of anything else's compact
// JSON) to compare with a value one holds, and its first bytes. Values
// are never JSON objects otherwise (changes are flattened to leaves), so
// an object with "truncated": true is always this marker.
type Truncated struct {
	Truncated bool   `json:"truncated"`
	Bytes     int    `json:"bytes"`
	Count     int    `json:"count,omitempty"` // elements, for a list
	SHA256    string `json:"sha256"`
	Prefix    string `json:"prefix"`
}

// truncate returns v unchanged when its JSON is at most limit bytes, else
// its Truncated marker. scratch is a buffer to encode v in, kept between
// calls.
func truncate(v any, limit int, scratch *[]byte) any {
	if v == nil {
		return nil
	}
	raw, err := jsonval.Append((*scratch)[:0], v)
	if err != nil {
		return v
	}
	*scratch = raw
	if len(raw) <= limit {
		return v
	}
	body := raw
	if s, ok := v.(string); ok {
		body = []byte(s)
	}
	sum := sha256.Sum256(body)
	t := Truncated{Truncated: true, Bytes: len(body), SHA256: hex.EncodeToString(sum[:]), Prefix: prefix(string(body), auditPrefixBytes)}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice {
		t.Count = rv.Len()
	}
	return t
}

// list is nil for an empty list, so that it is left out like one.
func list(v any) any {
	if l, ok := v.([]any); ok && len(l) == 0 {
		return nil
	}
	return v
}

// prefix cuts s to at most n bytes at a character boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// bound makes the event fit MaxAuditEventBytes and returns it with its
// JSON: values over auditValueBytes become markers; if it is still too
// large, values over auditTightValueBytes do; if even that is too large
// (thousands of attributes), the whole list of changes becomes one marker.
// The dropped attribute names are capped in number and length, with a
// last entry saying how many more there were.
func (e AuditEvent) bound() (AuditEvent, []byte) {
	e.TargetID = prefix(e.TargetID, auditTargetBytes)
	if len(e.Dropped) > 0 {
		names := make([]string, 0, min(len(e.Dropped), auditDroppedNames+1))
		for i, n := range e.Dropped {
			if i == auditDroppedNames {
				names = append(names, fmt.Sprintf("(%d more)", len(e.Dropped)-i))
				break
			}
			names = append(names, prefix(n, auditNameBytes))
		}
		e.Dropped = names
	}
	all := e.Changes
	var scratch []byte
	for _, limit := range []int{auditValueBytes, auditTightValueBytes} {
		e.Changes = make([]Change, len(all))
		for i, c := range all {
			e.Changes[i] = Change{Attribute: prefix(c.Attribute, auditNameBytes),
				Old: truncate(c.Old, limit, &scratch), New: truncate(c.New, limit, &scratch),
				Added: truncate(list(c.Added), limit, &scratch), Removed: truncate(list(c.Removed), limit, &scratch)}
		}
		if b := e.json(); len(b) <= MaxAuditEventBytes {
			return e, b
		}
	}
	e.Changes = []Change{{Attribute: "*", New: truncate(all, 0, &scratch)}}
	return e, e.json()
}

// json is json.Marshal(e), written without reflection (an event is encoded
// on every write).
func (e AuditEvent) json() []byte {
	b, err := e.appendJSON(make([]byte, 0, 512))
	if err != nil {
		// Every field is plain data decoded from JSON; failing here is a bug.
		panic("provision: audit event does not encode: " + err.Error())
	}
	return b
}

func (e AuditEvent) appendJSON(b []byte) ([]byte, error) {
	if y := e.Time.Year(); y < 0 || y > 9999 {
		return json.Marshal(e) // its error, as encoding/json words it
	}
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","source":`...)
	b = jsonval.AppendString(b, e.Source)
	b = append(b, `,"actor":`...)
	if e.Actor == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"kind":`...)
		b = jsonval.AppendString(b, e.Actor.Kind)
		if e.Actor.Name != "" {
			b = append(b, `,"name":`...)
			b = jsonval.AppendString(b, e.Actor.Name)
		}
		b = append(b, '}')
	}
	b = append(b, `,"ip":`...)
	if e.IP == nil {
		b = append(b, "null"...)
	} else {
		b = jsonval.AppendString(b, *e.IP)
	}
	b = append(b, `,"action":`...)
	b = jsonval.AppendString(b, e.Action)
	b = append(b, `,"targetType":`...)
	b = jsonval.AppendString(b, e.TargetType)
	b = append(b, `,"targetId":`...)
	b = jsonval.AppendString(b, e.TargetID)
	if len(e.Changes) > 0 {
		b = append(b, `,"changes":[`...)
		for i, c := range e.Changes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"attribute":`...)
			b = jsonval.AppendString(b, c.Attribute)
			var err error
			for _, f := range [...]struct {
				name string
				v    any
			}{{`,"old":`, c.Old}, {`,"new":`, c.New}, {`,"added":`, c.Added}, {`,"removed":`, c.Removed}} {
				if f.v == nil {
					continue // omitempty
				}
				b = append(b, f.name...)
				if b, err = jsonval.Append(b, f.v); err != nil {
					return nil, err
				}
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(e.Dropped) > 0 {
		b = append(b, `,"droppedAttributes":`...)
		b, _ = jsonval.Append(b, e.Dropped)
	}
	return append(b, '}'), nil
}
