package policies

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// source is a tree of Rego modules and data documents, read from one root.
type source struct {
	label   string                       // the root, as errors and coverage name it
	modules map[string]*ast.Module       // by label/path
	data    map[string]any               // the data document
	digests map[string][sha256.Size]byte // by path relative to the root
}

// readSource reads every .rego file under fsys (and no *_test.rego unless
// tests) and every data.json, which it places under its folder's path, as
// `opa test` and `opa eval -b` do: roles/data.json becomes data.roles. Errors
// wrap ErrInvalidPolicy and name the file.
func readSource(fsys fs.FS, label string, tests bool) (*source, error) {
	s := &source{
		label:   label,
		modules: map[string]*ast.Module{},
		data:    map[string]any{},
		digests: map[string][sha256.Size]byte{},
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		isRego := strings.HasSuffix(p, ".rego") && (tests || !strings.HasSuffix(p, "_test.rego"))
		if !isRego && d.Name() != "data.json" {
			return nil
		}
		bs, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := path.Join(label, p)
		s.digests[p] = sha256.Sum256(bs)
		if isRego {
			m, err := ast.ParseModuleWithOpts(name, string(bs), ast.ParserOptions{
				RegoVersion:       ast.RegoV1,
				ProcessAnnotation: true,
			})
			if err != nil {
				return err
			}
			s.modules[name] = m
			return nil
		}
		var doc any
		if err := util.UnmarshalJSON(bs, &doc); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		obj, ok := doc.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: data must be a JSON object", name)
		}
		if err := mergeAt(s.data, folders(p), obj); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, label, err)
	}
	if len(s.modules) == 0 {
		return nil, fmt.Errorf("%w: %s: no .rego files", ErrInvalidPolicy, label)
	}
	return s, nil
}

// folders is the folder path of a file: "roles/x/data.json" gives [roles x].
func folders(p string) []string {
	dir := path.Dir(p)
	if dir == "." {
		return nil
	}
	return strings.Split(dir, "/")
}

// mergeAt merges obj into dst at the given path, refusing to replace a value
// with a different one.
func mergeAt(dst map[string]any, at []string, obj map[string]any) error {
	for i, key := range at {
		next, ok := dst[key]
		if !ok {
			next = map[string]any{}
			dst[key] = next
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("data.%s is not an object", strings.Join(at[:i+1], "."))
		}
		dst = m
	}
	for k, v := range obj {
		old, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		oldObj, ok1 := old.(map[string]any)
		newObj, ok2 := v.(map[string]any)
		switch {
		case ok1 && ok2:
			if err := mergeAt(oldObj, nil, newObj); err != nil {
				return err
			}
		case !reflect.DeepEqual(old, v):
			return fmt.Errorf("conflicting values for data.%s", strings.Join(append(append([]string{}, at...), k), "."))
		}
	}
	return nil
}

// union returns a source holding the modules and data of s and t.
func (s *source) union(t *source) (*source, error) {
	u := &source{
		label:   s.label + "+" + t.label,
		modules: map[string]*ast.Module{},
		data:    map[string]any{},
		digests: map[string][sha256.Size]byte{},
	}
	for _, src := range []*source{s, t} {
		for k, m := range src.modules {
			u.modules[k] = m
		}
		for k, d := range src.digests {
			u.digests[path.Join(src.label, k)] = d
		}
		if err := mergeAt(u.data, nil, deepCopy(src.data)); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, u.label, err)
		}
	}
	return u, nil
}

// deepCopy copies the maps and slices of a decoded JSON document, so that a
// merge never writes into a source's data.
func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return deepCopy(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = copyValue(x)
		}
		return out
	default:
		return v
	}
}

// revision digests the file names (relative to the root, so that the same
// files give the same revision however the root is spelled: ./policies,
// policies/, an absolute path) and contents, in name order.
func (s *source) revision() string {
	names := make([]string, 0, len(s.digests))
	for name := range s.digests {
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%s\x00%x\n", name, s.digests[name])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// checkFullAccess refuses data written before roles said whether they grant
// full access to all sub-accounts: every built-in role of data.roles must say
// full_access, else the policies would decide inheritance on a missing value.
// It returns an error wrapping ErrInvalidPolicy naming the role.
func (s *source) checkFullAccess() error {
	roles, _ := s.data["roles"].(map[string]any)
	builtins, _ := roles["builtin_roles"].(map[string]any)
	names := make([]string, 0, len(builtins))
	for name := range builtins {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		role, _ := builtins[name].(map[string]any)
		if _, ok := role["full_access"].(bool); !ok {
			return fmt.Errorf(`%w: %s: roles/data.json: built-in role %q does not say "full_access" (true or false: whether it grants full access to all sub-accounts), which this release of scimd needs; add it to every built-in role (Enterprise Admin true, the others false) and see policies/README.md`, ErrInvalidPolicy, s.label, name)
		}
	}
	return nil
}

// BuiltinRoles returns the names of the built-in roles of the embedded
// policies (data.roles.builtin_roles), sorted. Returns an error wrapping
// ErrInvalidPolicy if the embedded policies do not load.
func BuiltinRoles() ([]string, error) {
	s, err := readSource(embedded, "policies", false)
	if err != nil {
		return nil, err
	}
	roles, _ := s.data["roles"].(map[string]any)
	builtins, _ := roles["builtin_roles"].(map[string]any)
	names := make([]string, 0, len(builtins))
	for name := range builtins {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// WriteEmbedded writes the built-in policies and their data to dir, in the
// layout Options.Dir reads, as the start of an edited copy. Returns the
// file system's errors.
func WriteEmbedded(dir string) error {
	return fs.WalkDir(embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		bs, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, bs, 0o644)
	})
}
