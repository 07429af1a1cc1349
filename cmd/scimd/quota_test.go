package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestQuotaFlags: --quota-users and --quota-groups become the tenants'
// default quotas, as the operator's tenant read reports them; the members
// quota left unset keeps its default.
func TestQuotaFlags(t *testing.T) {
	m := startServe(t, "--quota-users", "7", "--quota-groups", "3")
	base := "http://" + m.ln.Addr().String()
	body, err := json.Marshal(map[string]any{"id": "quota-flags", "name": "Q", "licenseLimit": 5})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/admin/v1/tenants", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Quotas map[string]struct{ Limit int64 } `json:"quotas"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create tenant: %d %v", resp.StatusCode, err)
	}
	want := map[string]int64{"users": 7, "groups": 3, "membersPerGroup": 100000}
	for k, v := range want {
		if out.Quotas[k].Limit != v {
			t.Errorf("quota %s = %d, want %d", k, out.Quotas[k].Limit, v)
		}
	}
}
