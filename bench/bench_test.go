package bench

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarise(t *testing.T) {
	tests := []struct {
		name             string
		raw              []float64
		median, min, max float64
	}{
		{"odd", []float64{3, 1, 2}, 2, 1, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5, 1, 4},
		{"one", []float64{7}, 7, 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Summarise(tt.raw)
			assert.Equal(t, tt.median, f.Median)
			assert.Equal(t, tt.min, f.Min)
			assert.Equal(t, tt.max, f.Max)
			assert.Equal(t, tt.raw, f.Raw, "raw figures kept in round order")
		})
	}
	assert.True(t, math.IsNaN(Summarise(nil).Median))
}

func TestPercentile(t *testing.T) {
	values := make([]float64, 100)
	for i := range values {
		values[i] = float64(100 - i)
	}
	assert.Equal(t, 99.0, Percentile(values, 0.99))
	assert.Equal(t, 50.0, Percentile(values, 0.50))
	assert.Equal(t, 0.0, Percentile(nil, 0.99))
}

func TestTarget(t *testing.T) {
	assert.True(t, AtLeast(0.8).Met(0.8))
	assert.False(t, AtLeast(0.8).Met(0.79))
	assert.True(t, AtMost(1.5).Met(1.5))
	assert.False(t, AtMost(1.5).Met(math.NaN()))
	assert.Equal(t, ">= 0.8", AtLeast(0.8).String())
	assert.Equal(t, "<= 2000", AtMost(2000).String())
}

// TestRunInterleaves: a warm-up of each side, then A B per round; the
// warm-up is discarded and the ratio is of the medians.
func TestRunInterleaves(t *testing.T) {
	var order []string
	a, b := 0.0, 0.0
	p := Pair{ID: "X", Target: AtLeast(1),
		A: func(context.Context) (Sample, error) {
			order = append(order, "A")
			a++
			return Sample{Value: a * 10, Extra: map[string]float64{"p99": a}}, nil
		},
		B: func(context.Context) (Sample, error) {
			order = append(order, "B")
			b++
			return Sample{Value: b}, nil
		}}
	res, err := Run(context.Background(), p, 3, true, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "B", "A", "B", "A", "B", "A", "B"}, order)
	assert.Equal(t, []float64{20, 30, 40}, res.AFigures.Raw, "the warm-up is not counted")
	assert.Equal(t, 30.0, res.A)
	assert.Equal(t, 3.0, res.B)
	assert.Equal(t, 10.0, res.Ratio)
	assert.True(t, res.Pass)
	assert.Equal(t, 3.0, res.Extra["a.p99"].Median)
	assert.Equal(t, 2*(3+1), Steps(3, true))

	p.B = func(context.Context) (Sample, error) { return Sample{}, errors.New("boom") }
	_, err = Run(context.Background(), p, 1, false, nil)
	require.ErrorContains(t, err, "X B (round 1): boom")
}

func TestRunUndefinedRatioFails(t *testing.T) {
	p := Pair{ID: "Z", Target: AtMost(1),
		A: func(context.Context) (Sample, error) { return Sample{Value: 1}, nil },
		B: func(context.Context) (Sample, error) { return Sample{Value: 0}, nil }}
	res, err := Run(context.Background(), p, 1, false, nil)
	require.NoError(t, err)
	assert.False(t, res.Pass)
	assert.Equal(t, 0.0, res.Ratio, "JSON cannot hold Inf")
	assert.NotEmpty(t, res.Notes)
}

func TestClosedLoopCountsTheWindowOnly(t *testing.T) {
	res := ClosedLoop(context.Background(), 2, 20*time.Millisecond, 100*time.Millisecond, func(context.Context, int) error {
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	assert.Positive(t, res.Done)
	assert.LessOrEqual(t, res.Done, 2*100/10+2, "operations of the ramp are not counted")
	assert.Zero(t, res.Errors)

	res = ClosedLoop(context.Background(), 1, 0, 30*time.Millisecond, func(context.Context, int) error {
		time.Sleep(5 * time.Millisecond)
		return errors.New("no")
	})
	assert.Positive(t, res.Errors)
	require.Error(t, res.FirstError)
}

func TestWindowShare(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	from, to := at(10), at(20)
	for _, tc := range []struct {
		name       string
		start, end int
		want       float64
	}{
		{"inside", 12, 14, 1},
		{"before", 0, 5, 0},
		{"after", 21, 30, 0},
		{"ends inside", 5, 15, 0.5},
		{"starts inside", 15, 25, 0.5},
		{"spans the window", 0, 40, 0.25},
		{"instant inside", 12, 12, 1},
		{"instant outside", 25, 25, 0},
	} {
		assert.InDelta(t, tc.want, windowShare(at(tc.start), at(tc.end), from, to), 1e-9, tc.name)
	}
}

// Operations longer than the window are counted by their share of it, not
// as whole completions: none of these ends inside the window, yet the
// workers were busy through it. Each operation lasts at least 200 ms (a
// loaded machine only makes it longer), so the 4 workers' shares of the
// 50 ms window add up to at most 4 * 50/200, a rate of at most 20 a second.
func TestClosedLoopRateOfLongOperations(t *testing.T) {
	res := ClosedLoop(context.Background(), 4, 10*time.Millisecond, 50*time.Millisecond, func(context.Context, int) error {
		time.Sleep(200 * time.Millisecond)
		return nil
	})
	require.Zero(t, res.Errors)
	assert.Zero(t, res.Done, "no operation ended inside the window")
	assert.Positive(t, res.PerSecond, "but the workers worked through it")
	assert.LessOrEqual(t, res.PerSecond, 20.0)
}

// TestTableShowsTheJudgedRatio: the table's A/B is median(A) / median(B),
// the figure the target judges, with the per-round ratios' extremes; not
// the median of the per-round ratios, which differs here (2).
func TestTableShowsTheJudgedRatio(t *testing.T) {
	as, bs := []float64{10, 30, 40}, []float64{5, 10, 20}
	i := -1
	p := Pair{ID: "X", Unit: "ops/s", Target: AtLeast(1),
		A: func(context.Context) (Sample, error) { i++; return Sample{Value: as[i]}, nil },
		B: func(context.Context) (Sample, error) { return Sample{Value: bs[i]}, nil }}
	res, err := Run(context.Background(), p, 3, false, nil)
	require.NoError(t, err)
	require.Equal(t, 3.0, res.Ratio)
	require.Equal(t, 2.0, res.RatioFigures.Median)
	var table strings.Builder
	Report{Results: []Result{res}}.Table(&table)
	assert.Contains(t, table.String(), "| 3 [2, 3] |")
}
