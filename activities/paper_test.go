package activities_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// manifestCarrier is a batch-only carrier that records the files it gets.
type manifestCarrier struct {
	bookOnly
	files map[string]string
	err   error
}

var _ carriers.Manifester = (*manifestCarrier)(nil)

func (*manifestCarrier) Code() string { return "manifest_only" }
func (m *manifestCarrier) SubmitManifest(_ context.Context, name string, file []byte) error {
	if m.err != nil {
		return m.err
	}
	if m.files == nil {
		m.files = map[string]string{}
	}
	m.files[name] = string(file)
	return nil
}

func paperOrder() logistics.Order {
	return logistics.Order{MerchantID: "m", OrderID: "o-1", ServiceLevel: logistics.ServiceStandard, Incoterm: logistics.IncotermDAP,
		ShipTo: logistics.Address{Name: "Juan Dela Cruz", Line1: "1 Rizal Ave", City: "Manila", PostalCode: "1000", Country: "PH"},
		Items: []logistics.Item{{SKU: "T", Description: "Cotton T-shirt", Quantity: 2,
			UnitPrice: logistics.Money{Amount: decimal.RequireFromString("12.50"), Currency: "USD"},
			HSCode:    "610910", OriginCountry: "CN", WeightGrams: 180, DangerousGoods: logistics.DGNone}}}
}

func batchChannel() logistics.Channel {
	return logistics.Channel{Carrier: "manifest_only", Service: "standard", Type: logistics.ChannelCourier,
		Capabilities: logistics.Capabilities{Label: logistics.LabelBatchManifest, Tracking: logistics.TrackingNone,
			Customs: logistics.CustomsBroker, Cutoff: "17:00", CutoffZone: "Asia/Manila"}}
}

func TestPrintDocuments(t *testing.T) {
	origin := logistics.Address{Name: "Shenzhen DC", Line1: "1 Bao'an Rd", City: "Shenzhen", PostalCode: "518000", Country: "CN"}
	sh := logistics.Shipment{MerchantID: "m", OrderID: "o-1", Number: 1, Carrier: "manifest_only", Service: "standard",
		TrackingNumber: "SL123456789", Parcel: logistics.Parcel{WeightGrams: 400}}
	postal := logistics.Channel{Carrier: "post", Service: "packet", Type: logistics.ChannelPostal,
		Capabilities: logistics.Capabilities{Label: logistics.LabelAPI, Customs: logistics.CustomsPostal}}
	for _, tc := range []struct {
		name    string
		channel logistics.Channel
		form    string
		want    []string
	}{
		{"batch-only: a label", batchChannel(), "commercial_invoice", []string{store.DocumentLabel}},
		{"postal paper with CN22: the form only", postal, "CN22", []string{store.DocumentCustomsForm}},
		{"template label on postal paper with CN23: both", func() logistics.Channel {
			c := postal
			c.Capabilities.Label = logistics.LabelTemplate
			return c
		}(), "CN23", []string{store.DocumentLabel, store.DocumentCustomsForm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decision := logistics.CustomsDecision{DeclarationForm: tc.form}
			require.True(t, activities.NeedsPaper(tc.channel, decision))
			st := &memStore{}
			e := env(&activities.Activities{Store: st})
			v, err := e.ExecuteActivity(activities.NamePrintDocuments, activities.PrintDocumentsInput{Order: paperOrder(),
				Origin: origin, Shipment: sh, Channel: tc.channel, Customs: decision, Date: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)})
			require.NoError(t, err)
			var res activities.PrintDocumentsResult
			require.NoError(t, v.Get(&res))
			assert.Equal(t, tc.want, res.Kinds)
			require.Len(t, st.documents, len(tc.want))
			for _, d := range st.documents {
				assert.True(t, strings.HasPrefix(string(d.Content), "%PDF-"))
				assert.Equal(t, "SL123456789", d.TrackingNumber)
				assert.Equal(t, "application/pdf", d.ContentType)
			}
		})
	}
	assert.False(t, activities.NeedsPaper(postal, logistics.CustomsDecision{DeclarationForm: "commercial_invoice"}),
		"a label API and no postal form: nothing to print")
}

func TestManifestActivities(t *testing.T) {
	st := &memStore{}
	carrier := &manifestCarrier{}
	a := &activities.Activities{Store: st, Carriers: carriers.NewRegistry(carrier)}
	e := env(a)
	// 18:30 in Manila is past the 17:00 cut-off: the parcel goes on tomorrow's.
	at := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	add := func(tn string) activities.AddToManifestResult {
		sh := logistics.Shipment{MerchantID: "m", OrderID: "o-" + tn, Carrier: "manifest_only", Service: "standard",
			TrackingNumber: tn, Parcel: logistics.Parcel{WeightGrams: 400}}
		v, err := e.ExecuteActivity(activities.NameAddToManifest, activities.AddToManifestInput{Order: paperOrder(),
			Shipment: sh, Channel: batchChannel(), At: at})
		require.NoError(t, err)
		var res activities.AddToManifestResult
		require.NoError(t, v.Get(&res))
		return res
	}
	r1 := add("SL000000001")
	assert.Equal(t, "2026-11-26", r1.Day)
	manila, _ := time.LoadLocation("Asia/Manila")
	assert.True(t, r1.SubmitAt.Equal(time.Date(2026, 11, 26, 17, 0, 0, 0, manila)), r1.SubmitAt)
	add("SL000000002")

	submit := func() activities.SubmitManifestResult {
		v, err := e.ExecuteActivity(activities.NameSubmitManifest, activities.SubmitManifestInput{Carrier: "manifest_only", Day: r1.Day})
		require.NoError(t, err)
		var res activities.SubmitManifestResult
		require.NoError(t, v.Get(&res))
		return res
	}
	first := submit()
	assert.Equal(t, 2, first.Lines)
	assert.Equal(t, "manifest_only-2026-11-26-1.csv", first.File)
	require.Contains(t, carrier.files, first.File)
	assert.Contains(t, carrier.files[first.File], "SL000000001")
	assert.Contains(t, carrier.files[first.File], "SL000000002")
	assert.Contains(t, carrier.files[first.File], "25.00", "the declared value is the items' value")
	assert.Equal(t, activities.SubmitManifestResult{}, submit(), "the second order at the cut-off finds nothing left")

	add("SL000000003") // a late parcel for the same day: a supplement
	late := submit()
	assert.Equal(t, "manifest_only-2026-11-26-2.csv", late.File)
	assert.Equal(t, 1, late.Lines)
	assert.NotContains(t, carrier.files[late.File], "SL000000001")

	// Dev mode: every 30 s instead of daily.
	a.Settings.ManifestEvery = 30 * time.Second
	e = env(a)
	v, err := e.ExecuteActivity(activities.NameAddToManifest, activities.AddToManifestInput{Order: paperOrder(),
		Shipment: logistics.Shipment{MerchantID: "m", OrderID: "o-4", Carrier: "manifest_only", TrackingNumber: "SL000000004",
			Parcel: logistics.Parcel{WeightGrams: 400}}, Channel: batchChannel(), At: at.Add(10 * time.Second)})
	require.NoError(t, err)
	var quick activities.AddToManifestResult
	require.NoError(t, v.Get(&quick))
	assert.True(t, quick.SubmitAt.Equal(at.Add(30*time.Second)), quick.SubmitAt)
}
