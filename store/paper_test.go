package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

func TestDocuments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		pdf := []byte("%PDF-1.4\x00\xff binary")
		d := store.Document{MerchantID: "m_1", OrderID: "o_1", TrackingNumber: "SL000000001", Kind: store.DocumentLabel,
			ContentType: "application/pdf", Content: pdf}
		require.NoError(t, s.SaveDocument(ctx, d))
		again := d
		again.Content = []byte("%PDF other")
		require.NoError(t, s.SaveDocument(ctx, again), "a retried save is not an error")

		got, err := s.GetDocument(ctx, "m_1", "SL000000001", store.DocumentLabel)
		require.NoError(t, err)
		assert.Equal(t, pdf, got.Content, "the first save stays, bytes intact")
		assert.Equal(t, "o_1", got.OrderID)

		_, err = s.GetDocument(ctx, "m_2", "SL000000001", store.DocumentLabel)
		assert.Equal(t, logistics.CodeNotFound, logistics.ErrorCode(err), "another merchant's document is missing")
		_, err = s.GetDocument(ctx, "m_1", "SL000000001", store.DocumentCustomsForm)
		assert.Equal(t, logistics.CodeNotFound, logistics.ErrorCode(err))
		assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(s.SaveDocument(ctx, store.Document{MerchantID: "m_1"})))
	})
}

func TestManifestEntries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		add := func(tn, day string) store.ManifestEntry {
			t.Helper()
			e, err := s.AddManifestEntry(ctx, store.ManifestEntry{Carrier: "sbx_local", Day: day, TrackingNumber: tn,
				MerchantID: "m_1", OrderID: "o_" + tn, Line: json.RawMessage(`{"TrackingNumber":"` + tn + `"}`)})
			require.NoError(t, err)
			return e
		}
		add("SL2", "2026-11-25")
		add("SL1", "2026-11-25")
		add("SL3", "2026-11-26")
		first := add("SL1", "2026-11-26")
		assert.Equal(t, "2026-11-25", first.Day, "a retry after the cut-off keeps the parcel on its first manifest")

		day, err := s.ManifestEntries(ctx, "sbx_local", "2026-11-25")
		require.NoError(t, err)
		require.Len(t, day, 2)
		assert.Equal(t, "SL1", day[0].TrackingNumber)
		assert.JSONEq(t, `{"TrackingNumber":"SL1"}`, string(day[0].Line))
		assert.Empty(t, day[0].SubmittedIn)

		require.NoError(t, s.MarkManifestSubmitted(ctx, "sbx_local", "sbx_local-2026-11-25-1.csv", []string{"SL1"}))
		require.NoError(t, s.MarkManifestSubmitted(ctx, "sbx_local", "sbx_local-2026-11-25-2.csv", []string{"SL1", "SL2"}))
		day, err = s.ManifestEntries(ctx, "sbx_local", "2026-11-25")
		require.NoError(t, err)
		assert.Equal(t, "sbx_local-2026-11-25-1.csv", day[0].SubmittedIn, "an entry keeps the first file that carried it")
		assert.Equal(t, "sbx_local-2026-11-25-2.csv", day[1].SubmittedIn)

		_, err = s.AddManifestEntry(ctx, store.ManifestEntry{Carrier: "sbx_local", TrackingNumber: "X", Day: "d", Line: json.RawMessage(`{`)})
		assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
	})
}
