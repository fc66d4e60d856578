package store_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

// base is a time with nanoseconds in a non-UTC zone: what the store keeps
// of it must come back as UTC at microsecond precision on both dialects.
var base = time.Date(2026, 11, 25, 14, 0, 0, 123456789, time.FixedZone("CST", 8*3600))

// stored is what the store keeps of t.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func testOrder(merchantID, orderID string) logistics.Order {
	return logistics.Order{
		MerchantID:   merchantID,
		OrderID:      orderID,
		WarehouseID:  "wh_szx",
		ServiceLevel: logistics.ServiceStandard,
		Incoterm:     logistics.IncotermDDP,
		ShipTo: logistics.Address{Name: "Ada Lovelace", Line1: "12 Example Street", City: "London",
			PostalCode: "N1 9GU", Country: "GB", Phone: "+447700900123", Email: "ada@example.com"},
		Items: []logistics.Item{{SKU: "TSHIRT-RED-M", Description: "Cotton T-shirt", Quantity: 2,
			UnitPrice: logistics.Money{Amount: decimal.RequireFromString("12.50"), Currency: "GBP"},
			HSCode:    "610910", OriginCountry: "CN", WeightGrams: 180, DangerousGoods: logistics.DGNone}},
		TaxIDs:      logistics.TaxIDs{UKVAT: "GB123456789"},
		Marketplace: "tiktok_shop",
	}
}

func orderRecord(merchantID, orderID string, version int64, stage logistics.Stage, at time.Time) store.OrderRecord {
	return store.OrderRecord{
		MerchantID: merchantID,
		OrderID:    orderID,
		WorkflowID: logistics.OrderWorkflowID(merchantID, orderID),
		Order:      testOrder(merchantID, orderID),
		Stage:      stage,
		Version:    version,
		At:         at,
	}
}

func testShipment(merchantID, orderID string, n int, at time.Time) logistics.Shipment {
	eta := at.Add(72 * time.Hour)
	tn := fmt.Sprintf("SBX-%s-%s-%d", merchantID, orderID, n)
	return logistics.Shipment{
		MerchantID:        merchantID,
		OrderID:           orderID,
		Number:            n,
		Carrier:           "sbx_express",
		Service:           "express",
		TrackingNumber:    tn,
		LabelURL:          "http://127.0.0.1:8090/labels/" + tn + ".pdf",
		Status:            logistics.StatusInTransit,
		Phase:             logistics.PhaseLineHaul,
		Origin:            "CN",
		Destination:       "GB",
		EstimatedDelivery: &eta,
		Parcel:            logistics.Parcel{WeightGrams: 400, LengthMM: 300, WidthMM: 200, HeightMM: 100},
		Legs: []logistics.Leg{{Sequence: 1, Kind: logistics.LegDoorToDoor, Carrier: "sbx_express",
			Service: "express", TrackingNumber: tn, Status: logistics.StatusInTransit}},
		UpdatedAt: at,
	}
}

// normalised is sh as the store returns it.
func normalised(sh logistics.Shipment) logistics.Shipment {
	sh.UpdatedAt = stored(sh.UpdatedAt)
	if sh.EstimatedDelivery != nil {
		eta := stored(*sh.EstimatedDelivery)
		sh.EstimatedDelivery = &eta
	}
	if sh.Legs == nil {
		sh.Legs = []logistics.Leg{}
	}
	return sh
}

func testEvent(tn, code string, status logistics.Status, at time.Time, city string) logistics.TrackingEvent {
	return logistics.TrackingEvent{
		Status: status, Phase: logistics.PhaseLineHaul, Substatus: string(status) + ".test", Reason: "reason " + code,
		ResponsibleParty: logistics.PartyCarrier, ActionRequired: code == "X9", OccurredAt: at,
		Location: logistics.Location{City: city, Country: "NL"}, Carrier: "sbx_express", TrackingNumber: tn,
		RawCode: code, RawDescription: "description " + code, Source: logistics.SourceWebhook,
	}
}

func saveOrder(t *testing.T, s *store.Store, rec store.OrderRecord) {
	t.Helper()
	applied, err := s.SaveOrder(t.Context(), rec)
	require.NoError(t, err)
	require.True(t, applied)
}

func saveShipment(t *testing.T, s *store.Store, sh logistics.Shipment, version int64) {
	t.Helper()
	applied, err := s.SaveShipment(t.Context(), store.ShipmentRecord{Shipment: sh,
		WorkflowID: logistics.ShipmentWorkflowID(sh.MerchantID, sh.OrderID, sh.Number), Version: version})
	require.NoError(t, err)
	require.True(t, applied)
}

func requireNotFound(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, logistics.CodeNotFound, logistics.ErrorCode(err), "error: %v", err)
	assert.ErrorIs(t, err, logistics.ErrNotFound)
}

func requireInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	var appErr *logistics.Error
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, logistics.CodeInvalid, appErr.Code)
	var fields []string
	for _, d := range appErr.Details {
		fields = append(fields, d.Field)
	}
	assert.Contains(t, fields, field)
}

func assertSameJSON(t *testing.T, want, got any) {
	t.Helper()
	w, err := json.Marshal(want)
	require.NoError(t, err)
	g, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, string(w), string(g))
}

