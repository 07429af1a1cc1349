package scimdoc

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/schema"
)

func TestMain(m *testing.M) {
	// As the server does, for Entra's "True"/"False".
	schema.SetAllowStringValues(true)
	os.Exit(m.Run())
}

// fixtureDir is the repository's copy of shared/entra-fixtures
// (server/testdata/entra; server's TestFixturesMatchShared keeps it in step),
// so a fresh clone runs these tests too. A missing directory is a broken
// checkout, never a reason to skip.
func fixtureDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "testdata", "entra")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Entra fixtures not found at %s: %v", dir, err)
	}
	return dir
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(fixtureDir(t), name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return body
}

// captureHandler records what elimity hands a resource handler.
type captureHandler struct {
	ops     []scim.PatchOperation
	created scim.ResourceAttributes
	filter  bool // GetAll was reached with a parsed filter
}

func (h *captureHandler) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	h.created = attrs
	return scim.Resource{ID: "new", Attributes: attrs}, nil
}

func (h *captureHandler) Get(*http.Request, string) (scim.Resource, error) {
	return scim.Resource{}, nil
}

func (h *captureHandler) GetAll(_ *http.Request, p scim.ListRequestParams) (scim.Page, error) {
	h.filter = p.FilterValidator != nil
	return scim.Page{Resources: []scim.Resource{}}, nil
}

func (h *captureHandler) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, nil
}

func (h *captureHandler) Delete(*http.Request, string) error { return nil }

func (h *captureHandler) Patch(_ *http.Request, _ string, ops []scim.PatchOperation) (scim.Resource, error) {
	h.ops = ops
	return scim.Resource{}, nil
}

// elimityResult is elimity's answer: the status, and the scimType of an error.
type elimityResult struct {
	Status   int
	ScimType string
}

// serve runs one request through a real elimity server registered with the schemas scimd uses.
func serve(t *testing.T, method, target string, body []byte) (*captureHandler, elimityResult) {
	t.Helper()
	h := &captureHandler{}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{},
		ResourceTypes: []scim.ResourceType{
			{
				Name:     "User",
				Endpoint: "/Users",
				Schema:   schema.CoreUserSchema(),
				SchemaExtensions: []scim.SchemaExtension{
					{Schema: schema.ExtensionEnterpriseUser()},
				},
				Handler: h,
			},
			{Name: "Group", Endpoint: "/Groups", Schema: schema.CoreGroupSchema(), Handler: h},
		},
	})
	if err != nil {
		t.Fatalf("scim.NewServer: %v", err)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(method, target, bytes.NewReader(body)))
	res := elimityResult{Status: w.Code}
	if w.Code >= 300 {
		var e struct{ ScimType string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
			t.Fatalf("decode elimity error %q: %v", w.Body.String(), err)
		}
		res.ScimType = e.ScimType
	}
	return h, res
}

// patchOps normalizes a PATCH body as the server does and returns the operations elimity hands
// the handler, failing the test when elimity refuses them.
func patchOps(t *testing.T, endpoint string, body []byte) []scim.PatchOperation {
	t.Helper()
	ops, res := tryPatchOps(t, endpoint, body)
	if res.Status != http.StatusNoContent {
		t.Fatalf("elimity refused the PATCH: %+v", res)
	}
	return ops
}

func tryPatchOps(t *testing.T, endpoint string, body []byte) ([]scim.PatchOperation, elimityResult) {
	t.Helper()
	norm, empty, err := NormalizePatchBody(body)
	if err != nil {
		t.Fatalf("NormalizePatchBody: %v", err)
	}
	if empty {
		t.Fatalf("NormalizePatchBody: unexpected empty Operations")
	}
	h, res := serve(t, http.MethodPatch, endpoint+"/x", norm)
	return h.ops, res
}

// getWithFilter sends GET /Users?filter=f through elimity; it reports whether elimity accepted
// the filter and handed it to the handler.
func getWithFilter(t *testing.T, f string) bool {
	t.Helper()
	h, res := serve(t, http.MethodGet, "/Users?filter="+url.QueryEscape(f), nil)
	return res.Status == http.StatusOK && h.filter
}

// jsonDoc decodes a document as storage hands it back: float64 numbers, []interface{} lists.
func jsonDoc(t *testing.T, s string) map[string]interface{} {
	t.Helper()
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test document %s: %v", s, err)
	}
	return m
}
