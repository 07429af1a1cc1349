// Package idpexport reads an identity provider's user export (Entra's CSV
// download, or Microsoft Graph's JSON) into the users a migration preflight
// compares with the tenant's: the one reader of the admin API and the
// console.
package idpexport

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scimd/scimd/server/provision"
)

// The columns (CSV) and keys (JSON) of an IdP user, lower-cased; Entra's
// user export and Microsoft Graph both spell them so.
const (
	colUserPrincipalName = "userprincipalname"
	colMail              = "mail"
	colEmployeeID        = "employeeid"
	colAccountEnabled    = "accountenabled"
	colDisplayName       = "displayname"
)

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// Parse reads a user list as JSON (an array of objects, or an
// object with a "users" array, or Graph's "value") or as CSV. Every error's
// text is written for the client; status is 400, or 415 for a type it does
// not read.
func Parse(contentType string, body []byte) ([]provision.IdPUser, int, error) {
	media, params, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		return nil, http.StatusUnsupportedMediaType, errors.New("send the user list with Content-Type application/json or text/csv")
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("the user list must be UTF-8, not %s", cs)
	}
	var parse func([]byte) ([]provision.IdPUser, error)
	switch {
	case media == "application/json" || strings.HasSuffix(media, "+json"):
		parse = parseJSONUsers
	// Browsers on Windows label .csv files as Excel's.
	case media == "text/csv" || media == "application/csv" || media == "application/vnd.ms-excel":
		parse = parseCSVUsers
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("cannot read a user list of type %s: send application/json or text/csv", media)
	}
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return nil, http.StatusBadRequest, errors.New("the body is empty: send the identity provider's user list")
	case bytes.HasPrefix(body, []byte{0xff, 0xfe}) || bytes.HasPrefix(body, []byte{0xfe, 0xff}):
		return nil, http.StatusBadRequest, errors.New("the user list is UTF-16: save it as UTF-8 (in Excel: CSV UTF-8)")
	case !utf8.Valid(body):
		return nil, http.StatusBadRequest, errors.New("the user list is not valid UTF-8")
	}
	users, err := parse(bytes.TrimPrefix(body, utf8BOM))
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return users, 0, nil
}

func parseCSVUsers(body []byte) ([]provision.IdPUser, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = sniffComma(body)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the CSV is empty: it needs a header row and a row per user")
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols := map[string]int{}
	for i, h := range header {
		name := headerName(h)
		switch name {
		case colUserPrincipalName, colMail, colEmployeeID, colAccountEnabled, colDisplayName:
		default:
			continue // the export's other columns
		}
		if j, dup := cols[name]; dup {
			return nil, fmt.Errorf("the CSV header names %s twice (columns %d and %d)", strings.TrimSpace(h), j+1, i+1)
		}
		cols[name] = i
	}
	_, hasUPN := cols[colUserPrincipalName]
	_, hasMail := cols[colMail]
	_, hasEmployee := cols[colEmployeeID]
	if !hasUPN && !hasMail && !hasEmployee {
		return nil, fmt.Errorf("the CSV header names none of userPrincipalName, mail and employeeId (it has: %s)", clipText(strings.Join(header, ", "), 200))
	}
	var users []provision.IdPUser
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return users, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		if len(users) >= provision.MaxPreflightUsers {
			return nil, fmt.Errorf("the user list has more than %d users; a preflight takes at most %d", provision.MaxPreflightUsers, provision.MaxPreflightUsers)
		}
		line, _ := r.FieldPos(0)
		row := "line " + strconv.Itoa(line)
		get := func(col string) string {
			if i, ok := cols[col]; ok {
				return rec[i]
			}
			return ""
		}
		enabled, err := parseEnabled(get(colAccountEnabled))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", row, err)
		}
		users = append(users, provision.IdPUser{Row: row, UserPrincipalName: get(colUserPrincipalName), Mail: get(colMail),
			EmployeeID: get(colEmployeeID), DisplayName: get(colDisplayName), Enabled: enabled})
	}
}

// sniffComma picks the delimiter of the header line: Excel writes ';' or a
// tab in some locales.
func sniffComma(body []byte) rune {
	first, _, _ := bytes.Cut(body, []byte("\n"))
	best, bestN := ',', 0
	for _, d := range []rune{',', ';', '\t'} {
		n := 0
		for _, h := range strings.Split(string(first), string(d)) {
			switch headerName(strings.Trim(h, `"`)) {
			case colUserPrincipalName, colMail, colEmployeeID, colAccountEnabled, colDisplayName:
				n++
			}
		}
		if n > bestN {
			best, bestN = d, n
		}
	}
	return best
}

// headerName folds a column name: case and spaces do not matter
// ("User principal name" is userPrincipalName).
func headerName(h string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", ""))
}

// csvError keeps encoding/csv's message, which names the line and column
// and holds nothing but the client's own data.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("the CSV cannot be read: %v", pe)
	}
	return errors.New("the CSV cannot be read")
}

