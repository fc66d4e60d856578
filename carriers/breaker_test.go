package carriers_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
)

func TestBreakers(t *testing.T) {
	b := carriers.NewBreakers(carriers.BreakerSettings{ConsecutiveFailures: 3, OpenFor: 20 * time.Millisecond})
	down := errors.New("502 bad gateway")
	calls := 0
	fail := func() error { calls++; return down }

	assert.False(t, b.Open("c1"), "a carrier never called is closed")
	for range 2 {
		assert.Same(t, down, b.Do("c1", fail), "the call's own error comes back")
	}
	refused := fmt.Errorf("%w: address not served", carriers.ErrRefused)
	assert.Same(t, refused, b.Do("c1", func() error { calls++; return refused }))
	assert.ErrorIs(t, b.Do("c1", func() error { calls++; return context.Canceled }), context.Canceled)
	assert.False(t, b.Open("c1"), "a refusal is an answer and resets the run; a cancellation counts for nothing")

	for range 3 {
		require.Same(t, down, b.Do("c1", fail))
	}
	require.True(t, b.Open("c1"), "three failures in a row trip it")
	before := calls
	err := b.Do("c1", fail)
	require.ErrorIs(t, err, carriers.ErrCircuitOpen)
	assert.Contains(t, err.Error(), "c1")
	assert.Equal(t, before, calls, "an open breaker does not call the carrier")
	assert.False(t, b.Open("c2"), "breakers are per carrier")
	require.NoError(t, b.Do("c2", func() error { return nil }))

	// After OpenFor one trial call goes through; its success closes it.
	require.Eventually(t, func() bool { return !b.Open("c1") }, 2*time.Second, 5*time.Millisecond)
	require.NoError(t, b.Do("c1", func() error { calls++; return nil }))
	assert.Equal(t, before+1, calls)
	assert.False(t, b.Open("c1"))
}
