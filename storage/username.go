package storage

import (
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// UserNameKey is the form of a userName that uniqueness compares: format
// characters (zero-width space and joiners, BOM, bidi marks) removed, NFKC
// (fullwidth and other compatibility forms become their plain letters),
// spaces trimmed at both ends, and full case folding, normalised again. Two
// userNames a person cannot tell apart get the same key. Only the index
// uses it: the record keeps the userName as sent.
func UserNameKey(userName string) string {
	s := strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, userName)
	s = norm.NFKC.String(s)
	// A Caser holds state: one per call, never shared between goroutines.
	s = norm.NFKC.String(cases.Fold().String(s))
	return strings.TrimFunc(s, unicode.IsSpace)
}

// legacyUserNameKey is the userName index key of releases before
// UserNameKey: the userName lower-cased. Until the migration step
// "user-username-keys" has re-keyed every user, a userName whose legacy key
// differs is looked up and checked under both.
func legacyUserNameKey(userName string) string { return strings.ToLower(userName) }
