package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

// shipmentInLineHaul saves an order in line haul with its shipment 1 and
// returns the shipment and the reference its tracking number routes to.
func shipmentInLineHaul(t *testing.T, s *store.Store, merchantID, orderID string) (logistics.Shipment, store.ShipmentRef) {
	t.Helper()
	saveOrder(t, s, orderRecord(merchantID, orderID, 1, logistics.StageLineHaul, base))
	sh := testShipment(merchantID, orderID, 1, base)
	saveShipment(t, s, sh, 1)
	ref, err := s.ShipmentByTrackingNumber(t.Context(), sh.TrackingNumber)
	require.NoError(t, err)
	return sh, ref
}

func TestAcceptTracking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		sh, ref := shipmentInLineHaul(t, s, "m_1", "o_1")
		assert.Equal(t, "CN", ref.Origin)
		assert.Equal(t, "GB", ref.Destination)

		a1 := testEvent(sh.TrackingNumber, "A1", logistics.StatusInTransit, base, "Shenzhen")
		a2 := testEvent(sh.TrackingNumber, "A2", logistics.StatusInTransit, base.Add(time.Hour), "Hong Kong")
		accept := store.TrackingAcceptance{
			Record:    store.WebhookRecord{Source: "carrier:sbx_express", ID: "wh_1", EventType: logistics.SignalTrackingEvent, StatusCode: 202, Response: []byte(`{"accepted":2}`)},
			Shipments: []store.AcceptedShipment{{Ref: ref, TrackingNumber: sh.TrackingNumber, Events: []logistics.TrackingEvent{a2, a1}}},
		}
		first, inserted, err := s.AcceptTracking(ctx, accept)
		require.NoError(t, err)
		assert.True(t, inserted)
		assert.Equal(t, 202, first.StatusCode)

		events, err := s.OrderTracking(ctx, "m_1", "o_1")
		require.NoError(t, err)
		require.Len(t, events, 2, "in the timeline once acknowledged")
		assert.Equal(t, "A1", events[0].RawCode)

		// A redelivery changes nothing and replays the first answer.
		again := accept
		again.Record.Response = []byte(`{"accepted":99}`)
		again.Shipments = []store.AcceptedShipment{{Ref: ref, TrackingNumber: sh.TrackingNumber,
			Events: []logistics.TrackingEvent{testEvent(sh.TrackingNumber, "NEW", logistics.StatusInTransit, base, "X")}}}
		first, inserted, err = s.AcceptTracking(ctx, again)
		require.NoError(t, err)
		assert.False(t, inserted)
		assert.JSONEq(t, `{"accepted":2}`, string(first.Response))
		events, err = s.OrderTracking(ctx, "m_1", "o_1")
		require.NoError(t, err)
		assert.Len(t, events, 2)

		pending, oldest, err := s.TrackingHandoffBacklog(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, 1, pending)
		assert.False(t, oldest.IsZero())

		// Claimed once per lease; then postponed; then completed.
		now := time.Now()
		claimed, err := s.ClaimTrackingHandoffs(ctx, now, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		h := claimed[0]
		assert.Equal(t, ref.WorkflowID, h.WorkflowID)
		assert.Equal(t, sh.TrackingNumber, h.TrackingNumber)
		assert.Equal(t, "wh_1", h.WebhookID)
		assert.Equal(t, 1, h.Attempts)
		require.Len(t, h.Events, 2)
		assert.Equal(t, "A2", h.Events[0].RawCode, "in the order accepted")

		again2, err := s.ClaimTrackingHandoffs(ctx, now.Add(30*time.Second), time.Minute, 10)
		require.NoError(t, err)
		assert.Empty(t, again2, "leased")
		require.NoError(t, s.RetryTrackingHandoffs(ctx, []int64{h.ID}, now.Add(5*time.Second), "workflow not found"))
		none, err := s.ClaimTrackingHandoffs(ctx, now.Add(4*time.Second), time.Minute, 10)
		require.NoError(t, err)
		assert.Empty(t, none, "not due before the retry time")
		retried, err := s.ClaimTrackingHandoffs(ctx, now.Add(5*time.Second), time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, retried, 1)
		assert.Equal(t, 2, retried[0].Attempts)

		require.NoError(t, s.CompleteTrackingHandoffs(ctx, []int64{h.ID}))
		require.NoError(t, s.CompleteTrackingHandoffs(ctx, []int64{h.ID}), "idempotent")
		pending, _, err = s.TrackingHandoffBacklog(ctx)
		require.NoError(t, err)
		assert.Zero(t, pending)

		t.Run("a submission for finished shipments only records its answer", func(t *testing.T) {
			_, inserted, err := s.AcceptTracking(ctx, store.TrackingAcceptance{
				Record: store.WebhookRecord{Source: "carrier:sbx_express", ID: "wh_2", StatusCode: 202, Response: []byte(`{}`)}})
			require.NoError(t, err)
			assert.True(t, inserted)
			pending, _, err := s.TrackingHandoffBacklog(ctx)
			require.NoError(t, err)
			assert.Zero(t, pending)
		})
		t.Run("invalid submissions write nothing", func(t *testing.T) {
			_, _, err := s.AcceptTracking(ctx, store.TrackingAcceptance{Record: store.WebhookRecord{Source: "carrier:sbx_express"}})
			assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
			_, _, err = s.AcceptTracking(ctx, store.TrackingAcceptance{
				Record:    store.WebhookRecord{Source: "carrier:sbx_express", ID: "wh_3"},
				Shipments: []store.AcceptedShipment{{Ref: ref}}})
			require.Error(t, err)
			_, found, err := s.FindWebhook(ctx, "carrier:sbx_express", "wh_3")
			require.NoError(t, err)
			assert.False(t, found)
		})
		t.Run("large imports are stored in batches", func(t *testing.T) {
			var evs []logistics.TrackingEvent
			for i := range 450 {
				evs = append(evs, testEvent(sh.TrackingNumber, fmt.Sprintf("B%03d", i), logistics.StatusInTransit, base.Add(time.Duration(i)*time.Second), "Sea"))
			}
			_, inserted, err := s.AcceptTracking(ctx, store.TrackingAcceptance{
				Record:    store.WebhookRecord{Source: "ops:tracking", ID: "import:1", StatusCode: 202, Response: []byte(`{}`)},
				Shipments: []store.AcceptedShipment{{Ref: ref, TrackingNumber: sh.TrackingNumber, Events: evs}}})
			require.NoError(t, err)
			assert.True(t, inserted)
			events, err := s.OrderTracking(ctx, "m_1", "o_1")
			require.NoError(t, err)
			assert.Len(t, events, 452)
		})
	})
}

