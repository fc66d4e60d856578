package crossdock_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Infrastructure import-path prefixes named in the "must never import" column
// of architecture.md. A prefix matches the path itself and everything below
// it ("net/http" also matches "net/http/httptest").
const (
	temporal = "go.temporal.io"
	gin      = "github.com/gin-gonic/gin"
	gorm     = "gorm.io"
	netHTTP  = "net/http"
)

// importRule is one row of the package table in
// architecture.md ("Packages and what each may import").
// A rule applies to its package and to every package below it that has no row
// of its own, and a package may always import its own subtree.
//
// In mayImport, project paths are relative to the module and name that
// package alone ("carriers" is the port, not carriers/sandbox). In neverDirect
// and neverDeps, a project path ends in "/..." and names its whole subtree;
// anything else is an external import-path prefix.
type importRule struct {
	// pkg is the package the row is about, relative to the module root.
	pkg string
	// mayImport lists the project packages the rule's packages may import
	// directly (checked against go list's Imports). nil means no limit.
	mayImport []string
	// neverDirect lists paths (project paths relative to the module, or
	// external prefixes) that must not appear among the direct imports.
	neverDirect []string
	// neverDeps lists paths that must not appear anywhere in the transitive
	// dependencies (go list's Deps).
	neverDeps []string
}

// architectureRules is the table of architecture.md. Direct imports are
// checked against "may import (project)"; infrastructure in "must never
// import" is checked transitively unless the row says otherwise.
var architectureRules = []importRule{
	{
		// | `logistics` | domain types and pure rules ... | nothing | temporal, gin, gorm, net/http |
		pkg:       "logistics",
		mayImport: []string{},
		neverDeps: []string{temporal, gin, gorm, netHTTP},
	},
	{
		// | `customs` | regimes with effective dates, landed-cost estimate, ... | `logistics` | temporal, gin, gorm |
		pkg:       "customs",
		mayImport: []string{"logistics"},
		neverDeps: []string{temporal, gin, gorm},
	},
	{
		// | `carriers` | the `Carrier` port, capability model, registry, lane planner, ...; one subpackage
		// per adapter (`carriers/sandbox`, real carriers) | `logistics`, `customs` (types) | temporal, gin, gorm |
		pkg:       "carriers",
		mayImport: []string{"logistics", "customs"},
		neverDeps: []string{temporal, gin, gorm},
	},
	{
		// carriers/paper prints labels, CN22/CN23 forms and manifests for carriers
		// without APIs. It is a pure renderer beside the adapters, not one of them:
		// the carriers row narrowed to the domain types (not the port, not other
		// adapters) and without net/http, since it only turns inputs into bytes.
		pkg:       "carriers/paper",
		mayImport: []string{"logistics", "customs"},
		neverDeps: []string{temporal, gin, gorm, netHTTP},
	},
	{
		// | `warehouses` | the `Warehouse` port; adapters (sandbox, generic HTTP WMS) | `logistics` | temporal, gin, gorm |
		pkg:       "warehouses",
		mayImport: []string{"logistics"},
		neverDeps: []string{temporal, gin, gorm},
	},
	{
		// | `store` | GORM models, versioned migrations, queries; the only place that imports gorm |
		// `logistics` | temporal, gin |
		pkg:       "store",
		mayImport: []string{"logistics"},
		neverDeps: []string{temporal, gin},
	},
	{
		// | `activities` | thin glue: each activity calls one port or the store; ... |
		// `logistics`, `customs`, `carriers`, `warehouses`, `store` | gin, `workflows` |
		// Ports only: adapters (carriers/sandbox, ...) are wired in cmd/crossdock.
		// carriers/paper is allowed as customs is: a pure renderer (inputs to
		// bytes, no I/O), not an adapter, so an interface in front of it would
		// only restate its functions.
		// gorm directly is barred by the store row ("the only place that imports gorm").
		pkg:         "activities",
		mayImport:   []string{"logistics", "customs", "carriers", "carriers/paper", "warehouses", "store"},
		neverDirect: []string{gorm},
		neverDeps:   []string{gin, "workflows/..."},
	},
	{
		// | `workflows` | deterministic orchestration only (`go.temporal.io/sdk/workflow`) |
		// `logistics`, `activities` (method references and input/result types) |
		// gorm, gin, net/http, carrier adapters, `time.Now`, goroutines, map iteration order |
		// activities pulls in store (and so gorm) and the ports, which is why gorm,
		// net/http and the adapters are checked on direct imports; gin is barred
		// transitively. time.Now, goroutines and map order are workflowcheck's job.
		pkg:         "workflows",
		mayImport:   []string{"logistics", "activities"},
		neverDirect: []string{gorm, netHTTP, "carriers/...", "warehouses/...", "store/..."},
		neverDeps:   []string{gin},
	},
	{
		// | `api` | gin routes, auth, webhook verification, DTOs, ... | `logistics`, `store` (reads),
		// `carriers` (registry, to parse carrier webhooks), a narrow Temporal client interface |
		// `activities`, `workflows` internals beyond IDs/signal names |
		// Workflow IDs and signal names live in logistics, so api needs nothing from
		// workflows. warehouses is allowed for its registry, to parse warehouse
		// webhooks (the shared brief). gorm stays in store.
		pkg:         "api",
		mayImport:   []string{"logistics", "store", "carriers", "warehouses"},
		neverDirect: []string{gorm},
		neverDeps:   []string{"activities/...", "workflows/..."},
	},
	{
		// | `notify` | the outbound merchant webhook sender: fan-out from the outbox, signing,
		// retries with back-off, the SSRF guard | `logistics`, `store` | temporal, gin, `activities`,
		// `workflows` |
		// Not a Temporal workflow: the sender polls the store, so a worker replica can run it
		// beside the Temporal worker and state stays in the database. gorm stays in store.
		pkg:         "notify",
		mayImport:   []string{"logistics", "store"},
		neverDirect: []string{gorm},
		neverDeps:   []string{temporal, gin, "activities/...", "workflows/..."},
	},
	{
		// | `cmd/crossdock` | composition root: config, wiring, subcommands | everything | — |
		pkg: "cmd/crossdock",
	},
}