func TestOpen(t *testing.T) {
	t.Run("default is a SQLite file in the data directory, created on demand", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nested", "data")
		s, err := store.Open(t.Context(), "", dir)
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, s.Close()) })
		assert.Equal(t, store.DialectSQLite, s.Dialect())
		assert.FileExists(t, filepath.Join(dir, store.DefaultSQLiteFile))
		require.NoError(t, s.Ping(t.Context()))

		var status bytes.Buffer
		require.NoError(t, s.MigrationStatus(t.Context(), &status))
		assert.Contains(t, status.String(), "00001_init.sql")
		assert.Contains(t, status.String(), "pending")
	})
	t.Run("file: URL opens SQLite", func(t *testing.T) {
		s, err := store.Open(t.Context(), "file:"+filepath.Join(t.TempDir(), "x.db"), "")
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, s.Close()) })
		assert.Equal(t, store.DialectSQLite, s.Dialect())
		require.NoError(t, s.Migrate(t.Context()))
	})
	for _, tc := range []struct{ name, url, dataDir, want string }{
		{"unknown scheme", "mysql://root@127.0.0.1/crossdock", "", `unsupported database URL scheme "mysql"`},
		{"no scheme", "crossdock.db", "", "has no scheme"},
		{"sqlite URL without a path", "sqlite://", "", "no file path"},
		{"nothing at all", "", "", "no data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(t.Context(), tc.url, tc.dataDir)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestMigrations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		assert.Equal(t, t.Name()[strings.LastIndex(t.Name(), "/")+1:], s.Dialect())
		// storetest already migrated once; twice more must change nothing.
		require.NoError(t, s.Migrate(t.Context()))
		require.NoError(t, s.Migrate(t.Context()))

		var status bytes.Buffer
		require.NoError(t, s.MigrationStatus(t.Context(), &status))
		lines := strings.Split(strings.TrimSpace(status.String()), "\n")
		want := []string{"00001_init.sql", "00002_outbound_events.sql", "00003_tracking_recorded_by.sql",
			"00004_webhook_endpoints.sql", "00005_order_intakes.sql", "00006_documents_manifests.sql",
			"00007_tracking_handoffs.sql", "00008_tracking_handoffs_lz4.sql"}
		require.Len(t, lines, len(want), status.String())
		for i, line := range lines {
			fields := strings.Fields(line)
			require.Len(t, fields, 3, line)
			assert.Equal(t, want[i][:5], fields[0])
			assert.Equal(t, want[i], fields[1])
			applied, err := time.Parse(time.RFC3339, fields[2])
			require.NoError(t, err, "applied at should be a time, got %q", fields[2])
			assert.WithinDuration(t, time.Now(), applied, time.Hour)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	a, err := store.NewAPIKey()
	require.NoError(t, err)
	b, err := store.NewAPIKey()
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "cdk_"), a)
	assert.Len(t, a, len("cdk_")+52) // 32 bytes in unpadded base32
	assert.Equal(t, strings.ToLower(a), a)

	// SHA-256 test vector (FIPS 180-2).
	assert.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", store.HashAPIKey("abc"))
	_, err = hex.DecodeString(store.HashAPIKey(a))
	assert.NoError(t, err)
}

func TestMerchants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		key, err := store.NewAPIKey()
		require.NoError(t, err)
		acme := logistics.Merchant{ID: "m_acme", Name: "Acme", CreatedAt: base}
		require.NoError(t, s.CreateMerchant(ctx, acme, store.HashAPIKey(key)))

		got, err := s.GetMerchant(ctx, "m_acme")
		require.NoError(t, err)
		assert.Equal(t, logistics.Merchant{ID: "m_acme", Name: "Acme", CreatedAt: stored(base)}, got)

		byKey, err := s.MerchantByKeyHash(ctx, store.HashAPIKey(key))
		require.NoError(t, err)
		assert.Equal(t, got, byKey)

		t.Run("duplicate id is a conflict", func(t *testing.T) {
			err := s.CreateMerchant(ctx, logistics.Merchant{ID: "m_acme", Name: "Other"}, store.HashAPIKey("other"))
			assert.Equal(t, logistics.CodeConflict, logistics.ErrorCode(err), "error: %v", err)
		})
		t.Run("invalid id is refused", func(t *testing.T) {
			err := s.CreateMerchant(ctx, logistics.Merchant{ID: "bad id", Name: "x"}, store.HashAPIKey("x"))
			requireInvalidField(t, err, "merchant_id")
		})
		t.Run("unknown lookups are not found", func(t *testing.T) {
			_, err := s.GetMerchant(ctx, "m_missing")
			requireNotFound(t, err)
			_, err = s.MerchantByKeyHash(ctx, store.HashAPIKey("not a key"))
			requireNotFound(t, err)
			_, err = s.MerchantByKeyHash(ctx, "")
			requireNotFound(t, err)
		})
		t.Run("rotate replaces the key", func(t *testing.T) {
			newKey, err := store.NewAPIKey()
			require.NoError(t, err)
			require.NoError(t, s.RotateMerchantKey(ctx, "m_acme", store.HashAPIKey(newKey)))
			_, err = s.MerchantByKeyHash(ctx, store.HashAPIKey(key))
			requireNotFound(t, err)
			m, err := s.MerchantByKeyHash(ctx, store.HashAPIKey(newKey))
			require.NoError(t, err)
			assert.Equal(t, "m_acme", m.ID)
			assert.Equal(t, stored(base), m.CreatedAt, "rotation keeps created_at")

			requireNotFound(t, s.RotateMerchantKey(ctx, "m_missing", store.HashAPIKey(newKey+"x")))
		})
	})
}

func TestWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		_, found, err := s.FindWebhook(ctx, "orders", "msg_1")
		require.NoError(t, err)
		assert.False(t, found)

		rec := store.WebhookRecord{Source: "orders", ID: "msg_1", EventType: "order.created", MerchantID: "m_1",
			OrderID: "o_1", StatusCode: 202, Response: []byte(`{"stage":"received"}`), CreatedAt: base}
		first, inserted, err := s.RecordWebhook(ctx, rec)
		require.NoError(t, err)
		assert.True(t, inserted)
		want := rec
		want.CreatedAt = stored(base)
		assert.Equal(t, want, first)

		t.Run("a redelivery gets the first answer", func(t *testing.T) {
			again := rec
			again.StatusCode = 500
			again.Response = []byte(`{"error":"other"}`)
			got, inserted, err := s.RecordWebhook(ctx, again)
			require.NoError(t, err)
			assert.False(t, inserted)
			assert.Equal(t, want, got)

			found, ok, err := s.FindWebhook(ctx, "orders", "msg_1")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, want, found)
		})
		t.Run("the same id from another source is another webhook", func(t *testing.T) {
			other := rec
			other.Source = "carrier:sbx_express"
			other.Response = nil
			got, inserted, err := s.RecordWebhook(ctx, other)
			require.NoError(t, err)
			assert.True(t, inserted)
			assert.Empty(t, got.Response)
		})
		t.Run("concurrent deliveries: exactly one is inserted, all see its answer", func(t *testing.T) {
			const n = 8
			type result struct {
				rec      store.WebhookRecord
				inserted bool
				err      error
			}
			results := make([]result, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					r := store.WebhookRecord{Source: "warehouse:wh_szx", ID: "msg_race", EventType: "packed",
						StatusCode: 200 + i, Response: []byte(fmt.Sprintf(`{"attempt":%d}`, i))}
					got, ins, err := s.RecordWebhook(ctx, r)
					results[i] = result{got, ins, err}
				})
			}
			close(start)
			wg.Wait()
			insertedCount := 0
			var winner store.WebhookRecord
			for _, r := range results {
				require.NoError(t, r.err)
				if r.inserted {
					insertedCount++
					winner = r.rec
				}
			}
			require.Equal(t, 1, insertedCount)
			for _, r := range results {
				assert.Equal(t, winner.StatusCode, r.rec.StatusCode)
				assert.Equal(t, winner.Response, r.rec.Response)
			}
			stored, ok, err := s.FindWebhook(ctx, "warehouse:wh_szx", "msg_race")
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, winner.Response, stored.Response)
		})
		t.Run("source and id are required", func(t *testing.T) {
			_, _, err := s.RecordWebhook(ctx, store.WebhookRecord{Source: "orders"})
			assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
		})
	})
}

