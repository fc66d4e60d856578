package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

func TestOutboundEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 25, 6, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
		e := store.OutboundEvent{ID: "order/m_1/o_1/1", MerchantID: "m_1", OrderID: "o_1", Type: "order.stage_changed",
			Payload: json.RawMessage(`{"stage":"screening"}`), OccurredAt: at}
		inserted, err := s.AppendEvent(ctx, e)
		require.NoError(t, err)
		assert.True(t, inserted)
		again, err := s.AppendEvent(ctx, e)
		require.NoError(t, err)
		assert.False(t, again, "a retried append changes nothing")

		later := e
		later.ID, later.Type, later.OccurredAt = "order/m_1/o_1/2", "order.action_required", at.Add(time.Minute)
		later.Payload = json.RawMessage(`{"reason":"customs hold"}`)
		_, err = s.AppendEvent(ctx, later)
		require.NoError(t, err)
		_, err = s.AppendEvent(ctx, store.OutboundEvent{ID: "x/1", MerchantID: "m_2", OrderID: "o_9", Type: "order.stage_changed",
			Payload: json.RawMessage(`{}`), OccurredAt: at})
		require.NoError(t, err)

		events, err := s.OrderEvents(ctx, "m_1", "o_1")
		require.NoError(t, err)
		require.Len(t, events, 2)
		assert.Equal(t, "order.stage_changed", events[0].Type)
		assert.Equal(t, "order.action_required", events[1].Type)
		assert.JSONEq(t, `{"reason":"customs hold"}`, string(events[1].Payload))
		assert.Equal(t, at.UTC().Truncate(time.Microsecond), events[0].OccurredAt)

		_, err = s.AppendEvent(ctx, store.OutboundEvent{ID: "bad", MerchantID: "m_1", OrderID: "o_1", Type: "t", Payload: json.RawMessage(`{`)})
		assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
	})
}