// requiredPackages must all exist, so that a rule for a missing package cannot
// pass by having nothing to check.
var requiredPackages = []string{
	"logistics", "customs", "carriers", "carriers/sandbox", "carriers/paper", "warehouses", "warehouses/sandbox",
	"store", "activities", "workflows", "api", "notify", "cmd/crossdock",
}

// gormOwners are the only places allowed to import gorm directly:
// architecture.md, store row: "the only place that imports gorm"; the
// composition root may import everything.
var gormOwners = []string{"store/...", "cmd/..."}

// listedPackage is the part of `go list -json` output the checks read.
type listedPackage struct {
	ImportPath string
	GoFiles    []string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
	DepsErrors []struct{ Err string }
}

func TestArchitectureImportRules(t *testing.T) {
	module, pkgs := goList(t)

	violations := checkArchitecture(module, pkgs, architectureRules, requiredPackages)
	for _, v := range violations {
		t.Error(v)
	}
	if len(violations) > 0 {
		t.Log("these rules are the package table of architecture.md; change the design (and this table) before the code")
	}
}

// TestArchitectureCheckerFlagsViolations proves the checker above can fail: a
// fake listing that breaks each kind of rule must be flagged, a clean one not.
func TestArchitectureCheckerFlagsViolations(t *testing.T) {
	const m = "example.com/x"
	clean := []listedPackage{
		{ImportPath: m + "/logistics", GoFiles: []string{"a.go"}, Imports: []string{"fmt"}, Deps: []string{"fmt"}},
		{ImportPath: m + "/carriers", GoFiles: []string{"a.go"},
			Imports: []string{m + "/logistics", "net/http"}, Deps: []string{m + "/logistics", "net/http"}},
		{ImportPath: m + "/carriers/sandbox", GoFiles: []string{"a.go"},
			Imports: []string{m + "/carriers", m + "/logistics"}, Deps: []string{m + "/carriers", m + "/logistics", "net/http"}},
		{ImportPath: m + "/carriers/paper", GoFiles: []string{"a.go"},
			Imports: []string{m + "/logistics", m + "/customs", "github.com/go-pdf/fpdf"},
			Deps:    []string{m + "/logistics", m + "/customs", "github.com/go-pdf/fpdf", "compress/zlib"}},
		{ImportPath: m + "/store", GoFiles: []string{"a.go"},
			Imports: []string{m + "/logistics", "gorm.io/gorm"}, Deps: []string{m + "/logistics", "gorm.io/gorm"}},
		{ImportPath: m + "/activities", GoFiles: []string{"a.go"},
			Imports: []string{m + "/store", m + "/carriers"}, Deps: []string{m + "/store", "gorm.io/gorm", m + "/carriers", "net/http"}},
		{ImportPath: m + "/workflows", GoFiles: []string{"a.go"},
			Imports: []string{m + "/activities", "go.temporal.io/sdk/workflow"},
			Deps:    []string{m + "/activities", m + "/store", "gorm.io/gorm", "net/http", "go.temporal.io/sdk/workflow"}},
		{ImportPath: m + "/cmd/crossdock", GoFiles: []string{"main.go"},
			Imports: []string{m + "/workflows", "gorm.io/gorm", gin}, Deps: []string{m + "/workflows", "gorm.io/gorm", gin}},
		{ImportPath: m + "/e2e", Imports: nil}, // test-only package: nothing to check
	}
	required := []string{"logistics", "carriers", "carriers/sandbox", "store", "activities", "workflows", "cmd/crossdock"}
	require.Empty(t, checkArchitecture(m, clean, architectureRules, required), "a clean listing must pass")

	tests := []struct {
		name string
		pkg  listedPackage
		want string
	}{
		{
			name: "logistics imports the project",
			pkg:  listedPackage{ImportPath: m + "/logistics", GoFiles: []string{"a.go"}, Imports: []string{m + "/store"}},
			want: "logistics imports " + m + "/store",
		},
		{
			name: "logistics reaches net/http transitively",
			pkg: listedPackage{ImportPath: m + "/logistics", GoFiles: []string{"a.go"},
				Imports: []string{"example.org/lib"}, Deps: []string{"example.org/lib", "net/http/httptrace"}},
			want: "depends on net/http/httptrace",
		},
		{
			name: "carrier adapter imports gorm through a library",
			pkg: listedPackage{ImportPath: m + "/carriers/sandbox", GoFiles: []string{"a.go"},
				Imports: []string{"example.org/orm"}, Deps: []string{"example.org/orm", "gorm.io/gorm"}},
			want: "carriers/sandbox depends on gorm.io/gorm",
		},
		{
			name: "paper renderer reaches net/http through a library",
			pkg: listedPackage{ImportPath: m + "/carriers/paper", GoFiles: []string{"a.go"},
				Imports: []string{"example.org/pdf"}, Deps: []string{"example.org/pdf", "net/http"}},
			want: "carriers/paper depends on net/http",
		},
		{
			name: "paper renderer imports the carrier port",
			pkg: listedPackage{ImportPath: m + "/carriers/paper", GoFiles: []string{"a.go"},
				Imports: []string{m + "/carriers"}, Deps: []string{m + "/carriers"}},
			want: "carriers/paper imports " + m + "/carriers;",
		},
		{
			name: "workflows imports an adapter",
			pkg: listedPackage{ImportPath: m + "/workflows", GoFiles: []string{"a.go"},
				Imports: []string{m + "/carriers/sandbox"}, Deps: []string{m + "/carriers/sandbox"}},
			want: "workflows imports " + m + "/carriers/sandbox",
		},
		{
			name: "workflows imports net/http directly",
			pkg: listedPackage{ImportPath: m + "/workflows", GoFiles: []string{"a.go"},
				Imports: []string{"net/http"}, Deps: []string{"net/http"}},
			want: "workflows imports net/http",
		},
		{
			name: "activities reaches gin",
			pkg: listedPackage{ImportPath: m + "/activities", GoFiles: []string{"a.go"},
				Imports: []string{"github.com/samber/slog-gin"}, Deps: []string{"github.com/samber/slog-gin", gin}},
			want: "activities depends on " + gin,
		},
		{
			name: "api reaches workflows transitively",
			pkg: listedPackage{ImportPath: m + "/api", GoFiles: []string{"a.go"},
				Imports: []string{m + "/store"}, Deps: []string{m + "/store", m + "/workflows"}},
			want: "api depends on " + m + "/workflows",
		},
		{
			name: "a package outside the table imports gorm",
			pkg: listedPackage{ImportPath: m + "/internal/report", GoFiles: []string{"a.go"},
				Imports: []string{"gorm.io/gorm"}, Deps: []string{"gorm.io/gorm"}},
			want: "internal/report imports gorm.io/gorm",
		},
		{
			name: "a package that does not load",
			pkg: listedPackage{ImportPath: m + "/customs", GoFiles: []string{"a.go"},
				Error: &struct{ Err string }{Err: "expected 'package', found 'EOF'"}},
			want: "customs does not load",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs := append(slices.Clone(clean), tt.pkg)
			got := checkArchitecture(m, pkgs, architectureRules, required)
			require.NotEmpty(t, got, "the checker must flag this listing")
			assert.Contains(t, strings.Join(got, "\n"), tt.want)
		})
	}

	t.Run("a required package is missing", func(t *testing.T) {
		got := checkArchitecture(m, clean, architectureRules, append(slices.Clone(required), "api"))
		require.Len(t, got, 1)
		assert.Contains(t, got[0], "api is missing")
	})
}

