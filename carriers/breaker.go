package carriers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// ErrCircuitOpen marks a call not made because the carrier's circuit
// breaker is open: the carrier failed too often lately, so new bookings go
// to the next-best channel until the breaker lets a trial call through.
var ErrCircuitOpen = errors.New("carrier circuit open")

// BreakerSettings tune the per-carrier circuit breakers. Zero fields take
// the defaults.
type BreakerSettings struct {
	// ConsecutiveFailures trips the breaker (default 5).
	ConsecutiveFailures uint32
	// OpenFor is how long a tripped breaker refuses calls before it lets
	// one trial call through (default 1 minute).
	OpenFor time.Duration
}

// Breakers holds one circuit breaker per carrier code (sony/gobreaker). A
// carrier's refusal (ErrRefused) or an unsupported operation is an answer,
// not a failure: only errors that say the carrier is unreachable or broken
// (5xx, 429, timeouts) count. A cancelled context counts for nothing. Safe
// for concurrent use; state is per process, which is what a breaker wants:
// each worker stops hammering a carrier it cannot reach.
type Breakers struct {
	settings BreakerSettings
	mu       sync.Mutex
	byCode   map[string]*gobreaker.CircuitBreaker[struct{}]
}

// NewBreakers returns breakers with the given settings.
func NewBreakers(s BreakerSettings) *Breakers {
	if s.ConsecutiveFailures == 0 {
		s.ConsecutiveFailures = 5
	}
	if s.OpenFor <= 0 {
		s.OpenFor = time.Minute
	}
	return &Breakers{settings: s, byCode: map[string]*gobreaker.CircuitBreaker[struct{}]{}}
}

func (b *Breakers) get(code string) *gobreaker.CircuitBreaker[struct{}] {
	b.mu.Lock()
	defer b.mu.Unlock()
	cb, ok := b.byCode[code]
	if !ok {
		trip := b.settings.ConsecutiveFailures
		cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        code,
			MaxRequests: 1,
			Timeout:     b.settings.OpenFor,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= trip },
			IsSuccessful: func(err error) bool {
				return err == nil || errors.Is(err, ErrRefused) || errors.Is(err, ErrUnsupported)
			},
			IsExcluded: func(err error) bool {
				return errors.Is(err, context.Canceled)
			},
		})
		b.byCode[code] = cb
	}
	return cb
}

// Do runs call through the carrier's breaker. While the breaker is open (or
// half-open with its trial call in flight) call is not run and the error
// wraps ErrCircuitOpen; otherwise call's own error is returned unchanged.
func (b *Breakers) Do(code string, call func() error) error {
	_, err := b.get(code).Execute(func() (struct{}, error) { return struct{}{}, call() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return fmt.Errorf("%w: %s failed %d times in a row; new bookings use other channels for now",
			ErrCircuitOpen, code, b.settings.ConsecutiveFailures)
	}
	return err
}

// Open reports whether the carrier's breaker currently refuses calls.
// A carrier never called is closed.
func (b *Breakers) Open(code string) bool {
	b.mu.Lock()
	cb, ok := b.byCode[code]
	b.mu.Unlock()
	return ok && cb.State() == gobreaker.StateOpen
}
