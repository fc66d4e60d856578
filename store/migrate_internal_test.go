package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

// TestWebhookMigrationKeepsTheOutbox migrates a database holding outbox
// events from before 00004 and back: the events survive both ways, get a
// sequence in their order, and count as fanned out (no endpoint existed to
// receive them). It runs inside the package (storetest imports store, so it
// cannot be used here) on both dialects.
func TestWebhookMigrationKeepsTheOutbox(t *testing.T) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			s := openUnmigrated(t, dialect)
			p, err := s.provider()
			require.NoError(t, err)
			_, err = p.UpTo(ctx, 3)
			require.NoError(t, err)

			at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
			for i, id := range []string{"e/3", "e/1", "e/2"} {
				// e/1 happened first, e/2 second, e/3 last, whatever the insert order.
				occurred := at.Add(time.Duration(id[2]-'0') * time.Minute)
				require.NoError(t, s.db.WithContext(ctx).Exec(`INSERT INTO outbound_events
					(id, merchant_id, order_id, type, payload, occurred_at, created_at) VALUES (?, 'm_1', 'o_1', 'order.stage_changed', '{}', ?, ?)`,
					id, occurred, at.Add(time.Duration(i)*time.Second)).Error)
			}

			require.NoError(t, s.Migrate(ctx))
			var rows []outboundEventRow
			require.NoError(t, s.db.WithContext(ctx).Order("seq").Find(&rows).Error)
			require.Len(t, rows, 3)
			if dialect == DialectSQLite {
				// The rebuilt table numbers them in the order they happened.
				assert.Equal(t, []string{"e/1", "e/2", "e/3"}, []string{rows[0].ID, rows[1].ID, rows[2].ID})
			}
			var open int64
			require.NoError(t, s.db.WithContext(ctx).Table("outbound_events").Where("fanned_out_at IS NULL").Count(&open).Error)
			assert.Zero(t, open, "old events count as fanned out")

			inserted, err := s.AppendEvent(ctx, OutboundEvent{ID: "e/4", MerchantID: "m_1", OrderID: "o_1",
				Type: "order.stage_changed", Payload: []byte(`{}`), OccurredAt: at})
			require.NoError(t, err)
			assert.True(t, inserted)
			var last outboundEventRow
			require.NoError(t, s.db.WithContext(ctx).Where("id = ?", "e/4").Take(&last).Error)
			assert.Greater(t, last.Seq, rows[2].Seq, "new events come after the old ones")

			_, err = p.DownTo(ctx, 3)
			require.NoError(t, err)
			var n int64
			require.NoError(t, s.db.WithContext(ctx).Table("outbound_events").Count(&n).Error)
			assert.EqualValues(t, 4, n, "rolling back keeps the events")
			require.NoError(t, s.Migrate(ctx), "and migrating up again works")
		})
	}
}

// openUnmigrated opens an empty database of the dialect, closed (and on
// Postgres dropped) when the test ends. Like storetest, it skips when
// Postgres is unreachable, or fails with CI=true.
func openUnmigrated(t *testing.T, dialect string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), DefaultSQLiteFile)
	if dialect == DialectPostgres {
		adminURL := os.Getenv("CROSSDOCK_TEST_POSTGRES_URL")
		if adminURL == "" {
			adminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
		}
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("Postgres is unreachable: %v", err)
			}
			t.Skipf("Postgres is unreachable: %v", err)
		}
		name := "crossdock_test_" + strings.ToLower(ulid.Make().String())
		_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		require.NoError(t, err)
		require.NoError(t, admin.Close(ctx))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			admin, err := pgx.Connect(ctx, adminURL)
			if err != nil {
				t.Errorf("drop test database %s: %v", name, err)
				return
			}
			defer func() { _ = admin.Close(ctx) }()
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("drop test database %s: %v", name, err)
			}
		})
		u, err := url.Parse(adminURL)
		require.NoError(t, err)
		u.Path = "/" + name
		dbURL = u.String()
	}
	s, err := Open(ctx, dbURL, "")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

// TestLargeHandoffsStayInTheirRow checks 00008 on Postgres: an import
// file's hand-offs (500 scans over 16 shipments, about 14 kB of JSON each)
// are stored lz4-compressed in their rows, with nothing in the TOAST table,
// and read back whole.
func TestLargeHandoffsStayInTheirRow(t *testing.T) {
	ctx := t.Context()
	s := openUnmigrated(t, DialectPostgres)
	require.NoError(t, s.Migrate(ctx))

	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	a := TrackingAcceptance{Record: WebhookRecord{Source: "ops", ID: "import:large", StatusCode: 202, Response: []byte(`{"accepted":496}`)}}
	for n := range 16 {
		tn := fmt.Sprintf("SBX%d", n)
		sh := AcceptedShipment{Ref: ShipmentRef{MerchantID: "m_1", OrderID: fmt.Sprintf("o_%d", n), Number: 1, WorkflowID: "wf_" + tn},
			TrackingNumber: tn}
		for i := range 31 {
			sh.Events = append(sh.Events, logistics.TrackingEvent{Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul,
				Substatus: "in_transit.departed", ResponsibleParty: logistics.PartyCarrier, OccurredAt: at.Add(time.Duration(i) * time.Minute),
				Location: logistics.Location{City: "Shenzhen", Country: "CN"}, Carrier: "sbx_express", TrackingNumber: tn,
				RawCode: "DEP", RawDescription: "Departed origin facility", Source: logistics.SourceImport, RecordedBy: "ops@example.com"})
		}
		a.Shipments = append(a.Shipments, sh)
	}
	_, inserted, err := s.AcceptTracking(ctx, a)
	require.NoError(t, err)
	require.True(t, inserted)

	var stored []struct {
		Compression string
		Size, JSON  int
	}
	require.NoError(t, s.db.WithContext(ctx).Raw(`SELECT pg_column_compression(events) AS compression,
		pg_column_size(events) AS size, octet_length(events) AS json FROM tracking_handoffs`).Scan(&stored).Error)
	require.Len(t, stored, 16)
	for _, h := range stored {
		assert.Equal(t, "lz4", h.Compression)
		assert.Less(t, h.Size, h.JSON/5, "compressed to a fraction of its %d bytes", h.JSON)
	}
	var toastTable string
	require.NoError(t, s.db.WithContext(ctx).Raw(`SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'tracking_handoffs'`).
		Scan(&toastTable).Error)
	var toasted int64
	require.NoError(t, s.db.WithContext(ctx).Raw(`SELECT count(*) FROM `+toastTable).Scan(&toasted).Error)
	assert.Zero(t, toasted, "each hand-off fits in its row")

	claimed, err := s.ClaimTrackingHandoffs(ctx, time.Now(), time.Minute, 100)
	require.NoError(t, err)
	require.Len(t, claimed, 16)
	for _, h := range claimed {
		require.Len(t, h.Events, 31)
		assert.Equal(t, h.TrackingNumber, h.Events[30].TrackingNumber)
		assert.Equal(t, at.Add(30*time.Minute), h.Events[30].OccurredAt.UTC())
	}
}