func TestOrderIntake(t *testing.T) {
	const lease = 2 * time.Minute
	claim := func(merchantID, orderID, webhookID, claim string, at time.Time) store.OrderIntakeClaim {
		return store.OrderIntakeClaim{MerchantID: merchantID, OrderID: orderID, WebhookID: webhookID, Claim: claim, At: at, Lease: lease}
	}
	decide := func(t *testing.T, s *store.Store, c store.OrderIntakeClaim) store.IntakeDecision {
		t.Helper()
		d, err := s.ClaimOrderIntake(t.Context(), c)
		require.NoError(t, err)
		return d
	}
	record := func(t *testing.T, s *store.Store, webhookID, merchantID, orderID string, status int) {
		t.Helper()
		_, inserted, err := s.RecordWebhook(t.Context(), store.WebhookRecord{Source: store.WebhookSourceOrders, ID: webhookID,
			EventType: logistics.SignalOrderCreated, MerchantID: merchantID, OrderID: orderID, StatusCode: status, Response: []byte("{}")})
		require.NoError(t, err)
		require.True(t, inserted)
	}
	first := func(webhookID string) store.IntakeDecision {
		return store.IntakeDecision{Outcome: store.IntakeFirst, WebhookID: webhookID}
	}
	pending := func(webhookID string) store.IntakeDecision {
		return store.IntakeDecision{Outcome: store.IntakePending, WebhookID: webhookID}
	}
	duplicate := func(webhookID string) store.IntakeDecision {
		return store.IntakeDecision{Outcome: store.IntakeDuplicate, WebhookID: webhookID}
	}

	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("the first delivery holds the intake until it answers", func(t *testing.T) {
			assert.Equal(t, first("w1"), decide(t, s, claim("m_1", "o_1", "w1", "c1", base)))
			assert.Equal(t, first("w1"), decide(t, s, claim("m_1", "o_1", "w1", "c1", base)), "the holder asking again")
			assert.Equal(t, pending("w1"), decide(t, s, claim("m_1", "o_1", "w2", "c2", base)), "another webhook-id")
			assert.Equal(t, pending("w1"), decide(t, s, claim("m_1", "o_1", "w1", "c3", base)), "the same webhook-id, another delivery")
			assert.Equal(t, first("w9"), decide(t, s, claim("m_2", "o_1", "w9", "c9", base)), "another merchant's order of the same id")

			record(t, s, "w1", "m_1", "o_1", 202)
			assert.Equal(t, duplicate("w1"), decide(t, s, claim("m_1", "o_1", "w2", "c2", base)))
			assert.Equal(t, duplicate("w1"), decide(t, s, claim("m_1", "o_1", "w1", "c3", base)))
			assert.Equal(t, duplicate("w1"), decide(t, s, claim("m_1", "o_1", "w3", "c4", base.Add(time.Hour))), "a completed intake never expires")

			require.NoError(t, s.ReleaseOrderIntake(t.Context(), "m_1", "o_1", "c1"))
			assert.Equal(t, duplicate("w1"), decide(t, s, claim("m_1", "o_1", "w2", "c2", base)), "a completed intake cannot be released")
		})
		t.Run("a failed holder releases and the next delivery starts the order", func(t *testing.T) {
			assert.Equal(t, first("rw1"), decide(t, s, claim("m_1", "o_2", "rw1", "c1", base)))
			require.NoError(t, s.ReleaseOrderIntake(t.Context(), "m_1", "o_2", "c-other"))
			assert.Equal(t, pending("rw1"), decide(t, s, claim("m_1", "o_2", "rw2", "c2", base)), "only the holder's claim releases")
			require.NoError(t, s.ReleaseOrderIntake(t.Context(), "m_1", "o_2", "c1"))
			require.NoError(t, s.ReleaseOrderIntake(t.Context(), "m_1", "o_2", "c1"), "idempotent")
			assert.Equal(t, first("rw2"), decide(t, s, claim("m_1", "o_2", "rw2", "c2", base)))
		})
		t.Run("a recorded refusal does not complete the intake", func(t *testing.T) {
			assert.Equal(t, first("xw1"), decide(t, s, claim("m_1", "o_3", "xw1", "c1", base)))
			record(t, s, "xw1", "m_1", "o_3", 409)
			assert.Equal(t, pending("xw1"), decide(t, s, claim("m_1", "o_3", "xw2", "c2", base)))
		})
		t.Run("a claim that outlives its lease unanswered is taken over", func(t *testing.T) {
			assert.Equal(t, first("lw1"), decide(t, s, claim("m_1", "o_4", "lw1", "c1", base)))
			assert.Equal(t, pending("lw1"), decide(t, s, claim("m_1", "o_4", "lw2", "c2", base.Add(lease-time.Second))))
			tookOver := first("lw2")
			tookOver.TookOver = true
			assert.Equal(t, tookOver, decide(t, s, claim("m_1", "o_4", "lw2", "c2", base.Add(lease))), "taken over, and said so")
			assert.Equal(t, pending("lw2"), decide(t, s, claim("m_1", "o_4", "lw1", "c1", base.Add(lease))), "the old holder lost it")
			require.NoError(t, s.ReleaseOrderIntake(t.Context(), "m_1", "o_4", "c1"))
			record(t, s, "lw2", "m_1", "o_4", 202)
			assert.Equal(t, duplicate("lw2"), decide(t, s, claim("m_1", "o_4", "lw1", "c1", base.Add(lease))))
		})
		t.Run("concurrent deliveries: exactly one holds the intake", func(t *testing.T) {
			const n = 12
			decisions := make([]store.IntakeDecision, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					decisions[i], errs[i] = s.ClaimOrderIntake(t.Context(),
						claim("m_1", "o_race", fmt.Sprintf("race-w%d", i%3), fmt.Sprintf("c%d", i), base))
				})
			}
			close(start)
			wg.Wait()
			var firsts []store.IntakeDecision
			for i := range n {
				require.NoError(t, errs[i])
				if decisions[i].Outcome == store.IntakeFirst {
					firsts = append(firsts, decisions[i])
				}
			}
			require.Len(t, firsts, 1, "%v", decisions)
			for i := range n {
				if decisions[i].Outcome != store.IntakeFirst {
					assert.Equal(t, pending(firsts[0].WebhookID), decisions[i])
				}
			}
		})
		t.Run("a claim needs all its parts", func(t *testing.T) {
			for _, c := range []store.OrderIntakeClaim{
				claim("", "o", "w", "c", base), claim("m", "", "w", "c", base), claim("m", "o", "", "c", base),
				claim("m", "o", "w", "", base), claim("m", "o", "w", "c", time.Time{}),
				{MerchantID: "m", OrderID: "o", WebhookID: "w", Claim: "c", At: base},
			} {
				_, err := s.ClaimOrderIntake(t.Context(), c)
				assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err), "%+v", c)
			}
		})
	})
}

