package sandbox

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

func TestEveryChannelPublishesATariff(t *testing.T) {
	for _, ch := range channels {
		name := ch.Carrier + "/" + ch.Service
		assert.Regexp(t, `^[A-Z]{3}$`, ch.Tariff.Currency, name)
		assert.True(t, ch.Tariff.Base.IsPositive(), name)
		assert.True(t, ch.Tariff.PerKg.IsPositive(), name)
	}
}

// TestLocalCourierPricesInLocalCurrency checks that splitting the regional
// courier per country kept one channel per lane.
func TestLocalCourierPricesInLocalCurrency(t *testing.T) {
	for dest, currency := range map[string]string{"PH": "PHP", "MX": "MXN"} {
		var served []logistics.Channel
		for _, ch := range Channels(Local) {
			if ch.Serves("CN", dest) {
				served = append(served, ch)
			}
		}
		require.Len(t, served, 1, dest)
		assert.Equal(t, currency, served[0].Tariff.Currency, dest)
	}
}

func TestPlannerPricesSandboxChannels(t *testing.T) {
	cs, err := Carriers("http://127.0.0.1:8090", "", nil)
	require.NoError(t, err)
	options, _ := carriers.NewRegistry(cs...).Plan(carriers.PlanRequest{Origin: "CN", Destination: "GB", WeightGrams: 700,
		ServiceLevel: logistics.ServiceStandard, Incoterm: logistics.IncotermDAP})
	got := map[string]string{}
	for _, o := range options {
		require.True(t, o.HasPrice, o.Channel.Carrier)
		got[o.Channel.Carrier+"/"+o.Channel.Service] = o.Price.Amount.StringFixed(2) + " " + o.Price.Currency
	}
	assert.Equal(t, map[string]string{
		"sbx_express/express":     "27.00 USD",
		"sbx_post/tracked_packet": "10.00 EUR",
		"sbx_consol/standard":     "8.00 USD",
	}, got)
}

// TestQuoteWithTheCustomsEngine quotes a cart over the sandbox channels
// with the real customs engine, as the composition root wires them.
func TestQuoteWithTheCustomsEngine(t *testing.T) {
	engine, err := customs.NewEngine(customs.DefaultRules())
	require.NoError(t, err)
	cs, err := Carriers("http://127.0.0.1:8090", "", nil)
	require.NoError(t, err)
	// The registry's quote is pure (tariffs only): no carrier is called.
	reg := carriers.NewRegistry(cs...)
	item := logistics.Item{SKU: "TSHIRT", Description: "Cotton T-shirt", Quantity: 2,
		UnitPrice: logistics.Money{Amount: decimal.RequireFromString("12.50"), Currency: "EUR"}, HSCode: "610910",
		OriginCountry: "CN", WeightGrams: 180, DangerousGoods: logistics.DGNone}
	got, err := reg.Quote(engine, carriers.QuoteRequest{Origin: "CN", Destination: "DE",
		Items: []logistics.Item{item}, Incoterm: logistics.IncotermDAP, ServiceLevel: logistics.ServiceStandard,
		Date: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, "2026-11-25", got.Customs.RulesAsOf)
	assert.NotEmpty(t, got.Customs.Regime)
	assert.False(t, got.Customs.Blocked, got.Customs.BlockReasons)
	require.Len(t, got.Options, 2, "express and the post; the consolidator's EU line needs an IOSS number")
	// Standard service goes to the lowest landed cost: the post's EUR 8.00
	// beats express's USD 22.50, and the decision is the post's (postal) one.
	assert.Equal(t, Post, got.Options[0].Channel.Carrier)
	assert.Equal(t, logistics.ChannelPostal, got.Options[0].Channel.Type)
	assert.Equal(t, "CN22", got.Customs.DeclarationForm)
	for i, o := range got.Options {
		require.True(t, o.HasPrice, o.Channel.Carrier)
		require.True(t, o.HasLandedCost, o.Channel.Carrier)
		assert.Equal(t, "EUR", o.LandedCost.Currency)
		if i > 0 {
			assert.True(t, got.Options[i-1].LandedCost.Amount.LessThanOrEqual(o.LandedCost.Amount), "cheapest first")
		}
	}
	express, err := reg.Quote(engine, carriers.QuoteRequest{Origin: "CN", Destination: "DE",
		Items: []logistics.Item{item}, Incoterm: logistics.IncotermDAP, ServiceLevel: logistics.ServiceExpress,
		Date: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, Express, express.Options[0].Channel.Carrier, "express service goes to the fewest days")

	_, err = reg.Quote(engine, carriers.QuoteRequest{Origin: "CN", Destination: "DE",
		Items: []logistics.Item{item}, Incoterm: logistics.IncotermDAP})
	var le *logistics.Error
	require.ErrorAs(t, err, &le, "no date: the engine's invalid_request passes through")
	assert.Equal(t, logistics.CodeInvalid, le.Code)
}
