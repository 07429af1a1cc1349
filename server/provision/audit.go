package provision

import (
	"reflect"
	"slices"
	"strings"
	"time"
)

// AuditEvent is one entry of a tenant's audit stream; SCIM and admin
// changes share the shape. Actor and IP are null for SCIM.
type AuditEvent struct {
	Time       time.Time `json:"time"`
	Source     string    `json:"source"`
	Actor      *ActorRef `json:"actor"`
	IP         *string   `json:"ip"`
	Action     string    `json:"action"`
	TargetType string    `json:"targetType"`
	TargetID   string    `json:"targetId"`
	Changes    []Change  `json:"changes,omitempty"`
	Dropped    []string  `json:"droppedAttributes,omitempty"`
}

// Change is one attribute's old and new value; nil stands for absent.
type Change struct {
	Attribute string `json:"attribute"`
	Old       any    `json:"old,omitempty"`
	New       any    `json:"new,omitempty"`
	// Added and Removed are lists, or a Truncated marker in their place.
	Added   any `json:"added,omitempty"`
	Removed any `json:"removed,omitempty"`
}

func (s *Service) event(a Actor, action, targetType, targetID string, changes []Change) AuditEvent {
	e := AuditEvent{Time: s.now().UTC(), Source: a.Source, Action: action, TargetType: targetType, TargetID: targetID, Changes: changes, Dropped: a.Dropped}
	switch {
	case a.Operator:
		e.Actor = &ActorRef{Kind: ActorOperator}
	case a.User != "":
		e.Actor = &ActorRef{Kind: ActorAdmin, Name: a.User}
	}
	if a.IP != "" {
		ip := a.IP // not &a.IP, which would move every caller's a to the heap
		e.IP = &ip
	}
	return e
}

// encode is the event as stored, bounded to MaxAuditEventBytes.
func (e AuditEvent) encode() []byte {
	_, b := e.bound()
	return b
}

// diff lists the attributes that differ between two documents, flattened to
// dotted paths (extension attributes keep their URN prefix), in name order.
func diff(old, new map[string]any) []Change {
	if len(old) == 0 {
		if out, ok := added(new); ok {
			return out
		}
	}
	return flatDiff(old, new)
}

// flatDiff is diff through the flattened documents.
func flatDiff(old, new map[string]any) []Change {
	fo, fn := map[string]any{}, map[string]any{}
	flatten(old, fo)
	flatten(new, fn)
	var out []Change
	for k, nv := range fn {
		if ov, ok := fo[k]; !ok || !reflect.DeepEqual(ov, nv) {
			out = append(out, Change{Attribute: k, Old: fo[k], New: nv})
		}
	}
	for k, ov := range fo {
		if _, ok := fn[k]; !ok {
			out = append(out, Change{Attribute: k, Old: ov})
		}
	}
	slices.SortFunc(out, byAttribute)
	return out
}

func byAttribute(a, b Change) int { return strings.Compare(a.Attribute, b.Attribute) }

// added is diff(nil, new) (a create's changes) without flattening into a
// map. ok is false when two leaves have one path (an attribute "a.b" beside
// "a": {"b": ...}), which the map keeps one of.
func added(new map[string]any) (_ []Change, ok bool) {
	if len(new) == 0 {
		return nil, true
	}
	out := make([]Change, 0, 2*len(new))
	out = appendLeaves(out, true, "", "", new)
	slices.SortFunc(out, byAttribute)
	for i := 1; i < len(out); i++ {
		if out[i].Attribute == out[i-1].Attribute {
			return nil, false
		}
	}
	return out, true
}

// appendLeaves appends m's leaves as flatten (top) and flattenUnder name
// them.
func appendLeaves(out []Change, top bool, prefix, sep string, m map[string]any) []Change {
	for k, v := range m {
		name := k
		if !top {
			name = prefix + sep + k
		}
		if sub, ok := v.(map[string]any); ok {
			next := "."
			if top && strings.HasPrefix(k, "urn:") {
				next = ":"
			}
			out = appendLeaves(out, false, name, next, sub)
			continue
		}
		out = append(out, Change{Attribute: name, New: v})
	}
	return out
}

// flatten writes m's leaves to out by path: sub-attributes after a dot, the
// attributes of an extension after its URN and a colon (the URN itself holds
// dots: "urn:...:2.0:User:employeeNumber", "urn:...:2.0:User:manager.value").
func flatten(m map[string]any, out map[string]any) {
	for k, v := range m {
		sep := "."
		if strings.HasPrefix(k, "urn:") {
			sep = ":"
		}
		if sub, ok := v.(map[string]any); ok {
			flattenUnder(k, sep, sub, out)
			continue
		}
		out[k] = v
	}
}

func flattenUnder(prefix, sep string, m map[string]any, out map[string]any) {
	for k, v := range m {
		name := prefix + sep + k
		if sub, ok := v.(map[string]any); ok {
			flattenUnder(name, ".", sub, out)
			continue
		}
		out[name] = v
	}
}
