package api

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

func TestUnmappedEventsKeepThePreviousStatus(t *testing.T) {
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	events := []logistics.TrackingEvent{
		{Status: "", Substatus: "unmapped", TrackingNumber: "A", RawCode: "??", OccurredAt: at.Add(3 * time.Hour)},
		{Status: logistics.StatusInTransit, TrackingNumber: "A", RawCode: "DEP", OccurredAt: at.Add(2 * time.Hour)},
		{Status: "", Substatus: "unmapped", TrackingNumber: "A", RawCode: "X0", OccurredAt: at},
	}
	got := toOrderTracking(trackingView(store.OrderView{}, events))
	require.Len(t, got.Events, 3)
	assert.Equal(t, logistics.StatusPending, got.Events[0].Status, "nothing before it: pending")
	assert.Equal(t, logistics.StatusInTransit, got.Events[1].Status)
	assert.Equal(t, logistics.StatusInTransit, got.Events[2].Status, "an unknown code keeps the previous status")
	assert.Equal(t, "unmapped", got.Events[2].Substatus)
}

func TestMerchantEventsHideWhoRecordedThem(t *testing.T) {
	e := logistics.TrackingEvent{Status: logistics.StatusDelivered, Source: logistics.SourceManual, RecordedBy: "ops@example.com",
		OccurredAt: time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)}
	body := string(mustJSON(toTrackingEvent(&e)))
	assert.NotContains(t, body, "recorded_by")
	assert.NotContains(t, body, "ops@example.com")
	assert.Contains(t, body, `"source":"manual"`)
}

// trackingView is what the store's OrderTrackingView answers for an order v
// with events: its stage, its shipments' standing and the events.
func trackingView(v store.OrderView, events []logistics.TrackingEvent) store.OrderTrackingView {
	out := store.OrderTrackingView{Stage: v.Stage, Events: events}
	for _, sh := range v.Shipments {
		out.Shipments = append(out.Shipments, store.ShipmentStanding{Number: sh.Number, Status: sh.Status, Phase: sh.Phase})
	}
	return out
}