// TestOrderIntakeMigration checks 00005's backfill: an order accepted before
// order_intakes existed keeps its first accepted delivery as the holder, so a
// later duplicate is still told so; anything else starts afresh.
func TestOrderIntakeMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		require.NoError(t, s.MigrateDownTo(ctx, 3))
		record := func(source, id, eventType, orderID string, status int, at time.Time) {
			_, inserted, err := s.RecordWebhook(ctx, store.WebhookRecord{Source: source, ID: id, EventType: eventType,
				MerchantID: "m_1", OrderID: orderID, StatusCode: status, Response: []byte("{}"), CreatedAt: at})
			require.NoError(t, err)
			require.True(t, inserted)
		}
		record("orders", "w_dup", "order.created", "o_1", 200, base.Add(time.Minute)) // the duplicate, recorded later
		record("orders", "w_first", "order.created", "o_1", 202, base)
		record("orders", "w_refused", "order.created", "o_2", 422, base)
		record("orders", "w_cancel", "order.cancelled", "o_3", 202, base)
		record("carrier:sbx_express", "w_other", "order.created", "o_4", 202, base)
		require.NoError(t, s.Migrate(ctx))

		for _, tc := range []struct {
			orderID string
			want    store.IntakeDecision
		}{
			{"o_1", store.IntakeDecision{Outcome: store.IntakeDuplicate, WebhookID: "w_first"}},
			{"o_2", store.IntakeDecision{Outcome: store.IntakeFirst, WebhookID: "w_new"}},
			{"o_3", store.IntakeDecision{Outcome: store.IntakeFirst, WebhookID: "w_new"}},
			{"o_4", store.IntakeDecision{Outcome: store.IntakeFirst, WebhookID: "w_new"}},
		} {
			got, err := s.ClaimOrderIntake(ctx, store.OrderIntakeClaim{MerchantID: "m_1", OrderID: tc.orderID,
				WebhookID: "w_new", Claim: "c_new", At: base.Add(time.Hour), Lease: time.Minute})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got, tc.orderID)
		}
	})
}

func TestSaveOrderIsMonotonic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		saveOrder(t, s, orderRecord("m_1", "o_1", 1, logistics.StageReceived, base))

		applied, err := s.SaveOrder(ctx, orderRecord("m_1", "o_1", 1, logistics.StagePicking, base.Add(time.Minute)))
		require.NoError(t, err)
		assert.False(t, applied, "same version again is ignored")

		later := orderRecord("m_1", "o_1", 3, logistics.StageBooking, base.Add(2*time.Minute))
		later.Stuck, later.StuckReason, later.ActionRequired = true, "carrier booking failed: 422", true
		later.Order.ShipTo.Country = "DE"
		saveOrder(t, s, later)

		applied, err = s.SaveOrder(ctx, orderRecord("m_1", "o_1", 2, logistics.StagePicking, base.Add(3*time.Minute)))
		require.NoError(t, err)
		assert.False(t, applied, "an older version arriving late is ignored")

		v, err := s.GetOrder(ctx, "m_1", "o_1")
		require.NoError(t, err)
		assert.Equal(t, logistics.StageBooking, v.Stage)
		assert.True(t, v.Stuck)
		assert.Equal(t, "carrier booking failed: 422", v.StuckReason)
		assert.True(t, v.ActionRequired)
		assert.Equal(t, "order/m_1/o_1", v.WorkflowID)
		assert.Equal(t, stored(base), v.CreatedAt, "created_at is the first write's")
		assert.Equal(t, stored(base.Add(2*time.Minute)), v.UpdatedAt)
		assertSameJSON(t, later.Order, v.Order)
		assert.Empty(t, v.Shipments)
		assert.NotNil(t, v.Shipments, "no shipments is an empty list")
		assert.Nil(t, v.Customs)

		_, err = s.SaveOrder(ctx, store.OrderRecord{OrderID: "o_1", Version: 1})
		assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
	})
}

func TestSaveShipmentIsMonotonicAndReplacesLegs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		saveOrder(t, s, orderRecord("m_1", "o_1", 1, logistics.StageBooking, base))
		v1 := testShipment("m_1", "o_1", 1, base)
		saveShipment(t, s, v1, 1)

		v2 := testShipment("m_1", "o_1", 1, base.Add(time.Hour))
		v2.Status, v2.Phase = logistics.StatusOutForDelivery, logistics.PhaseLastMile
		v2.EstimatedDelivery = nil
		v2.Legs = []logistics.Leg{
			{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", Service: "parcel", TrackingNumber: "POST-1", Status: logistics.StatusOutForDelivery},
			{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", Service: "consol", TrackingNumber: "CONSOL-1", Status: logistics.StatusDelivered},
		}
		saveShipment(t, s, v2, 2)

		late := v1
		late.Legs = nil
		applied, err := s.SaveShipment(ctx, store.ShipmentRecord{Shipment: late, WorkflowID: "shipment/m_1/o_1/1", Version: 2})
		require.NoError(t, err)
		assert.False(t, applied, "an equal version is ignored")
		applied, err = s.SaveShipment(ctx, store.ShipmentRecord{Shipment: late, WorkflowID: "shipment/m_1/o_1/1", Version: 1})
		require.NoError(t, err)
		assert.False(t, applied, "an older version is ignored, legs included")

		v, err := s.GetOrder(ctx, "m_1", "o_1")
		require.NoError(t, err)
		require.Len(t, v.Shipments, 1)
		want := normalised(v2)
		want.Legs = []logistics.Leg{v2.Legs[1], v2.Legs[0]} // by sequence
		assert.Equal(t, want, v.Shipments[0])

		v3 := v2
		v3.Legs = nil
		v3.UpdatedAt = base.Add(2 * time.Hour)
		saveShipment(t, s, v3, 3)
		v, err = s.GetOrder(ctx, "m_1", "o_1")
		require.NoError(t, err)
		require.Len(t, v.Shipments, 1)
		assert.Empty(t, v.Shipments[0].Legs, "a newer version without legs removes them")
	})
}

func TestTrackingEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		saveOrder(t, s, orderRecord("m_1", "o_1", 1, logistics.StageLineHaul, base))
		saveShipment(t, s, testShipment("m_1", "o_1", 1, base), 1)
		tn := "SBX-m_1-o_1-1"

		pickedUp := testEvent(tn, "A1", logistics.StatusPickedUp, base, "Shenzhen")
		departed := testEvent(tn, "B2", logistics.StatusInTransit, base.Add(time.Hour), "Hong Kong")
		sameTimeOtherCode := testEvent(tn, "C3", logistics.StatusInTransit, base.Add(time.Hour), "Hong Kong")
		arrived := testEvent(tn, "X9", logistics.StatusException, base.Add(5*time.Hour), "Amsterdam")
		// A scan entered by ops keeps who entered it.
		arrived.Source, arrived.RecordedBy = logistics.SourceManual, "ops@example.com"

		// Out of order, with a duplicate inside the batch.
		n, err := s.AddTrackingEvents(ctx, "m_1", "o_1", 1, []logistics.TrackingEvent{arrived, departed, pickedUp, departed})
		require.NoError(t, err)
		assert.Equal(t, 3, n)

		// A redelivery with one new event; the copy differs only in
		// fields outside the dedup key and in its time zone.
		dup := pickedUp
		dup.RawDescription = "re-sent"
		dup.OccurredAt = pickedUp.OccurredAt.In(time.UTC)
		n, err = s.AddTrackingEvents(ctx, "m_1", "o_1", 1, []logistics.TrackingEvent{dup, arrived, sameTimeOtherCode})
		require.NoError(t, err)
		assert.Equal(t, 1, n)

		n, err = s.AddTrackingEvents(ctx, "m_1", "o_1", 1, nil)
		require.NoError(t, err)
		assert.Zero(t, n)

		events, err := s.OrderTracking(ctx, "m_1", "o_1")
		require.NoError(t, err)
		var want []logistics.TrackingEvent
		for _, e := range []logistics.TrackingEvent{pickedUp, departed, sameTimeOtherCode, arrived} {
			e.OccurredAt = stored(e.OccurredAt)
			want = append(want, e)
		}
		assert.Equal(t, want, events, "oldest first, ties in arrival order")
		require.Len(t, events, 4)
		assert.Equal(t, "ops@example.com", events[3].RecordedBy)
		assert.Equal(t, logistics.SourceManual, events[3].Source)
		assert.Empty(t, events[0].RecordedBy, "carrier events have no recorder")

		t.Run("many events in one call", func(t *testing.T) {
			var batch []logistics.TrackingEvent
			for i := range 450 {
				batch = append(batch, testEvent(tn, fmt.Sprintf("S%03d", i), logistics.StatusInTransit, base.Add(time.Duration(i)*time.Second), "Sea"))
			}
			n, err := s.AddTrackingEvents(ctx, "m_1", "o_1", 1, batch)
			require.NoError(t, err)
			assert.Equal(t, 450, n)
			n, err = s.AddTrackingEvents(ctx, "m_1", "o_1", 1, batch)
			require.NoError(t, err)
			assert.Zero(t, n)
		})

		t.Run("an order without events has an empty timeline", func(t *testing.T) {
			saveOrder(t, s, orderRecord("m_1", "o_quiet", 1, logistics.StageReceived, base))
			events, err := s.OrderTracking(ctx, "m_1", "o_quiet")
			require.NoError(t, err)
			assert.Empty(t, events)
		})
		t.Run("unknown order or another merchant's is not found", func(t *testing.T) {
			_, err := s.OrderTracking(ctx, "m_1", "o_missing")
			requireNotFound(t, err)
			_, err = s.OrderTracking(ctx, "m_2", "o_1")
			requireNotFound(t, err)
		})
	})
}

// TestOrderTrackingView: the order's stage, each shipment's standing by
// number and the events oldest first, from two queries; an order without
// shipments or events, and another merchant's order (not found, like a
// missing one).
func TestOrderTrackingView(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		saveOrder(t, s, orderRecord("m_1", "o_1", 1, logistics.StageLastMile, base))
		second := testShipment("m_1", "o_1", 2, base)
		second.Status, second.Phase = logistics.StatusOutForDelivery, logistics.PhaseLastMile
		saveShipment(t, s, second, 1)
		saveShipment(t, s, testShipment("m_1", "o_1", 1, base.Add(time.Minute)), 1)
		// The same order id at another merchant, with its own shipment.
		saveOrder(t, s, orderRecord("m_2", "o_1", 1, logistics.StagePicking, base))
		saveShipment(t, s, testShipment("m_2", "o_1", 1, base), 1)

		tn := testShipment("m_1", "o_1", 1, base).TrackingNumber
		late := testEvent(tn, "ARR", logistics.StatusInTransit, base.Add(2*time.Hour), "Amsterdam")
		late.RecordedBy, late.Source = "ops@example.com", logistics.SourceManual
		early := testEvent(tn, "DEP", logistics.StatusInTransit, base.Add(time.Hour+123456*time.Nanosecond), "Shenzhen")
		_, err := s.AddTrackingEvents(ctx, "m_1", "o_1", 1, []logistics.TrackingEvent{late, early})
		require.NoError(t, err)
		_, err = s.AddTrackingEvents(ctx, "m_2", "o_1", 1, []logistics.TrackingEvent{testEvent(tn, "OTHER", logistics.StatusInTransit, base, "Paris")})
		require.NoError(t, err)

		v, err := s.OrderTrackingView(ctx, "m_1", "o_1")
		require.NoError(t, err)
		assert.Equal(t, logistics.StageLastMile, v.Stage)
		assert.Equal(t, []store.ShipmentStanding{
			{Number: 1, Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul},
			{Number: 2, Status: logistics.StatusOutForDelivery, Phase: logistics.PhaseLastMile},
		}, v.Shipments, "by number")
		early.OccurredAt, late.OccurredAt = stored(early.OccurredAt), stored(late.OccurredAt)
		assert.Equal(t, []logistics.TrackingEvent{early, late}, v.Events, "oldest first, every field, in UTC")
		assert.Equal(t, time.UTC, v.Events[0].OccurredAt.Location())

		other, err := s.OrderTrackingView(ctx, "m_2", "o_1")
		require.NoError(t, err)
		assert.Equal(t, logistics.StagePicking, other.Stage)
		require.Len(t, other.Events, 1)
		assert.Equal(t, "OTHER", other.Events[0].RawCode)

		t.Run("an order without shipments or events", func(t *testing.T) {
			saveOrder(t, s, orderRecord("m_1", "o_new", 1, logistics.StageReceived, base))
			v, err := s.OrderTrackingView(ctx, "m_1", "o_new")
			require.NoError(t, err)
			assert.Equal(t, logistics.StageReceived, v.Stage)
			assert.Empty(t, v.Shipments)
			assert.NotNil(t, v.Events)
			assert.Empty(t, v.Events)
		})
		t.Run("a missing order or another merchant's is not found", func(t *testing.T) {
			_, err := s.OrderTrackingView(ctx, "m_1", "o_missing")
			requireNotFound(t, err)
			_, err = s.OrderTrackingView(ctx, "m_3", "o_1")
			requireNotFound(t, err)
			_, err = s.OrderTrackingView(ctx, "m_2", "o_new")
			requireNotFound(t, err)
		})
	})
}

func TestGetOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		rec := orderRecord("m_1", "o_1", 4, logistics.StageCustoms, base)
		saveOrder(t, s, rec)

		second := testShipment("m_1", "o_1", 2, base.Add(time.Minute))
		second.TrackingNumber = "CONSOL-2"
		second.Legs = []logistics.Leg{
			{Sequence: 3, Kind: logistics.LegLastMile, Carrier: "sbx_local", TrackingNumber: "LOCAL-3", Status: logistics.StatusPending},
			{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", TrackingNumber: "CONSOL-2", Status: logistics.StatusDelivered},
			{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", TrackingNumber: "POST-2", Status: logistics.StatusInTransit},
		}
		first := testShipment("m_1", "o_1", 1, base)
		first.EstimatedDelivery = nil
		saveShipment(t, s, second, 1)
		saveShipment(t, s, first, 1)
		// Another order's shipment must not show up.
		saveOrder(t, s, orderRecord("m_1", "o_2", 1, logistics.StageBooking, base))
		saveShipment(t, s, testShipment("m_1", "o_2", 1, base), 1)

		decision := logistics.CustomsDecision{
			Regime: "uk_low_value", Incoterm: logistics.IncotermDDP, VATCollection: "checkout", DutyFree: true,
			DeclarationForm: "commercial_invoice",
			Duties:          logistics.Money{Amount: decimal.Zero, Currency: "GBP"},
			Taxes:           logistics.Money{Amount: decimal.RequireFromString("5.00"), Currency: "GBP"},
			Fees:            logistics.Money{Amount: decimal.Zero, Currency: "GBP"},
			Total:           logistics.Money{Amount: decimal.RequireFromString("5.00"), Currency: "GBP"},
			RulesAsOf:       "2026-11-25", Warnings: []string{"duty_rate_unknown"}, BlockReasons: []string{},
		}
		require.NoError(t, s.SaveCustomsDecision(ctx, "m_1", "o_1", decision, base.Add(time.Hour)))
		older := decision
		older.Regime = "uk_standard"
		require.NoError(t, s.SaveCustomsDecision(ctx, "m_1", "o_1", older, base), "an older decision is ignored, not an error")

		v, err := s.GetOrder(ctx, "m_1", "o_1")
		require.NoError(t, err)
		assert.Equal(t, "m_1", v.MerchantID)
		assert.Equal(t, "o_1", v.OrderID)
		assert.Equal(t, logistics.StageCustoms, v.Stage)
		assertSameJSON(t, rec.Order, v.Order)
		require.Len(t, v.Shipments, 2)
		assert.Equal(t, normalised(first), v.Shipments[0])
		wantSecond := normalised(second)
		wantSecond.Legs = []logistics.Leg{second.Legs[1], second.Legs[2], second.Legs[0]}
		assert.Equal(t, wantSecond, v.Shipments[1])
		require.NotNil(t, v.Customs)
		assertSameJSON(t, decision, *v.Customs)

		newer := decision
		newer.Blocked, newer.BlockReasons = true, []string{"denied_party"}
		require.NoError(t, s.SaveCustomsDecision(ctx, "m_1", "o_1", newer, base.Add(2*time.Hour)))
		v, err = s.GetOrder(ctx, "m_1", "o_1")
		require.NoError(t, err)
		require.NotNil(t, v.Customs)
		assertSameJSON(t, newer, *v.Customs)
	})
}

func TestMerchantScoping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		saveOrder(t, s, orderRecord("m_1", "o_1", 1, logistics.StageLineHaul, base))
		sh := testShipment("m_1", "o_1", 1, base)
		sh.TrackingNumber = "CONSOL-9"
		sh.Carrier = "sbx_consol"
		sh.Legs = []logistics.Leg{
			{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", TrackingNumber: "CONSOL-9", Status: logistics.StatusInTransit},
			{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", TrackingNumber: "POST-9", Status: logistics.StatusPending},
		}
		saveShipment(t, s, sh, 1)
		unbooked := testShipment("m_1", "o_1", 2, base)
		unbooked.TrackingNumber, unbooked.Legs = "", nil
		saveShipment(t, s, unbooked, 1)

		_, err := s.GetOrder(ctx, "m_2", "o_1")
		requireNotFound(t, err)
		_, err = s.GetOrder(ctx, "m_1", "o_missing")
		requireNotFound(t, err)

		for _, tn := range []string{"CONSOL-9", "POST-9"} {
			got, err := s.MerchantShipmentByTrackingNumber(ctx, "m_1", tn)
			require.NoError(t, err, tn)
			assert.Equal(t, normalised(sh), got, tn)

			_, err = s.MerchantShipmentByTrackingNumber(ctx, "m_2", tn)
			requireNotFound(t, err)
		}
		_, err = s.MerchantShipmentByTrackingNumber(ctx, "m_1", "NOPE")
		requireNotFound(t, err)
		_, err = s.MerchantShipmentByTrackingNumber(ctx, "m_1", "")
		requireNotFound(t, err)

		t.Run("carrier webhooks find the owner across merchants", func(t *testing.T) {
			ref, err := s.ShipmentByTrackingNumber(ctx, "CONSOL-9")
			require.NoError(t, err)
			assert.Equal(t, store.ShipmentRef{MerchantID: "m_1", OrderID: "o_1", Number: 1,
				WorkflowID: "shipment/m_1/o_1/1", Carrier: "sbx_consol", Status: logistics.StatusInTransit, Origin: "CN", Destination: "GB"}, ref)

			ref, err = s.ShipmentByTrackingNumber(ctx, "POST-9")
			require.NoError(t, err)
			assert.Equal(t, store.ShipmentRef{MerchantID: "m_1", OrderID: "o_1", Number: 1,
				WorkflowID: "shipment/m_1/o_1/1", Carrier: "sbx_post", Status: logistics.StatusInTransit, Origin: "CN", Destination: "GB"}, ref, "a leg's number names the leg's carrier")

			_, err = s.ShipmentByTrackingNumber(ctx, "NOPE")
			requireNotFound(t, err)
			_, err = s.ShipmentByTrackingNumber(ctx, "")
			requireNotFound(t, err) // an empty number never matches unbooked shipments
		})
	})
}

