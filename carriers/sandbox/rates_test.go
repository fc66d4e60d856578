package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

// TestLiveRatesRepriceTheQuote asks the sandbox carriers for today's
// prices: express adds its 12 % surcharge to the rate card, the post none,
// and a carrier that does not answer keeps its tariff.
func TestLiveRatesRepriceTheQuote(t *testing.T) {
	w := newWorld(t, 3600)
	engine, err := customs.NewEngine(customs.DefaultRules())
	require.NoError(t, err)
	var cs []carriers.Carrier
	for _, code := range sandbox.Codes {
		cs = append(cs, w.adapters[code])
	}
	item := logistics.Item{SKU: "TSHIRT", Description: "Cotton T-shirt", Quantity: 2,
		UnitPrice: logistics.Money{Amount: decimal.RequireFromString("12.50"), Currency: "EUR"}, HSCode: "610910",
		OriginCountry: "CN", WeightGrams: 180, DangerousGoods: logistics.DGNone}
	req := carriers.QuoteRequest{Origin: "CN", Destination: "DE", Items: []logistics.Item{item},
		Incoterm: logistics.IncotermDAP, ServiceLevel: logistics.ServiceExpress, Date: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	live, err := carriers.Quoter{Registry: carriers.NewRegistry(cs...), Customs: engine}.Quote(context.Background(), req)
	require.NoError(t, err)
	byCarrier := map[string]carriers.Option{}
	for _, o := range live.Options {
		byCarrier[o.Channel.Carrier] = o
	}
	require.Contains(t, byCarrier, sandbox.Express)
	assert.True(t, byCarrier[sandbox.Express].LiveRate)
	assert.Equal(t, "25.20", byCarrier[sandbox.Express].Price.Amount.StringFixed(2), "USD 22.50 tariff + 12 %")
	assert.True(t, byCarrier[sandbox.Post].LiveRate)
	assert.Equal(t, "8.00", byCarrier[sandbox.Post].Price.Amount.StringFixed(2), "no surcharge")
	assert.True(t, byCarrier[sandbox.Express].HasLandedCost)

	w.fault(t, sandbox.Express, sandbox.FaultOutage, 30)
	late, err := carriers.Quoter{Registry: carriers.NewRegistry(cs...), Customs: engine}.Quote(context.Background(), req)
	require.NoError(t, err)
	for _, o := range late.Options {
		if o.Channel.Carrier == sandbox.Express {
			assert.False(t, o.LiveRate, "an unavailable carrier keeps its tariff")
			assert.Equal(t, "22.50", o.Price.Amount.StringFixed(2))
		}
	}
	require.Len(t, late.Options, len(live.Options), "no channel is dropped for a failed rate")
}
