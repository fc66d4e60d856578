package carriers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/logistics"
)

// ErrThrottled marks a carrier call not made because it would have gone
// over the carrier's published API rate limit within the caller's time.
// The error carries the wait (RetryAfter), as a carrier's own 429 does.
var ErrThrottled = errors.New("carrier rate limit reached")

// rateHeadroom is the share of a published limit Crossdock uses. The
// carrier counts calls on its own clock, when they arrive; a little room
// keeps network jitter from pushing two calls into the same minute.
const rateHeadroom = 0.9

// Limiters keep the calls of this process to each carrier's API under the
// carrier's published rate limit (Capabilities.RateLimitPerMinute, the
// strictest of its channels): a per-parcel poll interval cannot, since a
// thousand parcels polled every 15 minutes are 67 calls a minute. Carriers
// without a published limit are not limited. The limit is per process:
// several workers each keep to it. Safe for concurrent use.
type Limiters struct {
	byCode map[string]*rate.Limiter
}

// NewLimiters returns limiters for the carriers of channels.
func NewLimiters(channels []logistics.Channel) *Limiters {
	perMinute := map[string]int{}
	for _, ch := range channels {
		n := ch.Capabilities.RateLimitPerMinute
		if n <= 0 {
			continue
		}
		if cur, ok := perMinute[ch.Carrier]; !ok || n < cur {
			perMinute[ch.Carrier] = n
		}
	}
	l := &Limiters{byCode: map[string]*rate.Limiter{}}
	for code, n := range perMinute {
		// A burst of one: calls are spread evenly, so no minute, however
		// it is cut, holds more than the limit.
		l.byCode[code] = rate.NewLimiter(rate.Limit(float64(n)*rateHeadroom/60), 1)
	}
	return l
}

// Wait blocks until a call to the carrier may be made. When that would
// take more than half the time ctx has left (the call itself needs the
// rest), it makes no reservation and returns at once an error wrapping
// ErrThrottled whose RetryAfter is the wait; a cancelled ctx returns its
// error. Nil Limiters limit nothing.
func (l *Limiters) Wait(ctx context.Context, code string) error {
	if l == nil {
		return nil
	}
	lim := l.byCode[code]
	if lim == nil {
		return nil
	}
	now := time.Now()
	res := lim.ReserveN(now, 1)
	d := res.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && d > deadline.Sub(now)/2 {
		res.CancelAt(now)
		return &ThrottledError{Carrier: code, Wait: d}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return ctx.Err()
	}
}

// ThrottledError is the answer of Limiters.Wait when the call must wait
// longer than the caller can.
type ThrottledError struct {
	Carrier string
	Wait    time.Duration
}

// Error implements error.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s API rate limit reached; next call in %s", e.Carrier, e.Wait.Round(time.Millisecond))
}

// Unwrap makes the error match ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// RetryAfter is how long to wait before calling the carrier again.
func (e *ThrottledError) RetryAfter() time.Duration { return e.Wait }

var _ RetryAfterError = (*ThrottledError)(nil)
