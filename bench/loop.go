package bench

import (
	"context"
	"slices"
	"sync"
	"time"
)

// LoopResult is what a closed loop achieved: operations completed within
// the window, their rate and latency percentiles in milliseconds.
type LoopResult struct {
	Done       int
	Errors     int
	FirstError error
	Seconds    float64
	PerSecond  float64
	P50, P99   float64
}

// ClosedLoop runs op from concurrency workers, each starting its next
// operation when the last one ends, for ramp and then window. Only
// operations that end within the window count (the ramp fills the pipeline
// first); operations still running at its end finish (they are not cut
// off) but are not counted, so the next measurement starts on a quiet
// system. An operation that fails fails the count whenever it ends. i
// numbers the operations from 0.
func ClosedLoop(ctx context.Context, concurrency int, ramp, window time.Duration, op func(ctx context.Context, i int) error) LoopResult {
	var (
		mu        sync.Mutex
		latencies []float64
		res       LoopResult
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
	res.PerSecond = float64(res.Done) / res.Seconds
	res.P50, res.P99 = Percentile(latencies, 0.50), Percentile(latencies, 0.99)
	return res
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
