// Package bench is Crossdock's benchmark harness (`crossdock bench`, `make
// bench`). On a shared machine an absolute figure means little, so every
// measure (A) is paired with a baseline (B) measured in the same run, the two
// interleaved A B A B after a warm-up of each, and reported as the median of
// the rounds with their min and max; the pair's ratio is median(A) over
// median(B) and is what its target judges.
//
// The package holds what does not depend on Crossdock's wiring: pairs and
// rounds, closed-loop drivers and latency percentiles, the baselines (a
// minimal Temporal workflow, raw pgx statements, a bare net/http handler)
// and the report (JSON for tools, Markdown for people). cmd/crossdock wires
// the measures to the real stack.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Sample is one figure of one round, with optional named side figures (a
// latency percentile, a count) reported next to it.
type Sample struct {
	Value float64
	Extra map[string]float64
}

// Measure takes one sample. It is called once per round, and once more as a
// warm-up whose sample is discarded.
type Measure func(ctx context.Context) (Sample, error)

// Target is a bound on a ratio: ">= 0.8" or "<= 1.5".
type Target struct {
	AtLeast bool
	Value   float64
}

// AtLeast is a target the ratio must reach.
func AtLeast(v float64) Target { return Target{AtLeast: true, Value: v} }

// AtMost is a target the ratio must not exceed.
func AtMost(v float64) Target { return Target{AtLeast: false, Value: v} }

// String is the target as the report writes it.
func (t Target) String() string {
	if t.AtLeast {
		return fmt.Sprintf(">= %g", t.Value)
	}
	return fmt.Sprintf("<= %g", t.Value)
}

// Met reports whether v satisfies the target.
func (t Target) Met(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if t.AtLeast {
		return v >= t.Value
	}
	return v <= t.Value
}

// Check is a further condition of a result, judged on one figure (say "at
// most 2,000 history events per run").
type Check struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	Pass   bool    `json:"pass"`
}

// NewCheck judges value against target.
func NewCheck(name string, value float64, target Target) Check {
	return Check{Name: name, Value: value, Target: target.String(), Pass: target.Met(value)}
}

// Figures summarise one side's rounds.
type Figures struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Raw    []float64 `json:"raw"`
}

// Summarise returns the median, min and max of raw (NaN for none).
func Summarise(raw []float64) Figures {
	f := Figures{Raw: append([]float64{}, raw...), Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	if len(raw) == 0 {
		return f
	}
	s := slices.Clone(raw)
	slices.Sort(s)
	f.Min, f.Max = s[0], s[len(s)-1]
	if n := len(s); n%2 == 1 {
		f.Median = s[n/2]
	} else {
		f.Median = (s[n/2-1] + s[n/2]) / 2
	}
	return f
}

// Result is one pair's outcome, in the shape other tools read from
// latest.json: a and b are the medians, ratio is a/b.
type Result struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	A      float64 `json:"a"`
	B      float64 `json:"b"`
	Ratio  float64 `json:"ratio"`
	Target string  `json:"target"`
	Pass   bool    `json:"pass"`
	Unit   string  `json:"unit"`
	// Measure and Baseline say what A and B are.
	Measure  string `json:"measure"`
	Baseline string `json:"baseline"`
	// AFigures, BFigures and RatioFigures are every round's raw figure
	// with their median, min and max (RatioFigures per round: a_i / b_i).
	AFigures     Figures `json:"a_figures"`
	BFigures     Figures `json:"b_figures"`
	RatioFigures Figures `json:"ratio_figures"`
	// Extra are the side figures of A and B (names prefixed "a." and
	// "b."), each summarised over the rounds.
	Extra  map[string]Figures `json:"extra,omitempty"`
	Checks []Check            `json:"checks,omitempty"`
	Notes  []string           `json:"notes,omitempty"`
}

// Pair is a measure and its baseline.
type Pair struct {
	ID, Name, Unit    string
	Measure, Baseline string
	Target            Target
	A, B              Measure
	// Ratio turns the medians into the judged figure; nil means a / b.
	Ratio func(a, b float64) float64
	// Finish, if set, adds checks and notes once the rounds are done.
	Finish func(r *Result)
}

// Run measures p: a warm-up of A and of B (unless warmUp is false, as in
// a quick run that only checks the harness works), then rounds of A
// followed by B. step is called before each measurement (for a progress
// bar). A failing measurement ends the run with its error.
func Run(ctx context.Context, p Pair, rounds int, warmUp bool, step func(string)) (Result, error) {
	if rounds < 1 {
		return Result{}, errors.New("bench: at least one round")
	}
	if step == nil {
		step = func(string) {}
	}
	ratio := p.Ratio
	if ratio == nil {
		ratio = func(a, b float64) float64 { return a / b }
	}
	take := func(side string, m Measure, round int) (Sample, error) {
		step(fmt.Sprintf("%s %s round %d", p.ID, side, round))
		s, err := m(ctx)
		if err != nil {
			return Sample{}, fmt.Errorf("%s %s (round %d): %w", p.ID, side, round, err)
		}
		return s, nil
	}
	if warmUp {
		if _, err := take("A", p.A, 0); err != nil {
			return Result{}, err
		}
		if _, err := take("B", p.B, 0); err != nil {
			return Result{}, err
		}
	}
	var as, bs, rs []float64
	extra := map[string][]float64{}
	for i := 1; i <= rounds; i++ {
		a, err := take("A", p.A, i)
		if err != nil {
			return Result{}, err
		}
		b, err := take("B", p.B, i)
		if err != nil {
			return Result{}, err
		}
		as, bs, rs = append(as, a.Value), append(bs, b.Value), append(rs, ratio(a.Value, b.Value))
		for k, v := range a.Extra {
			extra["a."+k] = append(extra["a."+k], v)
		}
		for k, v := range b.Extra {
			extra["b."+k] = append(extra["b."+k], v)
		}
	}
	r := Result{ID: p.ID, Name: p.Name, Unit: p.Unit, Measure: p.Measure, Baseline: p.Baseline,
		Target: p.Target.String(), AFigures: Summarise(as), BFigures: Summarise(bs), RatioFigures: Summarise(rs)}
	r.A, r.B = r.AFigures.Median, r.BFigures.Median
	r.Ratio = ratio(r.A, r.B)
	if math.IsNaN(r.Ratio) || math.IsInf(r.Ratio, 0) {
		r.Notes = append(r.Notes, fmt.Sprintf("ratio undefined (a %g, b %g)", r.A, r.B))
		r.Ratio = 0
	}
	for i, v := range r.RatioFigures.Raw {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			r.RatioFigures.Raw[i] = 0
		}
	}
	r.RatioFigures = Summarise(r.RatioFigures.Raw)
	r.Pass = p.Target.Met(r.Ratio) && len(r.Notes) == 0
	if len(extra) > 0 {
		r.Extra = map[string]Figures{}
		for k, v := range extra {
			r.Extra[k] = Summarise(v)
		}
	}
	if p.Finish != nil {
		p.Finish(&r)
	}
	for _, c := range r.Checks {
		r.Pass = r.Pass && c.Pass
	}
	return r, nil
}

// Steps is how many measurements Run makes: the progress bar's share of
// one pair.
func Steps(rounds int, warmUp bool) int {
	if warmUp {
		rounds++
	}
	return 2 * rounds
}

// Since returns the seconds elapsed since start, for rates.
func Since(start time.Time) float64 { return time.Since(start).Seconds() }
