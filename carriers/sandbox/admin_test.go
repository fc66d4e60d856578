package sandbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/logistics"
)

// adminShipments is the part of GET /admin/shipments the tests read.
type adminShipments struct {
	Shipments []struct {
		Carrier        string    `json:"carrier"`
		TrackingNumber string    `json:"tracking_number"`
		IdempotencyKey string    `json:"idempotency_key"`
		OrderID        string    `json:"order_id"`
		BookedAt       time.Time `json:"booked_at"`
		Replays        int       `json:"replays"`
		State          string    `json:"state"`
		Scans          []struct {
			Code       string    `json:"code"`
			OccurredAt time.Time `json:"occurred_at"`
		} `json:"scans"`
		Partner *struct {
			Carrier        string `json:"carrier"`
			TrackingNumber string `json:"tracking_number"`
			Scans          []struct {
				Code string `json:"code"`
			} `json:"scans"`
		} `json:"partner"`
	} `json:"shipments"`
}

func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func TestAdminShipmentsTellWhatTheCarriersDid(t *testing.T) {
	w := newWorld(t, 1e6)
	ctx := context.Background()
	express, consol := w.adapters[sandbox.Express], w.adapters[sandbox.Consol]

	first, err := express.Book(ctx, bookRequest("k1", "CN", "GB"))
	require.NoError(t, err)
	_, err = express.Book(ctx, bookRequest("k1", "CN", "GB")) // a retry: same key
	require.NoError(t, err)
	line, err := consol.Book(ctx, bookRequest("k2", "CN", "GB"))
	require.NoError(t, err)
	// The consolidator's broker clears nothing without the importer's entry.
	require.NoError(t, consol.FileCustomsEntry(ctx, line.TrackingNumber, carriers.CustomsEntry{Reference: "TT-k2",
		Decision: logistics.CustomsDecision{Regime: "uk_low_value"}, Importer: logistics.Address{Country: "GB"},
		Items: []logistics.Item{{SKU: "T", Description: "Cotton T-shirt", Quantity: 1, HSCode: "610910"}}}))
	waitForCode(t, w.adapters[sandbox.Post], line.Legs[1].TrackingNumber, "EMI")
	waitForCode(t, express, first.TrackingNumber, "DLV")

	var all adminShipments
	require.Equal(t, http.StatusOK, getJSON(t, w.url+"/admin/shipments", &all))
	require.Len(t, all.Shipments, 2, "one booking per idempotency key")
	ex, cs := all.Shipments[0], all.Shipments[1]
	assert.False(t, cs.BookedAt.Before(ex.BookedAt), "oldest first")
	assert.Equal(t, sandbox.Express, ex.Carrier)
	assert.Equal(t, first.TrackingNumber, ex.TrackingNumber)
	assert.Equal(t, "k1", ex.IdempotencyKey)
	assert.Equal(t, "TT-k1", ex.OrderID)
	assert.Equal(t, 1, ex.Replays, "the retry was answered from the first booking")
	assert.Equal(t, "completed", ex.State)
	var codes []string
	for _, s := range ex.Scans {
		codes = append(codes, s.Code)
	}
	assert.Equal(t, []string{"MAN", "PU", "EXP_CLR", "DEP", "ARR", "IMP_CLR", "CLR", "OFD", "DLV"}, codes)

	assert.Equal(t, sandbox.Consol, cs.Carrier)
	require.NotNil(t, cs.Partner, "the consolidator's booking names its partner's parcel")
	assert.Equal(t, sandbox.Post, cs.Partner.Carrier)
	assert.Equal(t, line.Legs[1].TrackingNumber, cs.Partner.TrackingNumber)
	assert.Equal(t, "EMI", cs.Partner.Scans[len(cs.Partner.Scans)-1].Code)

	var onlyConsol adminShipments
	require.Equal(t, http.StatusOK, getJSON(t, w.url+"/admin/shipments?carrier=sbx_consol", &onlyConsol))
	require.Len(t, onlyConsol.Shipments, 1)
	assert.Equal(t, line.TrackingNumber, onlyConsol.Shipments[0].TrackingNumber)

	assert.Equal(t, http.StatusUnprocessableEntity, getJSON(t, w.url+"/admin/shipments?carrier=dhl", nil))
}

func TestAdminRequestsCountEveryCall(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	post := w.adapters[sandbox.Post]
	b, err := post.Book(ctx, bookRequest("k1", "CN", "GB"))
	require.NoError(t, err)
	w.fault(t, sandbox.Post, sandbox.FaultOutage, 60)
	for range 3 {
		_, err := post.Track(ctx, b.TrackingNumber)
		require.Error(t, err)
	}

	var got struct {
		Carriers []struct {
			Carrier            string `json:"carrier"`
			RateLimitPerMinute int    `json:"rate_limit_per_minute"`
			Requests           int    `json:"requests"`
			PeakPerMinute      int    `json:"peak_per_minute"`
		} `json:"carriers"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, w.url+"/admin/requests", &got))
	require.Len(t, got.Carriers, len(sandbox.Codes))
	for _, c := range got.Carriers {
		if c.Carrier != sandbox.Post {
			assert.Zero(t, c.Requests, c.Carrier)
			continue
		}
		assert.Equal(t, 120, c.RateLimitPerMinute)
		assert.Equal(t, 4, c.Requests, "the booking and three refused polls")
		assert.Equal(t, 4, c.PeakPerMinute)
	}
}