func TestAcceptTrackingKeepsTheOrderOfScansAtOneTime(t *testing.T) {
	// Scans with the same time (minute-precision carriers, import files)
	// read back in the order they were submitted.
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		sh, ref := shipmentInLineHaul(t, s, "m_1", "o_1")
		var events []logistics.TrackingEvent
		for _, code := range []string{"ARR", "SCAN", "DEP"} {
			events = append(events, testEvent(sh.TrackingNumber, code, logistics.StatusInTransit, base, "Hub"))
		}
		_, inserted, err := s.AcceptTracking(ctx, store.TrackingAcceptance{
			Record:    store.WebhookRecord{Source: "carrier:sbx_express", ID: "wh_same_time", StatusCode: 202, Response: []byte(`{}`)},
			Shipments: []store.AcceptedShipment{{Ref: ref, TrackingNumber: sh.TrackingNumber, Events: events}}})
		require.NoError(t, err)
		require.True(t, inserted)
		timeline, err := s.OrderTracking(ctx, "m_1", "o_1")
		require.NoError(t, err)
		var codes []string
		for _, e := range timeline {
			codes = append(codes, e.RawCode)
		}
		assert.Equal(t, []string{"ARR", "SCAN", "DEP"}, codes)
	})
}

func TestAcceptTrackingConcurrently(t *testing.T) {
	// Concurrent submissions (written in groups on Postgres): redeliveries
	// racing the first delivery, and scans that two submissions share.
	// Each record is new to exactly one delivery, every redelivery gets
	// that delivery's answer, and each submission queues one hand-off.
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		var refs []store.ShipmentRef
		for i := range 4 {
			_, ref := shipmentInLineHaul(t, s, "m_1", fmt.Sprintf("o_%d", i))
			refs = append(refs, ref)
		}
		const distinct, deliveries = 60, 90
		submission := func(i int) store.TrackingAcceptance {
			ref := refs[i%len(refs)]
			tn := fmt.Sprintf("SBX-m_1-o_%d-1", i%len(refs))
			events := []logistics.TrackingEvent{
				testEvent(tn, fmt.Sprintf("S%d", i), logistics.StatusInTransit, base.Add(time.Duration(i)*time.Minute), "Own"),
				testEvent(tn, "SHARED", logistics.StatusInTransit, base, "Shared"), // the same scan in every submission of the shipment
			}
			return store.TrackingAcceptance{
				Record:    store.WebhookRecord{Source: "carrier:sbx_express", ID: fmt.Sprintf("wh_%d", i), StatusCode: 202, Response: []byte(fmt.Sprintf(`{"n":%d}`, i))},
				Shipments: []store.AcceptedShipment{{Ref: ref, TrackingNumber: tn, Events: events}},
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		newTo := map[string]int{}
		for d := range deliveries {
			wg.Go(func() {
				a := submission(d % distinct)
				first, inserted, err := s.AcceptTracking(ctx, a)
				if !assert.NoError(t, err) {
					return
				}
				assert.JSONEq(t, fmt.Sprintf(`{"n":%d}`, d%distinct), string(first.Response))
				if inserted {
					mu.Lock()
					newTo[a.Record.ID]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		assert.Len(t, newTo, distinct)
		for id, n := range newTo {
			assert.Equal(t, 1, n, "%s new to %d deliveries", id, n)
		}
		pending, _, err := s.TrackingHandoffBacklog(ctx)
		require.NoError(t, err)
		assert.EqualValues(t, distinct, pending, "one hand-off per submission")
		total := 0
		for i := range refs {
			events, err := s.OrderTracking(ctx, "m_1", fmt.Sprintf("o_%d", i))
			require.NoError(t, err)
			total += len(events)
		}
		assert.Equal(t, distinct+len(refs), total, "each own scan once, each shared scan once per shipment")
	})
}

func TestClaimTrackingHandoffsConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		sh, ref := shipmentInLineHaul(t, s, "m_1", "o_1")
		const n = 40
		for i := range n {
			_, _, err := s.AcceptTracking(ctx, store.TrackingAcceptance{
				Record: store.WebhookRecord{Source: "carrier:sbx_express", ID: fmt.Sprintf("wh_%d", i), StatusCode: 202, Response: []byte(`{}`)},
				Shipments: []store.AcceptedShipment{{Ref: ref, TrackingNumber: sh.TrackingNumber,
					Events: []logistics.TrackingEvent{testEvent(sh.TrackingNumber, fmt.Sprintf("C%d", i), logistics.StatusInTransit, base, "X")}}}})
			require.NoError(t, err)
		}
		// Four relays claiming at once share the hand-offs, none twice.
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					claimed, err := s.ClaimTrackingHandoffs(ctx, time.Now(), time.Hour, 7)
					if !assert.NoError(t, err) || len(claimed) == 0 {
						return
					}
					mu.Lock()
					for _, h := range claimed {
						seen[h.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		assert.Len(t, seen, n)
		for id, times := range seen {
			assert.Equal(t, 1, times, "hand-off %d claimed twice within its lease", id)
		}
	})
}

func TestShipmentsByTrackingNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		saveOrder(t, s, orderRecord("m_1", "o_1", 1, logistics.StageLineHaul, base))
		saveOrder(t, s, orderRecord("m_2", "o_2", 1, logistics.StageLineHaul, base))
		a := testShipment("m_1", "o_1", 1, base)
		b := testShipment("m_2", "o_2", 1, base)
		// b's last mile is a partner's number.
		b.Legs = append(b.Legs, logistics.Leg{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post",
			Service: "post", TrackingNumber: "LM-PARTNER-1", Status: logistics.StatusInTransit})
		saveShipment(t, s, a, 1)
		saveShipment(t, s, b, 1)

		refs, err := s.ShipmentsByTrackingNumbers(ctx, []string{a.TrackingNumber, "LM-PARTNER-1", "NOPE", ""})
		require.NoError(t, err)
		require.Len(t, refs, 2)
		for _, tn := range []string{a.TrackingNumber, "LM-PARTNER-1"} {
			one, err := s.ShipmentByTrackingNumber(ctx, tn)
			require.NoError(t, err)
			assert.Equal(t, one, refs[tn], "the same answer as the single lookup for %s", tn)
		}
		assert.Equal(t, "sbx_post", refs["LM-PARTNER-1"].Carrier)
		assert.Equal(t, "m_2", refs["LM-PARTNER-1"].MerchantID)

		none, err := s.ShipmentsByTrackingNumbers(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, none)
	})
}
