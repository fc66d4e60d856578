package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Machine describes where a run happened.
type Machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemoryMiB int    `json:"memory_mib,omitempty"`
	GoVersion string `json:"go_version"`
}

// ThisMachine reads the machine's description (CPU model and memory from
// /proc where there is one).
func ThisMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		var n int
		if _, err := fmt.Sscanf(kb, "%d", &n); err == nil {
			m.MemoryMiB = n / 1024
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Report is a whole run: where, with what settings, and every result.
type Report struct {
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Quick    bool              `json:"quick"`
	Machine  Machine           `json:"machine"`
	Settings map[string]string `json:"settings"`
	Results  []Result          `json:"results"`
	Notes    []string          `json:"notes,omitempty"`
}

// Passed reports whether every result met its target.
func (r Report) Passed() bool {
	for _, res := range r.Results {
		if !res.Pass {
			return false
		}
	}
	return true
}

// Write stores the report as dir/latest.json and dir/latest.md.
func (r Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench results: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench results: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench results: %w", err)
	}
	var md strings.Builder
	r.Markdown(&md)
	if err := os.WriteFile(filepath.Join(dir, "latest.md"), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("bench results: %w", err)
	}
	return nil
}

// Table writes the results as a Markdown table: what the README shows and
// the command prints.
func (r Report) Table(w io.Writer) {
	fmt.Fprintln(w, "| id | measure (A) | baseline (B) | A median [min, max] | B median [min, max] | A/B [min, max] | target | pass |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, res := range r.Results {
		pass := "yes"
		if !res.Pass {
			pass = "**no**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s %s | %s %s | %s | %s | %s |\n", res.ID, res.Measure, res.Baseline,
			spread(res.AFigures), res.Unit, spread(res.BFigures), res.Unit, ratioSpread(res), res.Target, pass)
	}
}

// Markdown writes the whole report for people: the table, the checks and
// side figures, the settings and the machine.
func (r Report) Markdown(w io.Writer) {
	mode := "full"
	if r.Quick {
		mode = "quick (checks the harness works, not how fast)"
	}
	fmt.Fprintf(w, "# Crossdock benchmark\n\nRun %s, %s, %.0f s, mode %s.\n\n", r.Started.UTC().Format(time.RFC3339),
		r.Machine.String(), r.Seconds, mode)
	r.Table(w)
	fmt.Fprintln(w)
	for _, res := range r.Results {
		fmt.Fprintf(w, "## %s: %s\n\n", res.ID, res.Name)
		fmt.Fprintf(w, "- A: %s; raw %s\n- B: %s; raw %s\n- A/B per round: %s\n", res.Measure, raw(res.AFigures.Raw),
			res.Baseline, raw(res.BFigures.Raw), raw(res.RatioFigures.Raw))
		for _, name := range sortedKeys(res.Extra) {
			f := res.Extra[name]
			fmt.Fprintf(w, "- %s: %s; raw %s\n", name, spread(f), raw(f.Raw))
		}
		for _, c := range res.Checks {
			fmt.Fprintf(w, "- check %s: %s (target %s, pass %t)\n", c.Name, num(c.Value), c.Target, c.Pass)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(w, "- note: %s\n", n)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "## Settings")
	fmt.Fprintln(w)
	for _, k := range sortedKeys(r.Settings) {
		fmt.Fprintf(w, "- %s: %s\n", k, r.Settings[k])
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\n## Notes")
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// String is the machine in one line.
func (m Machine) String() string {
	s := fmt.Sprintf("%s/%s, %d CPUs", m.OS, m.Arch, m.CPUs)
	if m.CPUModel != "" {
		s += " (" + m.CPUModel + ")"
	}
	if m.MemoryMiB > 0 {
		s += fmt.Sprintf(", %d MiB", m.MemoryMiB)
	}
	return s + ", " + m.GoVersion
}

func spread(f Figures) string {
	return fmt.Sprintf("%s [%s, %s]", num(f.Median), num(f.Min), num(f.Max))
}

// ratioSpread is the judged ratio, median(A) / median(B), with the
// per-round ratios' min and max. The median of the per-round ratios can
// differ from it (A's and B's best rounds need not coincide) and is not
// what the target judges, so the table does not show it.
func ratioSpread(res Result) string {
	return fmt.Sprintf("%s [%s, %s]", num(res.Ratio), num(res.RatioFigures.Min), num(res.RatioFigures.Max))
}

func raw(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = num(x)
	}
	return strings.Join(parts, ", ")
}

// num prints a figure with three significant digits.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
