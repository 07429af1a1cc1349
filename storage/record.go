package storage

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record hashes store times as Unix nanoseconds in decimal, so a time comes
// back equal (time.Time.Equal) to the one stored, to the nanosecond, in UTC.
// The zero time is stored as "" and comes back as the zero time. Lua never
// does arithmetic on them: a float64 could not hold them exactly.

func encodeTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func decodeTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, n).UTC(), nil
}

func encodeBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// lexMember is a user's entry in the userName lexicographic index: the NUL
// keeps "ab" before "abc" and separates the id, which holds no NUL.
func lexMember(lowerUserName, id string) string { return lowerUserName + "\x00" + id }

// lexID extracts the user id from a lexMember.
func lexID(member string) string { return member[strings.LastIndexByte(member, 0)+1:] }

// Field names of the tenant hash.
const (
	fName           = "name"
	fLicenseLimit   = "licenseLimit"
	fMode           = "mode"
	fCreated        = "created"
	fSCIMTokenHash  = "scimTokenHash"
	fAdminTokenHash = "adminTokenHash"
	fAdminName      = "adminName"
	fMatchBy        = "matchBy"
	fUnmatchedUsers = "unmatchedUsers"
	fRefusals       = "licenseRefusals"
	fLastRefusal    = "lastLicenseRefusal"
	// Quota overrides; absent or "" means the operator's default.
	fMaxUsers   = "maxUsers"
	fMaxGroups  = "maxGroups"
	fMaxMembers = "maxMembers"
)

// Field names of the user and group hashes.
const (
	fDoc            = "doc"
	fVersion        = "v"
	fModified       = "modified"
	fManagedBy      = "managedBy"
	fActive         = "active"
	fUserName       = "userName"
	fExternalID     = "externalId"
	fWorkEmail      = "workEmail"
	fEmployeeNumber = "employeeNumber"
	fDisplayName    = "displayName"
)

// tenantSettings are the fields UpdateTenant overwrites.
func tenantSettings(t Tenant) []any {
	return []any{
		fName, t.Name,
		fLicenseLimit, strconv.FormatInt(t.LicenseLimit, 10),
		fMode, t.Mode,
		fSCIMTokenHash, t.SCIMTokenHash,
		fAdminTokenHash, t.AdminTokenHash,
		fAdminName, t.AdminName,
		fMatchBy, encodeMatchBy(t.MatchBy),
		fUnmatchedUsers, t.UnmatchedUsers,
		fMaxUsers, encodeQuota(t.Quotas.Users),
		fMaxGroups, encodeQuota(t.Quotas.Groups),
		fMaxMembers, encodeQuota(t.Quotas.Members),
	}
}

// noMatchBy stores an empty MatchBy (link on nothing), which differs from
// an unset one (the default order) and so cannot be the empty string.
const noMatchBy = "-"

func encodeMatchBy(m []string) string {
	if m != nil && len(m) == 0 {
		return noMatchBy
	}
	return strings.Join(m, ",")
}

func decodeMatchBy(v string) []string {
	switch v {
	case "":
		return nil
	case noMatchBy:
		return []string{}
	}
	return strings.Split(v, ",")
}

func tenantFields(t Tenant) []any {
	return append(tenantSettings(t), fCreated, encodeTime(t.Created))
}

