package storage

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

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
	for i := 0; i < len(userName); i++ {
		if userName[i] >= utf8.RuneSelf {
			return foldUserName(userName)
		}
	}
	// ASCII, as nearly every userName is: it has no format characters,
	// NFKC leaves it as it is and full case folding is lower-casing, so
	// the key is that, trimmed; without the transformers' allocations.
	return strings.TrimFunc(strings.ToLower(userName), unicode.IsSpace)
}

// foldUserName is UserNameKey for any userName.
func foldUserName(userName string) string {
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

// healUserName drops the userName index entries for userName (its key and
// its legacy key) that name the holder err reports, when that holder no
// longer has the userName: a replica of the release before UserNameKey
// removes only lower(userName) when it deletes or renames a user, so during
// a rolling restart it can leave a new replica's key behind, which would
// otherwise refuse that userName for good. It reports whether it dropped
// any, for the caller to write again; anything else (no such error, a live
// holder, the entry changing meanwhile, Redis failing) leaves err standing.
func (s *Store) healUserName(ctx context.Context, tenant, userName string, err error) bool {
	var ue *UniquenessError
	if !errors.As(err, &ue) || ue.Attribute != "userName" || !validRecordID(ue.HolderID) {
		return false
	}
	holder := ue.HolderID
	idx, rec := userNameIndexKey(tenant), userKey(tenant, holder)
	healed := false
	werr := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		held, err := tx.HGet(ctx, rec, fUserName).Result()
		live := err == nil
		if err != nil && !isNil(err) {
			return err
		}
		var stale []string
		for _, f := range []string{UserNameKey(userName), legacyUserNameKey(userName)} {
			if live && (UserNameKey(held) == f || legacyUserNameKey(held) == f) {
				continue // the holder has it
			}
			if v, err := tx.HGet(ctx, idx, f).Result(); err == nil && v == holder {
				stale = append(stale, f)
			} else if err != nil && !isNil(err) {
				return err
			}
		}
		if len(stale) == 0 {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HDel(ctx, idx, stale...)
			return nil
		})
		healed = err == nil
		return err
	}, idx, rec)
	return werr == nil && healed
}
