package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// TestSilentPushChannelIsPolled: a push carrier whose webhooks never
// arrive is polled after a silence of a few poll intervals, so the order is
// delivered on the scans the carrier has rather than waiting forever.
func TestSilentPushChannelIsPolled(t *testing.T) {
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush, journey: journey("express-1")}
	h := newHarness(t, express)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	h.run()

	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	assert.Len(t, h.store.events, len(express.journey), "every scan reached the timeline")
	// Each poll reveals one more scan: one poll per scan, and the final
	// reconciliation.
	assert.Equal(t, len(express.journey)+1, express.pollCount())
}

// TestPushedScansLostOrLateReachTheTimelineAtTheEnd: a scan the carrier
// never pushed (or pushed after the final one) is fetched by one poll when
// the parcel's journey ends; a push channel that keeps talking is not
// polled before.
func TestPushedScansLostOrLateReachTheTimelineAtTheEnd(t *testing.T) {
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush, journey: journey("express-1"), revealAll: true}
	h := newHarness(t, express)
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	outForDelivery := express.journey[3]
	pushed := 0
	for _, e := range express.journey {
		if e.Status == outForDelivery.Status {
			continue // lost on the way
		}
		pushed++
		h.signalShipment(time.Duration(pushed)*time.Hour, e)
	}
	h.run()

	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
	assert.Equal(t, 1, express.pollCount(), "pushes every hour: only the final poll")
	outForDelivery.Source = logistics.SourcePoll
	assert.True(t, h.store.events[outForDelivery.DedupKey()], "the scan that was never pushed is in the timeline")
	assert.Len(t, h.store.events, len(express.journey))
}

// TestALongRetryAfterStillOpensTheBreaker: a carrier that answers every
// booking with "unavailable, retry after an hour" is retried at the retry
// policy's longest pause (CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL), not the
// hour, so its breaker opens and the order books elsewhere within minutes.
func TestALongRetryAfterStillOpensTheBreaker(t *testing.T) {
	down := &fakeCarrier{code: "aaa_fast", days: 1, tracking: logistics.TrackingPush, down: true, retryAfter: time.Hour}
	express := &fakeCarrier{code: "express", days: 3, tracking: logistics.TrackingPush}
	h := newHarnessSettings(t, carriers.NewRegistry(down, express), activities.Settings{PickTimeout: 6 * time.Hour,
		PollInterval: 30 * time.Minute, CarrierMaxInterval: 2 * time.Minute})
	var start, bookedAt time.Time
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if start.IsZero() {
			start = h.env.Now()
		}
		if info.ActivityType.Name != activities.NameBookShipment {
			return
		}
		var in activities.BookShipmentInput
		require.NoError(t, args.Get(&in))
		if in.Channel.Carrier == "express" {
			bookedAt = h.env.Now()
		}
	})
	h.signal(0, logistics.SignalOrderCreated, logistics.OrderCreated{WebhookID: "w1", Order: demoOrder()})
	h.signal(time.Minute, logistics.SignalWarehouseEvent, packed())
	for i, e := range journey("express-1") {
		h.signalShipment(time.Duration(i+4)*time.Hour, e)
	}
	h.run()

	assert.Equal(t, 5, down.attemptCount(), "five failures open the circuit")
	require.False(t, bookedAt.IsZero())
	assert.Less(t, bookedAt.Sub(start), 30*time.Minute, "four pauses of at most the policy's 2 minutes, not four hours")
	assert.Equal(t, 1, express.bookingCount())
	assert.Equal(t, logistics.StageDelivered, h.store.lastOrder().Stage)
}