func parseTenant(id string, h map[string]string) (Tenant, error) {
	t := Tenant{
		ID:             id,
		Name:           h[fName],
		Mode:           h[fMode],
		SCIMTokenHash:  h[fSCIMTokenHash],
		AdminTokenHash: h[fAdminTokenHash],
		AdminName:      h[fAdminName],
		UnmatchedUsers: h[fUnmatchedUsers],
	}
	t.MatchBy = decodeMatchBy(h[fMatchBy])
	var err error
	if r := h[fRefusals]; r != "" {
		if t.LicenseRefusals, err = strconv.ParseInt(r, 10, 64); err != nil {
			return Tenant{}, fmt.Errorf("tenant %s: %s: %w", id, fRefusals, err)
		}
	}
	if t.LastLicenseRefusal, err = decodeTime(h[fLastRefusal]); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %s: %w", id, fLastRefusal, err)
	}
	if t.Quotas.Users, err = decodeQuota(id, fMaxUsers, h[fMaxUsers]); err != nil {
		return Tenant{}, err
	}
	if t.Quotas.Groups, err = decodeQuota(id, fMaxGroups, h[fMaxGroups]); err != nil {
		return Tenant{}, err
	}
	if t.Quotas.Members, err = decodeQuota(id, fMaxMembers, h[fMaxMembers]); err != nil {
		return Tenant{}, err
	}
	if t.LicenseLimit, err = strconv.ParseInt(h[fLicenseLimit], 10, 64); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %s: %w", id, fLicenseLimit, err)
	}
	if t.Created, err = decodeTime(h[fCreated]); err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %s: %w", id, fCreated, err)
	}
	return t, nil
}

// userFields adds a user record's field, value pairs (the hash a script
// writes) to a.
func (a *scriptArgs) userFields(u User) {
	a.str(fDoc)
	a.bytes(u.Doc)
	a.str(fVersion)
	a.int(u.Version)
	a.str(fCreated)
	a.time(u.Created)
	a.str(fModified)
	a.time(u.Modified)
	a.str(fManagedBy)
	a.str(u.ManagedBy)
	a.str(fActive)
	a.str(encodeBool(u.Active))
	a.str(fUserName)
	a.str(u.UserName)
	a.str(fExternalID)
	a.str(u.ExternalID)
	a.str(fWorkEmail)
	a.str(u.WorkEmail)
	a.str(fEmployeeNumber)
	a.str(u.EmployeeNumber)
}

func parseUser(id string, h map[string]string) (User, error) {
	return parseUserFrom(id, func(f string) string { return h[f] })
}

// parseUserFrom is parseUser reading each field through h (a map's, or a
// packed record's read in place).
func parseUserFrom(id string, h func(field string) string) (User, error) {
	u := User{
		ID:             id,
		ManagedBy:      h(fManagedBy),
		Active:         h(fActive) == "1",
		UserName:       h(fUserName),
		ExternalID:     h(fExternalID),
		WorkEmail:      h(fWorkEmail),
		EmployeeNumber: h(fEmployeeNumber),
		Doc:            []byte(h(fDoc)),
	}
	var err error
	if u.Version, err = strconv.ParseInt(h(fVersion), 10, 64); err != nil {
		return User{}, fmt.Errorf("user %s: %s: %w", id, fVersion, err)
	}
	if u.Created, err = decodeTime(h(fCreated)); err != nil {
		return User{}, fmt.Errorf("user %s: %s: %w", id, fCreated, err)
	}
	if u.Modified, err = decodeTime(h(fModified)); err != nil {
		return User{}, fmt.Errorf("user %s: %s: %w", id, fModified, err)
	}
	return u, nil
}

func groupFields(g Group) []any {
	return []any{
		fDoc, g.Doc,
		fVersion, strconv.FormatInt(g.Version, 10),
		fCreated, encodeTime(g.Created),
		fModified, encodeTime(g.Modified),
		fDisplayName, g.DisplayName,
		fExternalID, g.ExternalID,
		fManagedBy, g.ManagedBy,
	}
}

func parseGroup(id string, h map[string]string) (Group, error) {
	g := Group{
		ID:          id,
		DisplayName: h[fDisplayName],
		ExternalID:  h[fExternalID],
		ManagedBy:   h[fManagedBy],
		Doc:         []byte(h[fDoc]),
	}
	var err error
	if g.Version, err = strconv.ParseInt(h[fVersion], 10, 64); err != nil {
		return Group{}, fmt.Errorf("group %s: %s: %w", id, fVersion, err)
	}
	if g.Created, err = decodeTime(h[fCreated]); err != nil {
		return Group{}, fmt.Errorf("group %s: %s: %w", id, fCreated, err)
	}
	if g.Modified, err = decodeTime(h[fModified]); err != nil {
		return Group{}, fmt.Errorf("group %s: %s: %w", id, fModified, err)
	}
	return g, nil
}