// parseEnabled reads accountEnabled as Entra's export ("True"), Graph
// (true) or a spreadsheet ("Yes") writes it. Empty means enabled: counting
// a seat too many is the safer mistake.
func parseEnabled(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "true", "yes", "1":
		return true, nil
	case "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("accountEnabled is %q; use true or false", clipText(v, 40))
}

func parseJSONUsers(body []byte) ([]provision.IdPUser, error) {
	var top json.RawMessage
	if err := decodeOneJSON(body, &top); err != nil {
		return nil, err
	}
	list, where := top, ""
	switch firstByte(top) {
	case '[':
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(top, &obj); err != nil {
			return nil, errors.New("the JSON object cannot be read")
		}
		for k, v := range obj {
			if lk := strings.ToLower(k); lk == "users" || lk == "value" {
				if where != "" {
					return nil, fmt.Errorf("the JSON object has both %q and %q: send one user list", where, k)
				}
				list, where = v, k
			}
		}
		if where == "" {
			return nil, errors.New(`the JSON must be an array of users or an object with a "users" array`)
		}
	default:
		return nil, errors.New(`the JSON must be an array of users or an object with a "users" array`)
	}
	var items []json.RawMessage
	if firstByte(list) != '[' || json.Unmarshal(list, &items) != nil {
		return nil, fmt.Errorf("%s must be an array of users", orTop(where))
	}
	if len(items) > provision.MaxPreflightUsers {
		return nil, fmt.Errorf("the user list has %d users; a preflight takes at most %d", len(items), provision.MaxPreflightUsers)
	}
	users := make([]provision.IdPUser, 0, len(items))
	for i, item := range items {
		row := fmt.Sprintf("%s[%d]", where, i)
		u, err := parseJSONUser(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", row, err)
		}
		u.Row = row
		users = append(users, u)
	}
	return users, nil
}

// parseJSONUser reads one user; keys are case-insensitive and unknown keys
// (Graph's id, givenName, @odata...) are ignored.
func parseJSONUser(item json.RawMessage) (provision.IdPUser, error) {
	var obj map[string]json.RawMessage
	if firstByte(item) != '{' || json.Unmarshal(item, &obj) != nil {
		return provision.IdPUser{}, errors.New("a user must be a JSON object")
	}
	u := provision.IdPUser{Enabled: true}
	seen := map[string]string{}
	for k, v := range obj {
		lk := strings.ToLower(k)
		if other, dup := seen[lk]; dup {
			return provision.IdPUser{}, fmt.Errorf("the user has both %s and %s", other, k)
		}
		seen[lk] = k
		var err error
		switch lk {
		case colUserPrincipalName:
			u.UserPrincipalName, err = jsonText(k, v, false)
		case colMail:
			u.Mail, err = jsonText(k, v, false)
		case colEmployeeID:
			u.EmployeeID, err = jsonText(k, v, true)
		case colDisplayName:
			u.DisplayName, err = jsonText(k, v, false)
		case colAccountEnabled:
			u.Enabled, err = jsonEnabled(k, v)
		}
		if err != nil {
			return provision.IdPUser{}, err
		}
	}
	return u, nil
}

// jsonEnabled reads accountEnabled as a boolean, a string or null (enabled).
func jsonEnabled(key string, v json.RawMessage) (bool, error) {
	switch firstByte(v) {
	case 'n':
		return true, nil
	case 't', 'f':
		var b bool
		if json.Unmarshal(v, &b) == nil {
			return b, nil
		}
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return parseEnabled(s)
		}
	}
	return false, fmt.Errorf("%s must be true or false", key)
}

// jsonText reads a string or null; numbers too when number (an employeeId
// a spreadsheet turned into one), in their JSON spelling.
func jsonText(key string, v json.RawMessage, number bool) (string, error) {
	switch b := firstByte(v); {
	case b == 'n':
		return "", nil
	case b == '"':
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s, nil
		}
	case number && (b == '-' || b >= '0' && b <= '9'):
		return string(bytes.TrimSpace(v)), nil
	}
	if number {
		return "", fmt.Errorf("%s must be a string or a number", key)
	}
	return "", fmt.Errorf("%s must be a string", key)
}

// decodeOneJSON decodes exactly one JSON value, naming where a syntax error is.
func decodeOneJSON(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("the JSON is malformed at byte %d: %v", se.Offset, se)
		}
		return errors.New("the JSON is malformed or cut short")
	}
	// Only white space may follow (More is false before a stray ']').
	if _, err := d.Token(); err != io.EOF {
		return errors.New("the JSON has trailing data after the user list")
	}
	return nil
}

func firstByte(raw []byte) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func orTop(where string) string {
	if where == "" {
		return "the JSON"
	}
	return `"` + where + `"`
}

// clipText shortens what the client sent before echoing it in a message.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
