package store_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

var allEvents = []logistics.EventType{logistics.EventOrderStageChanged, logistics.EventShipmentStatusChanged,
	logistics.EventOrderActionRequired}

func addMerchants(t *testing.T, s *store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		require.NoError(t, s.CreateMerchant(t.Context(), logistics.Merchant{ID: id, Name: id}, store.HashAPIKey("key-"+id)))
	}
}

func createEndpoint(t *testing.T, s *store.Store, merchantID string, events ...logistics.EventType) (store.WebhookEndpoint, string) {
	t.Helper()
	if len(events) == 0 {
		events = allEvents
	}
	ep, secret, err := s.CreateWebhookEndpoint(t.Context(), store.NewWebhookEndpoint{MerchantID: merchantID,
		URL: "https://hooks.example.com/" + merchantID, Events: events})
	require.NoError(t, err)
	return ep, secret
}

func TestNewWebhookSecret(t *testing.T) {
	a, err := store.NewWebhookSecret()
	require.NoError(t, err)
	b, err := store.NewWebhookSecret()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"), a)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	require.NoError(t, err)
	assert.Len(t, key, 32)
}

func TestWebhookEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		addMerchants(t, s, "m_a", "m_b")

		ep, secret, err := s.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{MerchantID: "m_a", URL: "https://a.example.com/hook",
			Events: []logistics.EventType{logistics.EventOrderActionRequired, logistics.EventOrderStageChanged, logistics.EventOrderActionRequired}})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(ep.ID, "we_"), ep.ID)
		assert.True(t, strings.HasPrefix(secret, "whsec_"))
		assert.Equal(t, []logistics.EventType{logistics.EventOrderStageChanged, logistics.EventOrderActionRequired}, ep.Events,
			"deduplicated, in contract order")
		assert.True(t, ep.Enabled)
		assert.Nil(t, ep.PreviousSecretExpiresAt)

		got, err := s.GetWebhookEndpoint(ctx, "m_a", ep.ID)
		require.NoError(t, err)
		assert.Equal(t, ep, got)

		t.Run("another merchant sees nothing", func(t *testing.T) {
			_, err := s.GetWebhookEndpoint(ctx, "m_b", ep.ID)
			assert.ErrorIs(t, err, logistics.ErrNotFound)
			assert.ErrorIs(t, s.DeleteWebhookEndpoint(ctx, "m_b", ep.ID), logistics.ErrNotFound)
			_, _, err = s.RotateWebhookSecret(ctx, "m_b", ep.ID, time.Hour)
			assert.ErrorIs(t, err, logistics.ErrNotFound)
			_, err = s.EnableWebhookEndpoint(ctx, "m_b", ep.ID)
			assert.ErrorIs(t, err, logistics.ErrNotFound)
			_, _, err = s.ListWebhookDeliveries(ctx, "m_b", ep.ID, store.DeliveryFilter{})
			assert.ErrorIs(t, err, logistics.ErrNotFound)
			list, next, err := s.ListWebhookEndpoints(ctx, "m_b", 0, "")
			require.NoError(t, err)
			assert.Empty(t, list)
			assert.Empty(t, next)
		})

		t.Run("invalid input", func(t *testing.T) {
			for _, in := range []store.NewWebhookEndpoint{
				{MerchantID: "m_a", URL: "https://x.example.com"},
				{MerchantID: "m_a", URL: "https://x.example.com", Events: []logistics.EventType{"order.created"}},
				{MerchantID: "m_a", Events: allEvents},
			} {
				_, _, err := s.CreateWebhookEndpoint(ctx, in)
				assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err), "%+v", in)
			}
			_, _, err := s.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{MerchantID: "m_nobody", URL: "https://x.example.com", Events: allEvents})
			assert.ErrorIs(t, err, logistics.ErrNotFound)
		})

		t.Run("rotation keeps the old secret for the overlap", func(t *testing.T) {
			before := time.Now()
			rotated, newSecret, err := s.RotateWebhookSecret(ctx, "m_a", ep.ID, 24*time.Hour)
			require.NoError(t, err)
			assert.NotEqual(t, secret, newSecret)
			require.NotNil(t, rotated.PreviousSecretExpiresAt)
			assert.WithinDuration(t, before.Add(24*time.Hour), *rotated.PreviousSecretExpiresAt, time.Minute)
		})

		t.Run("list pages newest first", func(t *testing.T) {
			for range 4 {
				createEndpoint(t, s, "m_a")
			}
			var ids []string
			cursor := ""
			for range 5 {
				page, next, err := s.ListWebhookEndpoints(ctx, "m_a", 2, cursor)
				require.NoError(t, err)
				for _, e := range page {
					ids = append(ids, e.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			require.Len(t, ids, 5)
			assert.Equal(t, ep.ID, ids[4], "the first endpoint comes last")
			for i := 1; i < len(ids); i++ {
				assert.Greater(t, ids[i-1], ids[i], "ULIDs sort by creation")
			}
			_, _, err := s.ListWebhookEndpoints(ctx, "m_a", 2, "forged")
			assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
		})

		t.Run("at most MaxWebhookEndpoints, even when created concurrently", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make([]error, 2*store.MaxWebhookEndpoints)
			for i := range errs {
				wg.Go(func() {
					_, _, errs[i] = s.CreateWebhookEndpoint(ctx, store.NewWebhookEndpoint{MerchantID: "m_b",
						URL: fmt.Sprintf("https://b.example.com/%d", i), Events: allEvents})
				})
			}
			wg.Wait()
			created := 0
			for _, err := range errs {
				if err == nil {
					created++
				} else {
					assert.Equal(t, logistics.CodeConflict, logistics.ErrorCode(err), err)
				}
			}
			assert.Equal(t, store.MaxWebhookEndpoints, created)
		})

		t.Run("delete", func(t *testing.T) {
			require.NoError(t, s.DeleteWebhookEndpoint(ctx, "m_a", ep.ID))
			_, err := s.GetWebhookEndpoint(ctx, "m_a", ep.ID)
			assert.ErrorIs(t, err, logistics.ErrNotFound)
			assert.ErrorIs(t, s.DeleteWebhookEndpoint(ctx, "m_a", ep.ID), logistics.ErrNotFound)
		})
	})
}

