package logistics

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdvanceIsForwardOnly(t *testing.T) {
	for _, tc := range []struct {
		from, to, want Status
		changed        bool
	}{
		{StatusPending, StatusInfoReceived, StatusInfoReceived, true},
		{StatusInfoReceived, StatusInTransit, StatusInTransit, true},
		{StatusInTransit, StatusPickedUp, StatusInTransit, false},            // late scan
		{StatusOutForDelivery, StatusInTransit, StatusOutForDelivery, false}, // out of order
		{StatusInTransit, StatusException, StatusException, true},
		{StatusException, StatusInTransit, StatusInTransit, true},
		{StatusException, StatusOutForDelivery, StatusOutForDelivery, true},
		{StatusAttemptFail, StatusOutForDelivery, StatusOutForDelivery, true},
		{StatusOutForDelivery, StatusAttemptFail, StatusAttemptFail, true},
		{StatusInTransit, StatusReturnToSender, StatusReturnToSender, true},
		{StatusReturnToSender, StatusInTransit, StatusReturnToSender, false},
		{StatusReturnToSender, StatusDelivered, StatusDelivered, true},
		{StatusDelivered, StatusInTransit, StatusDelivered, false},
		{StatusDelivered, StatusReturnToSender, StatusDelivered, false},
		{StatusCancelled, StatusDelivered, StatusCancelled, false},
		{StatusExpired, StatusDelivered, StatusDelivered, true}, // a late delivered replaces expired
		{StatusExpired, StatusInTransit, StatusExpired, false},
		{StatusInTransit, "", StatusInTransit, false}, // unmapped code keeps the status
		{StatusInTransit, "teleported", StatusInTransit, false},
		{StatusInTransit, StatusInTransit, StatusInTransit, false},
	} {
		got, changed := Advance(tc.from, tc.to)
		assert.Equal(t, tc.want, got, "%s -> %s", tc.from, tc.to)
		assert.Equal(t, tc.changed, changed, "%s -> %s", tc.from, tc.to)
	}
}

func TestStageForFollowsPhase(t *testing.T) {
	assert.Equal(t, StageBooking, StageFor(StatusInfoReceived, PhaseOrigin))
	assert.Equal(t, StageExport, StageFor(StatusPickedUp, PhaseOrigin))
	assert.Equal(t, StageLineHaul, StageFor(StatusInTransit, PhaseLineHaul))
	assert.Equal(t, StageCustoms, StageFor(StatusInTransit, PhaseImportCustoms))
	assert.Equal(t, StageLastMile, StageFor(StatusOutForDelivery, PhaseLastMile))
	assert.Equal(t, StageDelivered, StageFor(StatusDelivered, PhaseLastMile))
	assert.Equal(t, StageReturned, StageFor(StatusDelivered, PhaseReturn))
}

func TestPhaseForUsesLocation(t *testing.T) {
	cn, gb := Location{City: "Shenzhen", Country: "CN"}, Location{City: "London", Country: "GB"}
	assert.Equal(t, PhaseExportCustoms, PhaseFor(StatusInTransit, "in_transit.customs_processing", cn, "CN", "GB"))
	assert.Equal(t, PhaseImportCustoms, PhaseFor(StatusInTransit, "in_transit.customs_processing", gb, "CN", "GB"))
	assert.Equal(t, PhaseLineHaul, PhaseFor(StatusInTransit, "in_transit.departed", Location{}, "CN", "GB"))
	assert.Equal(t, PhaseLastMile, PhaseFor(StatusOutForDelivery, "", gb, "CN", "GB"))
	assert.Equal(t, PhaseReturn, PhaseFor(StatusReturnToSender, "", gb, "CN", "GB"))
}

func TestOrderValidateNamesEveryBadField(t *testing.T) {
	o := Order{MerchantID: "m 1", OrderID: "", WarehouseID: "wh_szx", ServiceLevel: "fast", Incoterm: "FOB",
		ShipTo: Address{Name: "Ada", Line1: "1 St", City: "London", Country: "uk", Phone: "0770"},
		Items: []Item{{SKU: "A", Description: "gift", Quantity: 0,
			UnitPrice: Money{Amount: decimal.RequireFromString("-1"), Currency: "gbp"},
			HSCode:    "61", OriginCountry: "China", WeightGrams: 0, DangerousGoods: "fire"}}}
	err := o.Validate()
	require.Error(t, err)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, CodeInvalid, e.Code)
	var fields []string
	for _, d := range e.Details {
		fields = append(fields, d.Field)
	}
	assert.ElementsMatch(t, []string{"data.merchant_id", "data.order_id", "data.service_level", "data.incoterm",
		"data.ship_to.country", "data.ship_to.phone", "data.items[0].description", "data.items[0].quantity",
		"data.items[0].unit_price.currency", "data.items[0].unit_price.amount", "data.items[0].hs_code",
		"data.items[0].origin_country", "data.items[0].weight_grams", "data.items[0].dangerous_goods"}, fields)

	good := Order{MerchantID: "m_demo", OrderID: "TT-10001", WarehouseID: "wh_szx", ServiceLevel: ServiceStandard,
		Incoterm: IncotermDDP, ShipTo: Address{Name: "Ada", Line1: "12 Example Street", City: "London", Country: "GB",
			Phone: "+447700900123", Email: "ada@example.com"},
		Items: []Item{{SKU: "TSHIRT-RED-M", Description: "Cotton T-shirt", Quantity: 2,
			UnitPrice: Money{Amount: decimal.RequireFromString("12.50"), Currency: "GBP"}, HSCode: "610910",
			OriginCountry: "CN", WeightGrams: 180, DangerousGoods: DGNone}}}
	require.NoError(t, good.Validate())

	nul := good
	nul.ShipTo.Line1 = "12 Example Street\x00"
	nul.Items = []Item{good.Items[0]}
	nul.Items[0].Description = "Cotton\nT-shirt"
	err = nul.Validate()
	require.ErrorAs(t, err, &e)
	fields = nil
	for _, d := range e.Details {
		fields = append(fields, d.Field)
	}
	assert.Equal(t, []string{"data.ship_to.line1", "data.items[0].description"}, fields, "control characters are refused, in field order")
	assert.Equal(t, 360, good.WeightGrams())
}