// goList runs `go list -e -json ./...` in the module root and returns the
// module path and every package of the module. -e keeps going past packages
// that do not compile yet; their load errors are reported by the checker.
func goList(t *testing.T) (string, []listedPackage) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command must be on PATH to list packages")

	var stderr bytes.Buffer
	cmd := exec.Command(goBin, "list", "-m")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list -m: %s", stderr.String())
	module := strings.TrimSpace(string(out))

	stderr.Reset()
	cmd = exec.Command(goBin, "list", "-e", "-json", "./...")
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	require.NoError(t, err, "go list -e -json ./...: %s", stderr.String())

	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err, "decoding go list output")
		}
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs, "go list found no packages")
	return module, pkgs
}

// checkArchitecture returns one message per broken rule, sorted. module is
// the module path; rules and required use paths relative to it.
func checkArchitecture(module string, pkgs []listedPackage, rules []importRule, required []string) []string {
	var out []string
	rel := func(path string) (string, bool) {
		if path == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}

	present := map[string]bool{}
	for _, p := range pkgs {
		if r, ok := rel(p.ImportPath); ok {
			present[r] = true
		}
	}
	for _, r := range required {
		if !present[r] {
			out = append(out, fmt.Sprintf("%s is missing from go list ./...: architecture.md requires it and its rules would check nothing", r))
		}
	}

	for _, p := range pkgs {
		self, ok := rel(p.ImportPath)
		if !ok || (len(p.GoFiles) == 0 && p.Error == nil) {
			// Not ours, or test files only: no production imports to check.
			continue
		}
		if p.Error != nil {
			out = append(out, fmt.Sprintf("%s does not load, so its imports cannot be checked: %s", self, p.Error.Err))
		}
		if n := len(p.DepsErrors); n > 0 {
			out = append(out, fmt.Sprintf("%s has %d dependency load errors, so its imports cannot be fully checked; the first: %s",
				self, n, p.DepsErrors[0].Err))
		}

		if slices.ContainsFunc(p.Imports, func(i string) bool { return under(i, gorm) }) &&
			!slices.ContainsFunc(gormOwners, func(o string) bool { return matches(module, o, module+"/"+self) }) {
			out = append(out, fmt.Sprintf("%s imports %s: store is the only place that imports gorm", self, firstUnder(p.Imports, gorm)))
		}

		rule, ok := ruleFor(self, rules)
		if !ok {
			continue
		}
		if rule.mayImport != nil {
			for _, imp := range p.Imports {
				r, ours := rel(imp)
				if !ours || r == rule.pkg || strings.HasPrefix(r, rule.pkg+"/") {
					continue
				}
				if !slices.Contains(rule.mayImport, r) {
					out = append(out, fmt.Sprintf("%s imports %s; architecture.md lets %s import only %v from the project",
						self, imp, rule.pkg, rule.mayImport))
				}
			}
		}
		for _, never := range rule.neverDirect {
			for _, imp := range p.Imports {
				if matches(module, never, imp) {
					out = append(out, fmt.Sprintf("%s imports %s, which architecture.md forbids for %s", self, imp, rule.pkg))
				}
			}
		}
		for _, never := range rule.neverDeps {
			for _, dep := range p.Deps {
				if matches(module, never, dep) {
					out = append(out, fmt.Sprintf("%s depends on %s (directly or through another package), which architecture.md forbids for %s",
						self, dep, rule.pkg))
				}
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// ruleFor returns the rule of the closest table row at or above pkg.
func ruleFor(pkg string, rules []importRule) (importRule, bool) {
	best, found := importRule{}, false
	for _, r := range rules {
		if (pkg == r.pkg || strings.HasPrefix(pkg, r.pkg+"/")) && len(r.pkg) > len(best.pkg) {
			best, found = r, true
		}
	}
	return best, found
}

// matches reports whether the import path imp is named by pattern: a
// project subtree relative to module when the pattern ends in "/...",
// otherwise an external prefix (see under).
func matches(module, pattern, imp string) bool {
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return under(imp, module+"/"+tree)
	}
	return under(imp, pattern)
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func firstUnder(paths []string, prefix string) string {
	for _, p := range paths {
		if under(p, prefix) {
			return p
		}
	}
	return prefix
}