// appendEvent appends an outbox event for (merchant, order) and returns its id.
func appendEvent(t *testing.T, s *store.Store, merchantID, orderID string, n int, typ logistics.EventType) string {
	t.Helper()
	id := fmt.Sprintf("order/%s/%s/v%d/%s", merchantID, orderID, n, typ)
	inserted, err := s.AppendEvent(t.Context(), store.OutboundEvent{ID: id, MerchantID: merchantID, OrderID: orderID,
		Type: string(typ), Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), OccurredAt: time.Now()})
	require.NoError(t, err)
	require.True(t, inserted)
	return id
}

func jobEvents(jobs []store.DeliveryJob) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Event.ID
	}
	return out
}

func TestFanOutAndClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		addMerchants(t, s, "m_a", "m_b")
		before := appendEvent(t, s, "m_a", "o_0", 1, logistics.EventOrderStageChanged)
		all, allSecret := createEndpoint(t, s, "m_a")
		stages, _ := createEndpoint(t, s, "m_a", logistics.EventOrderStageChanged)
		createEndpoint(t, s, "m_b")

		a1 := appendEvent(t, s, "m_a", "o_1", 1, logistics.EventOrderStageChanged)
		a2 := appendEvent(t, s, "m_a", "o_1", 2, logistics.EventShipmentStatusChanged)
		a3 := appendEvent(t, s, "m_a", "o_1", 3, logistics.EventOrderStageChanged)
		b1 := appendEvent(t, s, "m_a", "o_2", 1, logistics.EventOrderStageChanged)

		now := time.Now()
		res, err := s.FanOutEvents(ctx, now, 2)
		require.NoError(t, err)
		assert.Equal(t, store.FanOutResult{Events: 2, Deliveries: 2}, res,
			"the event appended before any endpoint existed goes nowhere; a1 goes to both endpoints")
		res, err = s.FanOutEvents(ctx, now, 100)
		require.NoError(t, err)
		assert.Equal(t, store.FanOutResult{Events: 3, Deliveries: 5}, res)
		res, err = s.FanOutEvents(ctx, now, 100)
		require.NoError(t, err)
		assert.Zero(t, res, "fanning out twice changes nothing")

		// Only the first open event of each order and endpoint is claimable.
		jobs, err := s.ClaimWebhookDeliveries(ctx, now, time.Minute, 100)
		require.NoError(t, err)
		require.Len(t, jobs, 4)
		byEndpoint := map[string][]string{}
		for _, j := range jobs {
			byEndpoint[j.EndpointID] = append(byEndpoint[j.EndpointID], j.Event.ID)
			assert.Equal(t, 1, j.Attempt)
			assert.NotEmpty(t, j.LeaseToken)
			assert.NotEqual(t, before, j.Event.ID)
		}
		assert.ElementsMatch(t, []string{a1, b1}, byEndpoint[all.ID])
		assert.ElementsMatch(t, []string{a1, b1}, byEndpoint[stages.ID])

		var job store.DeliveryJob
		for _, j := range jobs {
			if j.EndpointID == all.ID && j.Event.ID == a1 {
				job = j
			}
		}
		assert.Equal(t, []string{allSecret}, job.Secrets)
		assert.Equal(t, "https://hooks.example.com/m_a", job.URL)
		assert.Equal(t, "o_1", job.Event.OrderID)
		assert.Equal(t, string(logistics.EventOrderStageChanged), job.Event.Type)
		assert.JSONEq(t, `{"n":1}`, string(job.Event.Payload))

		again, err := s.ClaimWebhookDeliveries(ctx, now.Add(30*time.Second), time.Minute, 100)
		require.NoError(t, err)
		assert.Empty(t, again, "leased deliveries are not claimed twice")

		// a1 fails: a2 stays behind it; the retry is not due yet.
		_, err = s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: job.DeliveryID, LeaseToken: job.LeaseToken,
			EndpointID: all.ID, Number: 1, At: now, StatusCode: 500, Error: "HTTP 500", Failures: 1,
			NextAttemptAt: now.Add(5 * time.Second), Duration: 12 * time.Millisecond})
		require.NoError(t, err)
		_, err = s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: job.DeliveryID, LeaseToken: job.LeaseToken,
			EndpointID: all.ID, Number: 1, At: now, Delivered: true})
		assert.ErrorIs(t, err, store.ErrLeaseLost, "a released lease cannot record again")

		jobs, err = s.ClaimWebhookDeliveries(ctx, now.Add(time.Second), time.Minute, 100)
		require.NoError(t, err)
		assert.Empty(t, jobs)

		jobs, err = s.ClaimWebhookDeliveries(ctx, now.Add(5*time.Second), time.Minute, 100)
		require.NoError(t, err)
		require.Equal(t, []string{a1}, jobEvents(jobs))
		assert.Equal(t, 2, jobs[0].Attempt)
		assert.Equal(t, 1, jobs[0].Failures)
		// Dead: final, and it no longer holds the order back.
		_, err = s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: jobs[0].DeliveryID, LeaseToken: jobs[0].LeaseToken,
			EndpointID: all.ID, Number: 2, At: now.Add(5 * time.Second), Error: "connection refused", Failures: 2})
		require.NoError(t, err)

		jobs, err = s.ClaimWebhookDeliveries(ctx, now.Add(6*time.Second), time.Minute, 100)
		require.NoError(t, err)
		require.Equal(t, []string{a2}, jobEvents(jobs))
		_, err = s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: jobs[0].DeliveryID, LeaseToken: jobs[0].LeaseToken,
			EndpointID: all.ID, Number: 1, At: now.Add(6 * time.Second), Delivered: true, StatusCode: 204})
		require.NoError(t, err)

		// An expired lease can be claimed by another sender.
		jobs, err = s.ClaimWebhookDeliveries(ctx, now.Add(2*time.Minute), time.Minute, 100)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{a1, b1, b1, a3}, jobEvents(jobs), "stages' a1 and b1 and all's b1 (leases expired), and all's a3")

		log, next, err := s.ListWebhookDeliveries(ctx, "m_a", all.ID, store.DeliveryFilter{})
		require.NoError(t, err)
		assert.Empty(t, next)
		require.Len(t, log, 4)
		states := map[string]store.WebhookDelivery{}
		for _, d := range log {
			states[d.EventID] = d
		}
		dead := states[a1]
		assert.Equal(t, store.DeliveryDead, dead.State)
		assert.Equal(t, 2, dead.Attempts)
		assert.Nil(t, dead.NextAttemptAt)
		assert.Equal(t, "connection refused", dead.LastError)
		require.Len(t, dead.AttemptLog, 2)
		assert.Equal(t, store.WebhookAttempt{Number: 1, At: stored(now), Outcome: store.DeliveryFailed, StatusCode: 500,
			Error: "HTTP 500", Duration: 12 * time.Millisecond}, dead.AttemptLog[0])
		assert.Equal(t, store.DeliveryDelivered, states[a2].State)
		assert.Equal(t, 204, states[a2].LastStatusCode)
		require.NotNil(t, states[a2].DeliveredAt)

		deadOnly, _, err := s.ListWebhookDeliveries(ctx, "m_a", all.ID, store.DeliveryFilter{State: store.DeliveryDead})
		require.NoError(t, err)
		require.Len(t, deadOnly, 1)
		assert.Equal(t, a1, deadOnly[0].EventID)
		_, _, err = s.ListWebhookDeliveries(ctx, "m_a", all.ID, store.DeliveryFilter{State: "lost"})
		assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))

		page, next, err := s.ListWebhookDeliveries(ctx, "m_a", all.ID, store.DeliveryFilter{Limit: 3})
		require.NoError(t, err)
		require.Len(t, page, 3)
		require.NotEmpty(t, next)
		rest, next, err := s.ListWebhookDeliveries(ctx, "m_a", all.ID, store.DeliveryFilter{Limit: 3, Cursor: next})
		require.NoError(t, err)
		require.Len(t, rest, 1)
		assert.Empty(t, next)
		assert.NotContains(t, []string{page[0].ID, page[1].ID, page[2].ID}, rest[0].ID)
	})
}