func TestListShipments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		statuses := []logistics.Status{logistics.StatusInTransit, logistics.StatusDelivered, logistics.StatusException}
		phases := []logistics.Phase{logistics.PhaseLineHaul, logistics.PhaseLastMile, logistics.PhaseImportCustoms}
		carriers := []string{"sbx_express", "sbx_post"}
		destinations := []string{"GB", "DE", "US", "AU"}

		var all []logistics.Shipment
		for i := range 60 {
			orderID := fmt.Sprintf("o_%02d", i/2)
			// Groups of three share an updated_at, so ties cross pages.
			sh := testShipment("m_1", orderID, i%2+1, base.Add(time.Duration(i/3)*time.Minute))
			sh.Status, sh.Phase = statuses[i%3], phases[i%3]
			sh.Carrier, sh.Destination = carriers[i%2], destinations[i%4]
			if i%5 == 0 {
				sh.Legs = nil
			}
			saveShipment(t, s, sh, 1)
			all = append(all, normalised(sh))
		}
		// Another merchant's shipment, newest of all, must never show.
		saveShipment(t, s, testShipment("m_2", "o_00", 1, base.Add(time.Hour)), 1)

		sort.Slice(all, func(i, j int) bool {
			a, b := all[i], all[j]
			if !a.UpdatedAt.Equal(b.UpdatedAt) {
				return a.UpdatedAt.After(b.UpdatedAt)
			}
			if a.OrderID != b.OrderID {
				return a.OrderID < b.OrderID
			}
			return a.Number < b.Number
		})
		filter := func(keep func(logistics.Shipment) bool) []logistics.Shipment {
			var out []logistics.Shipment
			for _, sh := range all {
				if keep(sh) {
					out = append(out, sh)
				}
			}
			return out
		}
		after := stored(base.Add(12 * time.Minute))

		for _, tc := range []struct {
			name   string
			filter store.ShipmentFilter
			want   []logistics.Shipment
		}{
			{"all", store.ShipmentFilter{}, all},
			{"status", store.ShipmentFilter{Status: logistics.StatusDelivered},
				filter(func(sh logistics.Shipment) bool { return sh.Status == logistics.StatusDelivered })},
			{"phase", store.ShipmentFilter{Phase: logistics.PhaseImportCustoms},
				filter(func(sh logistics.Shipment) bool { return sh.Phase == logistics.PhaseImportCustoms })},
			{"carrier", store.ShipmentFilter{Carrier: "sbx_post"},
				filter(func(sh logistics.Shipment) bool { return sh.Carrier == "sbx_post" })},
			{"destination", store.ShipmentFilter{Destination: "DE"},
				filter(func(sh logistics.Shipment) bool { return sh.Destination == "DE" })},
			{"updated after", store.ShipmentFilter{UpdatedAfter: &after},
				filter(func(sh logistics.Shipment) bool { return sh.UpdatedAt.After(after) })},
			{"combined", store.ShipmentFilter{Carrier: "sbx_express", Destination: "US", Status: logistics.StatusInTransit},
				filter(func(sh logistics.Shipment) bool {
					return sh.Carrier == "sbx_express" && sh.Destination == "US" && sh.Status == logistics.StatusInTransit
				})},
			{"nothing matches", store.ShipmentFilter{Carrier: "sbx_local"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, limit := range []int{7, 200} {
					f := tc.filter
					f.Limit = limit
					var got []logistics.Shipment
					pages := 0
					for {
						items, next, err := s.ListShipments(ctx, "m_1", f)
						require.NoError(t, err)
						require.LessOrEqual(t, len(items), limit)
						pages++
						got = append(got, items...)
						if next == "" {
							break
						}
						require.Len(t, items, limit, "only the last page may be short")
						require.Less(t, pages, 100, "paging does not end")
						f.Cursor = next
					}
					assert.Equal(t, len(tc.want), len(got), "limit %d", limit)
					if len(tc.want) > 0 {
						assert.Equal(t, tc.want, got, "limit %d: every shipment once, in order", limit)
					}
				}
			})
		}

		t.Run("limit is clamped and defaults to 50", func(t *testing.T) {
			items, next, err := s.ListShipments(ctx, "m_1", store.ShipmentFilter{})
			require.NoError(t, err)
			assert.Len(t, items, 50)
			assert.NotEmpty(t, next)
			items, next, err = s.ListShipments(ctx, "m_1", store.ShipmentFilter{Limit: 1000})
			require.NoError(t, err)
			assert.Len(t, items, 60)
			assert.Empty(t, next)
			items, _, err = s.ListShipments(ctx, "m_1", store.ShipmentFilter{Limit: -3})
			require.NoError(t, err)
			assert.Len(t, items, 50)
		})
		t.Run("a page ending exactly at the end has no next cursor", func(t *testing.T) {
			items, next, err := s.ListShipments(ctx, "m_1", store.ShipmentFilter{Limit: 60})
			require.NoError(t, err)
			assert.Len(t, items, 60)
			assert.Empty(t, next)
		})
		t.Run("bad cursors and words are invalid", func(t *testing.T) {
			stuck, _, err := s.ListStuckOrders(ctx, 1, "")
			require.NoError(t, err)
			assert.Empty(t, stuck)
			for _, c := range []string{"not base64!", "e30", "bm9wZQ", `eyJrIjoibyIsInUiOiIyMDI2LTExLTI1VDA2OjAwOjAwWiIsIm0iOiJtXzEiLCJvIjoib18xIn0`,
				`eyJrIjoicyIsInUiOiIyMDI2LTExLTI1VDA2OjAwOjAwWiIsIm8iOiJvXzFcdTAwMDAifQ`, // a shipments cursor whose order id holds a NUL: tampered, refused before the database
			} {
				_, _, err := s.ListShipments(ctx, "m_1", store.ShipmentFilter{Cursor: c})
				requireInvalidField(t, err, "cursor")
			}
			_, _, err = s.ListShipments(ctx, "m_1", store.ShipmentFilter{Status: "lost"})
			requireInvalidField(t, err, "status")
			_, _, err = s.ListShipments(ctx, "m_1", store.ShipmentFilter{Phase: "space"})
			requireInvalidField(t, err, "phase")
		})
		t.Run("another merchant sees only its own", func(t *testing.T) {
			items, next, err := s.ListShipments(ctx, "m_2", store.ShipmentFilter{})
			require.NoError(t, err)
			require.Len(t, items, 1)
			assert.Equal(t, "m_2", items[0].MerchantID)
			assert.Empty(t, next)

			_, cursor, err := s.ListShipments(ctx, "m_1", store.ShipmentFilter{Limit: 1})
			require.NoError(t, err)
			require.NotEmpty(t, cursor)
			_, _, err = s.ListShipments(ctx, "m_2", store.ShipmentFilter{Cursor: cursor})
			requireInvalidField(t, err, "cursor")
		})
	})
}

