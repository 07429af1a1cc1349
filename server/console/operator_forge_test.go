package console_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/scimd/scimd/server"
)

// TestOperatorPagesNeedAnOperatorToken: the operator's cookie is signed
// with a key derived from the operator token; with no token the key is
// public, so the pages must stay off rather than open to a forged cookie.
func TestOperatorPagesNeedAnOperatorToken(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.ConsoleOperator, c.OperatorToken = true, "" })
	key := sha256.Sum256([]byte("scimd console operator\x00"))
	expiry := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte("session\x00" + expiry))
	req, err := http.NewRequest(http.MethodGet, e.base+"/console/operator/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "scimd_console_operator", Value: expiry + "." + hex.EncodeToString(m.Sum(nil))})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Fatal("a forged operator cookie opened the operator pages of a server without an operator token")
	}
}