func TestRotatedSecretSignsDuringTheOverlap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		addMerchants(t, s, "m_a")
		ep, oldSecret := createEndpoint(t, s, "m_a")
		_, newSecret, err := s.RotateWebhookSecret(ctx, "m_a", ep.ID, time.Hour)
		require.NoError(t, err)
		appendEvent(t, s, "m_a", "o_1", 1, logistics.EventOrderStageChanged)
		appendEvent(t, s, "m_a", "o_2", 1, logistics.EventOrderStageChanged)
		now := time.Now()
		_, err = s.FanOutEvents(ctx, now, 10)
		require.NoError(t, err)

		jobs, err := s.ClaimWebhookDeliveries(ctx, now, time.Minute, 1)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		assert.Equal(t, []string{newSecret, oldSecret}, jobs[0].Secrets)

		jobs, err = s.ClaimWebhookDeliveries(ctx, now.Add(2*time.Hour), time.Minute, 1)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		assert.Equal(t, []string{newSecret}, jobs[0].Secrets, "the old secret expired")
	})
}

func TestFailingEndpointIsDisabledAndEnabledAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		addMerchants(t, s, "m_a")
		ep, _ := createEndpoint(t, s, "m_a")
		appendEvent(t, s, "m_a", "o_1", 1, logistics.EventOrderStageChanged)
		now := time.Now()
		_, err := s.FanOutEvents(ctx, now, 10)
		require.NoError(t, err)

		fail := func(at, cutoff time.Time) bool {
			t.Helper()
			jobs, err := s.ClaimWebhookDeliveries(ctx, at, time.Minute, 10)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			disabled, err := s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: jobs[0].DeliveryID,
				LeaseToken: jobs[0].LeaseToken, EndpointID: ep.ID, Number: jobs[0].Attempt, At: at, StatusCode: 503,
				Failures: jobs[0].Failures + 1, NextAttemptAt: at, DisableIfFailingSince: cutoff, DisableReason: "failing for 72h"})
			require.NoError(t, err)
			return disabled
		}
		assert.False(t, fail(now, now.Add(-72*time.Hour)), "the streak starts now")
		assert.False(t, fail(now.Add(71*time.Hour), now.Add(-time.Hour)))
		assert.True(t, fail(now.Add(72*time.Hour), now), "failing since now, 72h ago")

		got, err := s.GetWebhookEndpoint(ctx, "m_a", ep.ID)
		require.NoError(t, err)
		assert.False(t, got.Enabled)
		assert.Equal(t, "failing for 72h", got.DisabledReason)
		require.NotNil(t, got.DisabledAt)

		jobs, err := s.ClaimWebhookDeliveries(ctx, now.Add(100*time.Hour), time.Minute, 10)
		require.NoError(t, err)
		assert.Empty(t, jobs, "a disabled endpoint gets nothing")
		appendEvent(t, s, "m_a", "o_2", 1, logistics.EventOrderStageChanged)
		res, err := s.FanOutEvents(ctx, now, 10)
		require.NoError(t, err)
		assert.Equal(t, store.FanOutResult{Events: 1}, res, "events are not fanned out to a disabled endpoint")

		list, _, err := s.ListWebhookDeliveries(ctx, "m_a", ep.ID, store.DeliveryFilter{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		_, err = s.RedeliverWebhook(ctx, "m_a", ep.ID, list[0].ID)
		assert.Equal(t, logistics.CodeConflict, logistics.ErrorCode(err), "no redelivery to a disabled endpoint")

		enabled, err := s.EnableWebhookEndpoint(ctx, "m_a", ep.ID)
		require.NoError(t, err)
		assert.True(t, enabled.Enabled)
		assert.Empty(t, enabled.DisabledReason)
		assert.Nil(t, enabled.DisabledAt)
		again, err := s.EnableWebhookEndpoint(ctx, "m_a", ep.ID)
		require.NoError(t, err)
		assert.Equal(t, enabled, again)

		jobs, err = s.ClaimWebhookDeliveries(ctx, time.Now(), time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, jobs, 1, "the held delivery is due again")
		assert.Equal(t, 0, jobs[0].Failures, "with a fresh schedule")
		assert.Equal(t, 4, jobs[0].Attempt)
		// A success ends the streak: the old failures no longer count.
		_, err = s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: jobs[0].DeliveryID, LeaseToken: jobs[0].LeaseToken,
			EndpointID: ep.ID, Number: jobs[0].Attempt, At: time.Now(), Delivered: true, StatusCode: 200})
		require.NoError(t, err)
	})
}