// TestListShipmentsWhileWriting walks a merchant's shipments page by page
// while they are written to, as a syncing client does: no shipment ever
// shows twice, every shipment that existed at the start and was not updated
// shows exactly once, and one updated during the walk (so moved ahead of
// the pages read) shows when listed with updated_after the walk's start.
func TestListShipmentsWhileWriting(t *testing.T) {
	type key struct {
		orderID string
		number  int
	}
	// seed writes 40 shipments of merchantID, four to a timestamp so ties
	// cross page boundaries, and returns their keys.
	seed := func(t *testing.T, s *store.Store, merchantID string) map[key]bool {
		existing := map[key]bool{}
		for i := range 40 {
			sh := testShipment(merchantID, fmt.Sprintf("o_%02d", i), i%2+1, base.Add(time.Duration(i/4)*time.Minute))
			saveShipment(t, s, sh, 1)
			existing[key{sh.OrderID, sh.Number}] = true
		}
		return existing
	}
	// walk pages through everything of merchantID with limit 7, calling
	// between after each page, and counts how often each shipment shows.
	walk := func(t *testing.T, s *store.Store, merchantID string, between func(page int, last logistics.Shipment)) map[key]int {
		seen := map[key]int{}
		f := store.ShipmentFilter{Limit: 7}
		for page := 0; ; page++ {
			require.Less(t, page, 100, "paging does not end")
			items, next, err := s.ListShipments(t.Context(), merchantID, f)
			require.NoError(t, err)
			for _, sh := range items {
				seen[key{sh.OrderID, sh.Number}]++
			}
			if next == "" {
				return seen
			}
			between(page, items[len(items)-1])
			f.Cursor = next
		}
	}
	walkStart := base.Add(time.Hour) // later than every seeded shipment

	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("inserts while walking", func(t *testing.T) {
			existing := seed(t, s, "m_ins")
			// A writer inserts newer shipments the whole time, and after each
			// page the walker itself inserts around its cursor: one newer than
			// everything, one tied with the page's last row, one older than it.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := 0; i < 200; i++ {
					select {
					case <-stop:
						return
					default:
					}
					sh := testShipment("m_ins", fmt.Sprintf("w_%03d", i), 1, walkStart.Add(time.Duration(i)*time.Second))
					if _, err := s.SaveShipment(t.Context(), store.ShipmentRecord{Shipment: sh, WorkflowID: "w", Version: 1}); err != nil {
						t.Errorf("concurrent insert: %v", err)
						return
					}
				}
			})
			seen := walk(t, s, "m_ins", func(page int, last logistics.Shipment) {
				for j, at := range []time.Time{walkStart.Add(time.Duration(page) * time.Millisecond), last.UpdatedAt, last.UpdatedAt.Add(-time.Second)} {
					saveShipment(t, s, testShipment("m_ins", fmt.Sprintf("p_%02d_%d", page, j), 1, at), 1)
				}
			})
			close(stop)
			wg.Wait()

			for k := range existing {
				assert.Equal(t, 1, seen[k], "pre-existing %v shows exactly once", k)
			}
			for k, n := range seen {
				assert.Equal(t, 1, n, "%v shows once at most", k)
			}
		})
		t.Run("updates while walking", func(t *testing.T) {
			existing := seed(t, s, "m_upd")
			var updated []key
			seen := walk(t, s, "m_upd", func(page int, last logistics.Shipment) {
				if page != 1 {
					return
				}
				// o_39 (the newest, on page 0) the walk has shown; o_02 (among
				// the oldest) it has not reached.
				for _, k := range []key{{"o_39", 2}, {"o_02", 1}} {
					sh := testShipment("m_upd", k.orderID, k.number, walkStart)
					sh.Status = logistics.StatusDelivered
					saveShipment(t, s, sh, 2)
					updated = append(updated, k)
				}
			})
			for k, n := range seen {
				assert.Equal(t, 1, n, "%v shows once at most", k)
			}
			for k := range existing {
				if !slices.Contains(updated, k) {
					assert.Equal(t, 1, seen[k], "%v, not updated, shows exactly once", k)
				}
			}
			assert.Equal(t, 1, seen[updated[0]], "shown before its update, not again after it")
			assert.Zero(t, seen[updated[1]], "updated before the walk reached it: moved ahead of the pages read")

			// The client's next sync, from the walk's start, brings both.
			since := walkStart.Add(-time.Microsecond)
			items, next, err := s.ListShipments(t.Context(), "m_upd", store.ShipmentFilter{UpdatedAfter: &since})
			require.NoError(t, err)
			assert.Empty(t, next)
			var got []key
			for _, sh := range items {
				got = append(got, key{sh.OrderID, sh.Number})
				assert.Equal(t, logistics.StatusDelivered, sh.Status)
			}
			assert.ElementsMatch(t, updated, got)
		})
	})
}

func TestListStuckOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		type key struct{ merchantID, orderID string }
		for i := range 9 {
			merchantID := fmt.Sprintf("m_%d", i%3)
			orderID := fmt.Sprintf("o_%d", i)
			rec := orderRecord(merchantID, orderID, 1, logistics.StageBooking, base.Add(time.Duration(i/2)*time.Minute))
			rec.Stuck = i%4 != 3
			if rec.Stuck {
				rec.StuckReason = "booking failed"
			}
			saveOrder(t, s, rec)
		}
		// Stuck are all but o_3 and o_7; updated_at is i/2 minutes, ties by merchant id.
		want := []key{{"m_2", "o_8"}, {"m_0", "o_6"}, {"m_1", "o_4"}, {"m_2", "o_5"}, {"m_2", "o_2"}, {"m_0", "o_0"}, {"m_1", "o_1"}}

		var got []key
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 20)
			items, next, err := s.ListStuckOrders(ctx, 2, cursor)
			require.NoError(t, err)
			for _, v := range items {
				assert.True(t, v.Stuck)
				assert.Equal(t, "booking failed", v.StuckReason)
				assert.Equal(t, logistics.StageBooking, v.Stage)
				got = append(got, key{v.MerchantID, v.OrderID})
			}
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, want, got)

		_, _, err := s.ListStuckOrders(ctx, 2, "garbage")
		requireInvalidField(t, err, "cursor")
		_, shipmentsCursor, err := s.ListShipments(ctx, "m_0", store.ShipmentFilter{})
		require.NoError(t, err)
		assert.Empty(t, shipmentsCursor)
	})
}

// TestSQLiteFileSurvivesReopen checks the zero-setup path end to end: data
// written through one Open is there after a reopen of the same directory.
func TestSQLiteFileSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := store.Open(ctx, "", dir)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.CreateMerchant(ctx, logistics.Merchant{ID: "m_demo", Name: "Demo"}, store.HashAPIKey("k")))
	require.NoError(t, s.Close())

	s, err = store.Open(ctx, "", dir)
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	require.NoError(t, s.Migrate(ctx))
	m, err := s.MerchantByKeyHash(ctx, store.HashAPIKey("k"))
	require.NoError(t, err)
	assert.Equal(t, "m_demo", m.ID)
	_, err = os.Stat(filepath.Join(dir, store.DefaultSQLiteFile+"-wal"))
	assert.NoError(t, err, "WAL mode is on")
}
