package carriers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

func limitedChannel(carrier string, perMinute int) logistics.Channel {
	return logistics.Channel{Carrier: carrier, Service: "s", Capabilities: logistics.Capabilities{RateLimitPerMinute: perMinute}}
}

func TestLimitersKeepUnderThePublishedLimit(t *testing.T) {
	l := carriers.NewLimiters([]logistics.Channel{
		limitedChannel("post", 300), limitedChannel("post", 120), // the strictest channel binds
		limitedChannel("open", 0),
	})
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}

	for range 5 {
		require.NoError(t, l.Wait(short(), "open"), "no published limit: never waits")
	}
	require.NoError(t, l.Wait(short(), "post"), "the first call goes at once")

	// The next slot is 60 s / (120 * 0.9) away: more than a caller with
	// 100 ms left can wait, so it is told how long instead.
	want := time.Minute * 10 / 1080 // 60 s / (120 * 0.9)
	for range 2 {
		err := l.Wait(short(), "post")
		require.ErrorIs(t, err, carriers.ErrThrottled)
		wait, ok := carriers.RetryAfter(err)
		require.True(t, ok)
		assert.InDelta(t, want.Seconds(), wait.Seconds(), 0.05, "a refused caller reserves nothing: the wait does not grow")
		assert.Contains(t, err.Error(), "post API rate limit")
	}

	// A caller with time enough waits for the slot.
	require.NoError(t, l.Wait(context.Background(), "post"))

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, l.Wait(cancelled, "post"), context.Canceled)
}

func TestRegistryLimitsTheConfiguredChannels(t *testing.T) {
	reg, err := carriers.NewConfiguredRegistry([]logistics.Channel{limitedChannel("fast", 60)}, &fakeCarrier{code: "fast", channels: []logistics.Channel{limitedChannel("fast", 6000)}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.NoError(t, reg.Limiters().Wait(ctx, "fast"))
	assert.ErrorIs(t, reg.Limiters().Wait(ctx, "fast"), carriers.ErrThrottled, "the file's 60 a minute, not the adapter's")
}
