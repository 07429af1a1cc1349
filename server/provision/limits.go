package provision

import (
	"fmt"
	"sort"
	"strings"
)

// Size caps. They bound what one tenant can make the shared Redis hold and
// what every later read (a list page, a policy input) carries; each is
// checked before any write, so a refusal writes nothing. README "Limits
// and quotas" lists them.
const (
	// MaxValueBytes caps each string value of a user or group, wherever it
	// is in the document (a 1 MB displayName grew Redis by 2 MB a PATCH).
	MaxValueBytes = 4 << 10
	// MaxRecordBytes caps a user's or group's document as stored (JSON,
	// members excluded: they live in a set of their own).
	MaxRecordBytes = 64 << 10
	// MaxAccountNameBytes caps a sub-account's name.
	MaxAccountNameBytes = 256
	// MaxRolePermissions caps the permissions listed in one custom role.
	MaxRolePermissions = 100
	// MaxGrantsPerGroup caps one group's role grants: sub-accounts times
	// grants is the size of every policy input.
	MaxGrantsPerGroup = 100
)

// checkSize refuses a document with a string value over MaxValueBytes or
// an encoding over MaxRecordBytes, naming the attribute concerned (for the
// whole record, its largest attribute). Returns KindInvalid.
func checkSize(doc map[string]any, raw []byte) error {
	if longestSize(doc) > MaxValueBytes {
		path, n := longestValue(doc)
		return &Error{Kind: KindInvalid, Attribute: path,
			Detail: fmt.Sprintf("%s is %d bytes; a value may be at most %d bytes", path, n, MaxValueBytes)}
	}
	if len(raw) <= MaxRecordBytes {
		return nil
	}
	// The attribute that weighs most is what the client should look at.
	names := make([]string, 0, len(doc))
	for k := range doc {
		names = append(names, k)
	}
	sort.Strings(names)
	largest, size := "", -1
	for _, k := range names {
		if n := encodedSize(doc[k]); n > size {
			largest, size = k, n
		}
	}
	return &Error{Kind: KindInvalid, Attribute: largest,
		Detail: fmt.Sprintf("the resource is %d bytes once stored (%s alone %d); a resource may be at most %d bytes", len(raw), largest, size, MaxRecordBytes)}
}

// longest is the longest string value seen so far and where it is.
type longest struct {
	path string
	size int
}

func (l *longest) consider(path string, n int) {
	if n > l.size || (n == l.size && path < l.path) {
		l.path, l.size = path, n
	}
}

// longestValue returns the longest string in a document and its path,
// named as in SCIM: "name.givenName", "emails.value" (an array adds no
// step), an extension's attributes after its URN and a colon.
func longestValue(doc map[string]any) (string, int) {
	var l longest
	for k, v := range doc {
		if ext, ok := v.(map[string]any); ok && strings.HasPrefix(k, "urn:") {
			for k2, v2 := range ext {
				l.walk(k+":"+k2, v2)
			}
			continue
		}
		l.walk(k, v)
	}
	return l.path, l.size
}

func (l *longest) walk(path string, v any) {
	switch v := v.(type) {
	case string:
		l.consider(path, len(v))
	case []any:
		for _, e := range v {
			l.walk(path, e)
		}
	case map[string]any:
		for k, e := range v {
			l.walk(path+"."+k, e)
		}
	}
}

// longestSize is longestValue's size, without naming every path.
func longestSize(v any) int {
	n := 0
	switch v := v.(type) {
	case string:
		n = len(v)
	case []any:
		for _, e := range v {
			n = max(n, longestSize(e))
		}
	case map[string]any:
		for _, e := range v {
			n = max(n, longestSize(e))
		}
	}
	return n
}

// encodedSize is a close bound on v's share of the JSON document.
func encodedSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v) + 2
	case []any:
		n := 2
		for _, e := range v {
			n += encodedSize(e) + 1
		}
		return n
	case map[string]any:
		n := 2
		for k, e := range v {
			n += len(k) + 4 + encodedSize(e)
		}
		return n
	}
	return 8
}
