package console_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/scimd/scimd/server/provision"
)

// TestSignInRefusesDecisionTokens: a decision token reads decisions and
// nothing else, so it does not open the console either (the tenant's or a
// platform one).
func TestSignInRefusesDecisionTokens(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	op := provision.Actor{Source: "admin", Operator: true}
	dec, err := e.svc.CreateDecisionToken(ctx, e.tenant, "svc", op)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := e.svc.CreatePlatformDecisionToken(ctx, "platform-"+e.tenant, op)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = e.svc.RevokePlatformDecisionTokens(ctx, "platform-"+e.tenant, op) })
	for name, tok := range map[string]string{"tenant": dec, "platform": plat} {
		resp := e.httpSignIn(client(), uniqueAddr(), e.tenant, tok)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s decision token signs in to the console: %d", name, resp.StatusCode)
		}
	}
}