func TestRedeliver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		addMerchants(t, s, "m_a", "m_b")
		ep, _ := createEndpoint(t, s, "m_a")
		other, _ := createEndpoint(t, s, "m_b")
		id := appendEvent(t, s, "m_a", "o_1", 1, logistics.EventOrderStageChanged)
		now := time.Now()
		_, err := s.FanOutEvents(ctx, now, 10)
		require.NoError(t, err)
		jobs, err := s.ClaimWebhookDeliveries(ctx, now, time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, jobs, 1)

		_, err = s.RedeliverWebhook(ctx, "m_a", ep.ID, jobs[0].DeliveryID)
		assert.Equal(t, logistics.CodeConflict, logistics.ErrorCode(err), "not while an attempt holds the lease")

		_, err = s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: jobs[0].DeliveryID, LeaseToken: jobs[0].LeaseToken,
			EndpointID: ep.ID, Number: 1, At: now, Delivered: true, StatusCode: 200})
		require.NoError(t, err)

		_, err = s.RedeliverWebhook(ctx, "m_b", other.ID, jobs[0].DeliveryID)
		assert.ErrorIs(t, err, logistics.ErrNotFound, "a delivery of another endpoint")
		_, err = s.RedeliverWebhook(ctx, "m_b", ep.ID, jobs[0].DeliveryID)
		assert.ErrorIs(t, err, logistics.ErrNotFound, "an endpoint of another merchant")

		d, err := s.RedeliverWebhook(ctx, "m_a", ep.ID, jobs[0].DeliveryID)
		require.NoError(t, err)
		assert.Equal(t, store.DeliveryPending, d.State)
		assert.Nil(t, d.DeliveredAt)
		assert.Len(t, d.AttemptLog, 1)

		again, err := s.ClaimWebhookDeliveries(ctx, time.Now(), time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, again, 1)
		assert.Equal(t, id, again[0].Event.ID)
		assert.Equal(t, 2, again[0].Attempt)
	})
}

func TestDeletingAnEndpointDropsItsDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		addMerchants(t, s, "m_a")
		ep, _ := createEndpoint(t, s, "m_a")
		appendEvent(t, s, "m_a", "o_1", 1, logistics.EventOrderStageChanged)
		_, err := s.FanOutEvents(ctx, time.Now(), 10)
		require.NoError(t, err)
		jobs, err := s.ClaimWebhookDeliveries(ctx, time.Now(), time.Minute, 10)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		require.NoError(t, s.DeleteWebhookEndpoint(ctx, "m_a", ep.ID))
		_, err = s.RecordWebhookAttempt(ctx, store.AttemptRecord{DeliveryID: jobs[0].DeliveryID, LeaseToken: jobs[0].LeaseToken,
			EndpointID: ep.ID, Number: 1, At: time.Now(), Delivered: true})
		assert.ErrorIs(t, err, store.ErrLeaseLost)
	})
}

// TestConcurrentClaimsNeverOverlap runs several claimers at once: every
// delivery is claimed exactly once while the leases hold.
func TestConcurrentClaimsNeverOverlap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		addMerchants(t, s, "m_a")
		createEndpoint(t, s, "m_a")
		const orders = 40
		for i := range orders {
			appendEvent(t, s, "m_a", fmt.Sprintf("o_%d", i), 1, logistics.EventOrderStageChanged)
		}
		now := time.Now()
		_, err := s.FanOutEvents(ctx, now, 100)
		require.NoError(t, err)

		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					jobs, err := s.ClaimWebhookDeliveries(context.WithoutCancel(ctx), now, time.Minute, 3)
					if !assert.NoError(t, err) || len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						seen[j.DeliveryID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		assert.Len(t, seen, orders)
		for id, n := range seen {
			assert.Equal(t, 1, n, id)
		}
	})
}
