package bench

import (
	"context"
	"slices"
	"sync"
	"time"
)

// LoopResult is what a closed loop achieved: operations completed within
// the window, the rate of operations through it and the latency
// percentiles, in milliseconds, of those completed within it.
type LoopResult struct {
	Done       int
	Errors     int
	FirstError error
	Seconds    float64
	// PerSecond is the work done within the window, in operations per
	// second: each successful operation counts for the share of its
	// duration that fell within the window. Counting only the operations
	// that end within the window is right when they are short, but an
	// operation as long as the window lands wholly inside or wholly
	// outside it, so each worker counts one or none: the count is then
	// quantised to multiples of concurrency/window (T1 at 32 orders in
	// flight, each taking about 11 s, saw 32/12 s or nothing). The share
	// counts the same whatever an operation's length: for short operations
	// it equals the completions per second, for long ones concurrency over
	// latency (Little's law).
	PerSecond float64
	P50, P99  float64
}

// ClosedLoop runs op from concurrency workers, each starting its next
// operation when the last one ends, for ramp and then window. Only the
// window counts (the ramp fills the pipeline first): its completions and
// each operation's share of it (see LoopResult.PerSecond). Operations
// still running at its end finish (they are not cut off), so the next
// measurement starts on a quiet system. An operation that fails fails the
// count whenever it ends. i numbers the operations from 0.
func ClosedLoop(ctx context.Context, concurrency int, ramp, window time.Duration, op func(ctx context.Context, i int) error) LoopResult {
	var (
		mu        sync.Mutex
		latencies []float64
		res       LoopResult
		work      float64 // operations' shares of the window
		next      int
		wg        sync.WaitGroup
	)
	from := time.Now().Add(ramp)
	deadline := from.Add(window)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				t0 := time.Now()
				err := op(ctx, i)
				end := time.Now()
				mu.Lock()
				if err == nil {
					work += windowShare(t0, end, from, deadline)
				}
				switch {
				case err != nil:
					res.Errors++
					if res.FirstError == nil {
						res.FirstError = err
					}
				case end.Before(from), end.After(deadline):
				default:
					res.Done++
					latencies = append(latencies, float64(end.Sub(t0))/float64(time.Millisecond))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Seconds = window.Seconds()
	res.PerSecond = work / res.Seconds
	res.P50, res.P99 = Percentile(latencies, 0.50), Percentile(latencies, 0.99)
	return res
}

// windowShare is the share of the operation [start, end] that fell within
// [from, to].
func windowShare(start, end, from, to time.Time) float64 {
	d := end.Sub(start)
	if d <= 0 {
		if !start.Before(from) && !start.After(to) {
			return 1
		}
		return 0
	}
	lo, hi := start, end
	if lo.Before(from) {
		lo = from
	}
	if hi.After(to) {
		hi = to
	}
	return max(float64(hi.Sub(lo)), 0) / float64(d)
}

// Percentile returns the q-quantile (0..1) of values by the nearest-rank
// method, or 0 for none.
func Percentile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	rank := int(q*float64(len(s)) + 0.999999)
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}
