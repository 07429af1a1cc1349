package server_test

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkBigGroupAdd: one PATCH adding 20,000 members to an empty group
// (issue 5's big-group case), then one emptying it again (not timed).
func BenchmarkBigGroupAdd(b *testing.B) {
	h, tn := benchHarnessWith(b, 1<<20) // the server's default limit
	const n = 20000
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		ids = append(ids, h.created(b, tn.Base+"/Users", tn.SCIMToken, []byte(userBody(fmt.Sprintf("big-%d@example.com", i)))))
	}
	gid := h.created(b, tn.Base+"/Groups", tn.SCIMToken, []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"big"}`))

	var members strings.Builder
	for i, id := range ids {
		if i > 0 {
			members.WriteByte(',')
		}
		fmt.Fprintf(&members, `{"value":%q}`, id)
	}
	add := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[` + members.String() + `]}]}`)
	empty := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"members","value":[]}]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if s := h.serve("PATCH", tn.Base+"/Groups/"+gid, tn.SCIMToken, add); s != 204 {
			b.Fatalf("add: %d", s)
		}
		b.StopTimer()
		if s := h.serve("PATCH", tn.Base+"/Groups/"+gid, tn.SCIMToken, empty); s != 204 {
			b.Fatalf("empty: %d", s)
		}
		b.StartTimer()
	}
}
