package store_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

func TestPublicTracking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		saveOrder(t, s, orderRecord("m_1", "o_1", 1, logistics.StageLastMile, base))
		// A consolidator's line haul handing over to a postal last mile.
		sh := testShipment("m_1", "o_1", 1, base)
		sh.Carrier, sh.TrackingNumber = "sbx_consol", "CONSOL-1"
		sh.Status, sh.Phase = logistics.StatusOutForDelivery, logistics.PhaseLastMile
		sh.Legs = []logistics.Leg{
			{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", Service: "parcel", TrackingNumber: "POST-1", Status: logistics.StatusOutForDelivery},
			{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", Service: "consol", TrackingNumber: "CONSOL-1", Status: logistics.StatusDelivered},
		}
		saveShipment(t, s, sh, 1)
		// The order's second shipment and another order's: never on this page.
		other := testShipment("m_1", "o_1", 2, base)
		saveShipment(t, s, other, 1)
		saveOrder(t, s, orderRecord("m_2", "o_9", 1, logistics.StageLineHaul, base))
		saveShipment(t, s, testShipment("m_2", "o_9", 1, base), 1)

		pickedUp := testEvent("CONSOL-1", "A1", logistics.StatusPickedUp, base, "Shenzhen")
		pickedUp.Carrier = "sbx_consol"
		pickedUp.RawDescription = "collected from Ada Lovelace"
		arrived := testEvent("CONSOL-1", "B2", logistics.StatusInTransit, base.Add(24*time.Hour), "London")
		arrived.Carrier, arrived.Location.Country = "sbx_consol", "GB"
		handedOver := testEvent("POST-1", "P1", logistics.StatusInTransit, base.Add(30*time.Hour), "London")
		handedOver.Carrier, handedOver.Location.Country = "sbx_post", "GB"
		sameTime := testEvent("POST-1", "P2", logistics.StatusOutForDelivery, base.Add(30*time.Hour), "London")
		sameTime.Carrier, sameTime.Location.Country, sameTime.Phase = "sbx_post", "GB", logistics.PhaseLastMile
		_, err := s.AddTrackingEvents(ctx, "m_1", "o_1", 1, []logistics.TrackingEvent{arrived, pickedUp, handedOver})
		require.NoError(t, err)
		_, err = s.AddTrackingEvents(ctx, "m_1", "o_1", 1, []logistics.TrackingEvent{sameTime})
		require.NoError(t, err)
		_, err = s.AddTrackingEvents(ctx, "m_1", "o_1", 2, []logistics.TrackingEvent{
			testEvent(other.TrackingNumber, "Z1", logistics.StatusPickedUp, base.Add(time.Minute), "Elsewhere")})
		require.NoError(t, err)
		_, err = s.AddTrackingEvents(ctx, "m_2", "o_9", 1, []logistics.TrackingEvent{
			testEvent("SBX-m_2-o_9-1", "Z2", logistics.StatusPickedUp, base.Add(time.Minute), "Elsewhere")})
		require.NoError(t, err)

		public := func(e logistics.TrackingEvent) store.PublicEvent {
			return store.PublicEvent{Status: e.Status, Phase: e.Phase, Substatus: e.Substatus, OccurredAt: stored(e.OccurredAt),
				Location: e.Location, Carrier: e.Carrier, TrackingNumber: e.TrackingNumber}
		}
		eta := stored(*sh.EstimatedDelivery)
		want := store.PublicTrackingView{
			Status: logistics.StatusOutForDelivery, Phase: logistics.PhaseLastMile, Origin: "CN", Destination: "GB",
			EstimatedDelivery: &eta, Carrier: "sbx_consol", TrackingNumber: "CONSOL-1",
			Legs: []store.PublicLeg{
				{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", TrackingNumber: "CONSOL-1", Status: logistics.StatusDelivered},
				{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", TrackingNumber: "POST-1", Status: logistics.StatusOutForDelivery},
			},
			// Newest first; of two events at one time, the later recorded first.
			Events: []store.PublicEvent{public(sameTime), public(handedOver), public(arrived), public(pickedUp)},
		}
		for _, tn := range []string{"CONSOL-1", "POST-1"} {
			got, err := s.PublicTracking(ctx, tn)
			require.NoError(t, err, tn)
			assert.Equal(t, want, got, "the line haul's and the partner's numbers show the same journey")
		}

		t.Run("unknown or empty number is not found", func(t *testing.T) {
			_, err := s.PublicTracking(ctx, "NOPE")
			requireNotFound(t, err)
			_, err = s.PublicTracking(ctx, "")
			requireNotFound(t, err)
		})

		t.Run("a shipment without events has an empty timeline", func(t *testing.T) {
			saveOrder(t, s, orderRecord("m_1", "o_quiet", 1, logistics.StageBooking, base))
			quiet := testShipment("m_1", "o_quiet", 1, base)
			quiet.EstimatedDelivery = nil
			saveShipment(t, s, quiet, 1)
			got, err := s.PublicTracking(ctx, quiet.TrackingNumber)
			require.NoError(t, err)
			assert.Empty(t, got.Events)
			assert.NotNil(t, got.Events)
			assert.Nil(t, got.EstimatedDelivery)
			assert.False(t, got.OlderEvents)
		})

		t.Run("a long history keeps the newest events", func(t *testing.T) {
			saveOrder(t, s, orderRecord("m_1", "o_long", 1, logistics.StageLineHaul, base))
			long := testShipment("m_1", "o_long", 1, base)
			saveShipment(t, s, long, 1)
			var batch []logistics.TrackingEvent
			for i := range store.PublicEventLimit + 5 {
				batch = append(batch, testEvent(long.TrackingNumber, fmt.Sprintf("S%03d", i), logistics.StatusInTransit,
					base.Add(time.Duration(i)*time.Minute), "Sea"))
			}
			_, err := s.AddTrackingEvents(ctx, "m_1", "o_long", 1, batch)
			require.NoError(t, err)
			got, err := s.PublicTracking(ctx, long.TrackingNumber)
			require.NoError(t, err)
			require.Len(t, got.Events, store.PublicEventLimit)
			assert.True(t, got.OlderEvents)
			assert.Equal(t, stored(batch[len(batch)-1].OccurredAt), got.Events[0].OccurredAt)
			assert.Equal(t, stored(batch[5].OccurredAt), got.Events[len(got.Events)-1].OccurredAt)
		})
	})
}

// TestPublicViewsCarryNoPersonalData pins the fields of the public types: a
// field added later must be checked against the tracking page's privacy
// promise (city and country only) before this list grows.
func TestPublicViewsCarryNoPersonalData(t *testing.T) {
	fieldsOf := func(v any) []string {
		var out []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			out = append(out, typ.Field(i).Name)
		}
		return out
	}
	assert.Equal(t, []string{"Status", "Phase", "Origin", "Destination", "EstimatedDelivery", "Carrier", "TrackingNumber",
		"Legs", "Events", "OlderEvents"}, fieldsOf(store.PublicTrackingView{}))
	assert.Equal(t, []string{"Sequence", "Kind", "Carrier", "TrackingNumber", "Status"}, fieldsOf(store.PublicLeg{}))
	assert.Equal(t, []string{"Status", "Phase", "Substatus", "OccurredAt", "Location", "Carrier", "TrackingNumber"},
		fieldsOf(store.PublicEvent{}))
	assert.Equal(t, []string{"City", "Country"}, fieldsOf(logistics.Location{}))
}
