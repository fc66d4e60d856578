package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

// Distinctive strings of an order that the public page must never show.
var trackSecrets = []string{
	"m_secretmerchant", "SECRET-ORDER-4711", // merchant and order ids
	"Quillfeather", "Zyxwvut", // the consignee's name
	"77 Obscurity Lane", "Flat Q9", "ZZ9 9ZZ", "Hiddenshire", // street, line 2, postal code, region
	"+447700900999", "quill@example.invalid", // phone, email
	"left with Zyxwvut Quillfeather at the back door", // a raw carrier description naming the buyer
	"SKU-UNSEEN", "Invisible cloak", // what was bought
	"ops-secret@example.com", "reason-not-for-buyers", "RAWCODE9", // who recorded a scan, reasons, raw codes
}

// seedTrackedOrder stores an order handed from a consolidator (CONSOL-77)
// to a postal last mile (POST-77), with events of both legs recorded out of
// order, and a second shipment of the same order that is not on the page.
func seedTrackedOrder(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	const m, o = "m_secretmerchant", "SECRET-ORDER-4711"
	order := logistics.Order{MerchantID: m, OrderID: o, WarehouseID: "wh_szx", ServiceLevel: logistics.ServiceStandard,
		Incoterm: logistics.IncotermDDP,
		ShipTo: logistics.Address{Name: "Zyxwvut Quillfeather", Line1: "77 Obscurity Lane", Line2: "Flat Q9", City: "London",
			Region: "Hiddenshire", PostalCode: "ZZ9 9ZZ", Country: "GB", Phone: "+447700900999", Email: "quill@example.invalid"},
		Items: []logistics.Item{{SKU: "SKU-UNSEEN", Description: "Invisible cloak", Quantity: 1,
			UnitPrice: logistics.Money{Amount: decimal.RequireFromString("10.00"), Currency: "GBP"},
			HSCode:    "620290", OriginCountry: "CN", WeightGrams: 300, DangerousGoods: logistics.DGNone}}}
	_, err := st.SaveOrder(ctx, store.OrderRecord{MerchantID: m, OrderID: o, WorkflowID: logistics.OrderWorkflowID(m, o),
		Order: order, Stage: logistics.StageLastMile, Version: 1, At: fixedNow})
	require.NoError(t, err)

	eta := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	sh := logistics.Shipment{MerchantID: m, OrderID: o, Number: 1, Carrier: "sbx_consol", Service: "consol",
		TrackingNumber: "CONSOL-77", LabelURL: "http://127.0.0.1:8090/labels/CONSOL-77.pdf",
		Status: logistics.StatusOutForDelivery, Phase: logistics.PhaseLastMile, Origin: "CN", Destination: "GB",
		EstimatedDelivery: &eta, Parcel: logistics.Parcel{WeightGrams: 300},
		Legs: []logistics.Leg{
			{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: "sbx_consol", TrackingNumber: "CONSOL-77", Status: logistics.StatusDelivered},
			{Sequence: 2, Kind: logistics.LegLastMile, Carrier: "sbx_post", TrackingNumber: "POST-77", Status: logistics.StatusOutForDelivery},
		}, UpdatedAt: fixedNow}
	_, err = st.SaveShipment(ctx, store.ShipmentRecord{Shipment: sh, WorkflowID: logistics.ShipmentWorkflowID(m, o, 1), Version: 1})
	require.NoError(t, err)
	second := sh
	second.Number, second.TrackingNumber, second.Legs = 2, "SBX-OTHER-2", nil
	_, err = st.SaveShipment(ctx, store.ShipmentRecord{Shipment: second, WorkflowID: logistics.ShipmentWorkflowID(m, o, 2), Version: 1})
	require.NoError(t, err)

	ev := func(carrier, tn string, status logistics.Status, phase logistics.Phase, at time.Time, city, country string) logistics.TrackingEvent {
		return logistics.TrackingEvent{Status: status, Phase: phase, Substatus: string(status) + ".scan", Reason: "reason-not-for-buyers",
			ResponsibleParty: logistics.PartyCarrier, OccurredAt: at, Location: logistics.Location{City: city, Country: country},
			Carrier: carrier, TrackingNumber: tn, RawCode: "RAWCODE9", Source: logistics.SourceWebhook,
			RawDescription: "left with Zyxwvut Quillfeather at the back door"}
	}
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	outForDelivery := ev("sbx_post", "POST-77", logistics.StatusOutForDelivery, logistics.PhaseLastMile, base.Add(50*time.Hour), "Croydon", "GB")
	outForDelivery.Source, outForDelivery.RecordedBy = logistics.SourceManual, "ops-secret@example.com"
	_, err = st.AddTrackingEvents(ctx, m, o, 1, []logistics.TrackingEvent{
		ev("sbx_post", "POST-77", logistics.StatusInTransit, logistics.PhaseLastMile, base.Add(30*time.Hour), "Heathrow", "GB"),
		ev("sbx_consol", "CONSOL-77", logistics.StatusPickedUp, logistics.PhaseOrigin, base, "Shenzhen", "CN"),
		outForDelivery,
		ev("sbx_consol", "CONSOL-77", logistics.StatusInTransit, logistics.PhaseLineHaul, base.Add(6*time.Hour), "Hong Kong", "HK"),
	})
	require.NoError(t, err)
	_, err = st.AddTrackingEvents(ctx, m, o, 2, []logistics.TrackingEvent{
		ev("sbx_express", "SBX-OTHER-2", logistics.StatusPickedUp, logistics.PhaseOrigin, base.Add(time.Hour), "Otherparcelville", "CN")})
	require.NoError(t, err)
}

// TestTrackPageWithTheRealStore reads the page over SQLite and Postgres:
// either leg's number shows one timeline of both legs, newest first, and
// nothing of the order but countries, cities, carriers and numbers.
func TestTrackPageWithTheRealStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		seedTrackedOrder(t, st)
		h := newStoreHarness(t, st)
		for _, number := range []string{"CONSOL-77", "POST-77"} {
			for _, lang := range []string{"en", "de", "fr", "es", "zh"} {
				rec := h.track(number, lang)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var page strings.Builder
				page.WriteString(rec.Body.String())
				for k, vs := range rec.Header() {
					page.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
				}
				shown := strings.ToLower(page.String())
				for _, secret := range append(trackSecrets, "Otherparcelville", "SBX-OTHER-2") { // and another shipment's
					assert.False(t, strings.Contains(shown, strings.ToLower(secret)), "%s (%s) shows %q", number, lang, secret)
				}
			}

			body := h.track(number, "en").Body.String()
			assert.Contains(t, body, `<h1 id="status">Out for delivery</h1>`)
			assert.Contains(t, body, `<dd id="eta">November 30, 2026</dd>`)
			var at []int
			for _, place := range []string{"Croydon, United Kingdom", "Heathrow, United Kingdom", "Hong Kong, Hong Kong", "Shenzhen, China"} {
				i := strings.Index(body, place)
				require.Positive(t, i, "%s: %s is on the timeline", number, place)
				at = append(at, i)
			}
			assert.IsIncreasing(t, at, "newest first, both legs in one list")
			assert.Contains(t, body, `<p class="who">sbx_post POST-77</p>`)
			assert.Contains(t, body, `<p class="who">sbx_consol CONSOL-77</p>`)
		}

		rec := h.track("POST-78", "de")
		require.Equal(t, http.StatusNotFound, rec.Code)
		assert.Contains(t, rec.Body.String(), "Sendungsnummer nicht gefunden")
	})
}
