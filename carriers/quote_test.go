package carriers_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

// The customs engine is the Decider the composition root wires in.
var (
	_ carriers.Decider = (*customs.Engine)(nil)
	_ carriers.Decider = (*fakeDecider)(nil)
)

// fakeDecider records what it was asked and answers a fixed decision.
type fakeDecider struct {
	calls    []customs.Input
	decision logistics.CustomsDecision
	// byType, when it has the input's channel type, answers instead of
	// decision.
	byType map[logistics.ChannelType]logistics.CustomsDecision
	err    error
}

func (f *fakeDecider) Decide(in customs.Input) (logistics.CustomsDecision, error) {
	f.calls = append(f.calls, in)
	if d, ok := f.byType[in.ChannelType]; ok {
		return d, f.err
	}
	return f.decision, f.err
}

// fakeRates are units per EUR, as the customs engine's FX table.
var fakeRates = map[string]string{"EUR": "1", "USD": "1.10", "GBP": "0.85"}

// Convert converts through fakeRates; other currencies are unknown.
func (f *fakeDecider) Convert(m logistics.Money, to string) (logistics.Money, error) {
	from, ok1 := fakeRates[m.Currency]
	into, ok2 := fakeRates[to]
	if !ok1 || !ok2 {
		return logistics.Money{}, errors.New("unknown currency")
	}
	k := decimal.RequireFromString(into).Div(decimal.RequireFromString(from))
	return logistics.Money{Amount: m.Amount.Mul(k), Currency: to}, nil
}

func money(amount, currency string) logistics.Money {
	return logistics.Money{Amount: decimal.RequireFromString(amount), Currency: currency}
}

func tariff(currency, base, perKg string) logistics.Tariff {
	return logistics.Tariff{Currency: currency, Base: decimal.RequireFromString(base), PerKg: decimal.RequireFromString(perKg)}
}

// pricedRegistry has a postal channel with a tariff, a courier with one and
// a courier without.
func pricedRegistry() *carriers.Registry {
	return carriers.NewRegistry(
		&fakeCarrier{code: "zz_express", channels: []logistics.Channel{
			channel("zz_express", "express", 3, []string{"*"}, func(c *logistics.Channel) {
				c.Capabilities.DangerousGoods = []logistics.DangerousGoods{logistics.DGLithiumInEquipment}
				c.Tariff = tariff("USD", "18", "9")
			}),
		}},
		&fakeCarrier{code: "aa_post", channels: []logistics.Channel{
			channel("aa_post", "packet", 2, []string{"GB", "DE"}, func(c *logistics.Channel) {
				c.Type = logistics.ChannelPostal
				c.Capabilities.MaxWeightGrams = 2000
				c.Capabilities.DDP = false
				c.Tariff = tariff("EUR", "6", "4")
			}),
		}},
		&fakeCarrier{code: "mm_local", channels: []logistics.Channel{
			channel("mm_local", "standard", 5, []string{"PH"}, nil),
		}},
	)
}

func TestPlanPrices(t *testing.T) {
	options, _ := pricedRegistry().Plan(carriers.PlanRequest{Origin: "CN", Destination: "GB", WeightGrams: 1200,
		ServiceLevel: logistics.ServiceStandard, Incoterm: logistics.IncotermDAP})
	require.Len(t, options, 2)
	assert.Equal(t, "aa_post", options[0].Channel.Carrier, "without a costing, fewer days first")
	assert.True(t, options[0].HasPrice)
	assert.Equal(t, money("12.00", "EUR"), options[0].Price, "6 + 4 x 1.5 kg")
	assert.True(t, options[1].HasPrice)
	assert.Equal(t, money("31.50", "USD"), options[1].Price, "18 + 9 x 1.5 kg")

	options, _ = pricedRegistry().Plan(carriers.PlanRequest{Origin: "CN", Destination: "PH", WeightGrams: 1200})
	require.Len(t, options, 2)
	assert.Equal(t, "mm_local", options[1].Channel.Carrier)
	assert.False(t, options[1].HasPrice, "no tariff, no price")
	assert.Equal(t, logistics.Money{}, options[1].Price)
}

func cartItem(weight, quantity int, dg logistics.DangerousGoods) logistics.Item {
	return logistics.Item{SKU: "SKU-1", Description: "Cotton T-shirt", Quantity: quantity,
		UnitPrice: money("12.50", "GBP"), HSCode: "610910", OriginCountry: "CN", WeightGrams: weight, DangerousGoods: dg}
}

func TestQuote(t *testing.T) {
	date := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	decided := logistics.CustomsDecision{Regime: "uk_low_value", Incoterm: logistics.IncotermDAP,
		Total: money("5.00", "GBP"), Warnings: []string{}, BlockReasons: []string{}}
	base := carriers.QuoteRequest{Origin: "CN", Destination: "GB", Incoterm: logistics.IncotermDAP,
		ServiceLevel: logistics.ServiceStandard, TaxIDs: logistics.TaxIDs{UKVAT: "GB123456789"}, Date: date,
		Items: []logistics.Item{cartItem(300, 2, logistics.DGNone), cartItem(250, 1, "")}}
	tests := []struct {
		name        string
		mod         func(*carriers.QuoteRequest)
		wantOptions []string // carrier/service price
		wantType    logistics.ChannelType
		wantReasons []string
	}{
		{
			name: "cart weight is item weight times quantity: 850 g prices as 1 kg",
			wantOptions: []string{
				"aa_post/packet 10.00 EUR",
				"zz_express/express 27.00 USD",
			},
			wantType: logistics.ChannelPostal,
		},
		{
			name: "the weight decides eligibility: 2.35 kg is too heavy for the post and prices as 2.5 kg",
			mod:  func(r *carriers.QuoteRequest) { r.Items[0].Quantity = 7 },
			wantOptions: []string{
				"zz_express/express 40.50 USD",
			},
			wantType: logistics.ChannelCourier,
		},
		{
			name: "dangerous goods of any item count",
			mod:  func(r *carriers.QuoteRequest) { r.Items[1].DangerousGoods = logistics.DGLithiumInEquipment },
			wantOptions: []string{
				"zz_express/express 27.00 USD",
			},
			wantType: logistics.ChannelCourier,
		},
		{
			name:     "no channel: blocked with every rejection, decided as courier",
			mod:      func(r *carriers.QuoteRequest) { r.Items[1].DangerousGoods = logistics.DGLithiumStandalone },
			wantType: logistics.ChannelCourier,
			wantReasons: []string{
				"no_eligible_channel: zz_express/express: does not accept dangerous goods lithium_battery_standalone",
				"no_eligible_channel: aa_post/packet: does not accept dangerous goods lithium_battery_standalone",
				"no_eligible_channel: mm_local/standard: does not serve lane CN-GB",
			},
		},
		{
			name: "the origin restricts the lane",
			mod:  func(r *carriers.QuoteRequest) { r.Origin, r.Destination = "NL", "PH" },
			wantOptions: []string{
				"zz_express/express 27.00 USD",
				"mm_local/standard (no price)",
			},
			wantType: logistics.ChannelCourier,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			req.Items = append([]logistics.Item(nil), base.Items...)
			if tt.mod != nil {
				tt.mod(&req)
			}
			d := &fakeDecider{decision: decided}
			q, err := pricedRegistry().Quote(d, req)
			require.NoError(t, err)

			var got []string
			for _, o := range q.Options {
				s := o.Channel.Carrier + "/" + o.Channel.Service
				if o.HasPrice {
					s += " " + o.Price.Amount.StringFixed(2) + " " + o.Price.Currency
				} else {
					s += " (no price)"
				}
				got = append(got, s)
			}
			assert.Equal(t, tt.wantOptions, got)

			// Customs is decided once per channel type among the options
			// (to rank by landed cost), and at least for the winner's type.
			require.NotEmpty(t, d.calls)
			var types []logistics.ChannelType
			for _, in := range d.calls {
				assert.NotContains(t, types, in.ChannelType, "each type is decided once")
				types = append(types, in.ChannelType)
				assert.Equal(t, req.Items, in.Items)
				assert.Equal(t, req.Destination, in.Destination)
				assert.Equal(t, req.Incoterm, in.Incoterm)
				assert.Equal(t, req.TaxIDs, in.TaxIDs)
				assert.Equal(t, date, in.Date)
			}
			assert.Contains(t, types, tt.wantType)

			assert.Equal(t, "uk_low_value", q.Customs.Regime, "the decider's answer is the quote's customs")
			assert.Equal(t, len(tt.wantReasons) > 0, q.Customs.Blocked)
			if len(tt.wantReasons) > 0 {
				assert.ElementsMatch(t, tt.wantReasons, q.Customs.BlockReasons)
			} else {
				assert.Empty(t, q.Customs.BlockReasons)
			}
		})
	}
}

func TestQuoteKeepsTheDecidersBlockReasons(t *testing.T) {
	d := &fakeDecider{decision: logistics.CustomsDecision{Blocked: true, BlockReasons: []string{"denied_party_match: x"}}}
	q, err := pricedRegistry().Quote(d, carriers.QuoteRequest{Origin: "CN", Destination: "FR",
		Items: []logistics.Item{cartItem(100, 1, logistics.DGNone)}})
	require.NoError(t, err)
	assert.True(t, q.Customs.Blocked)
	assert.Equal(t, []string{"denied_party_match: x"}, q.Customs.BlockReasons, "an eligible channel adds nothing")

	q, err = carriers.NewRegistry().Quote(d, carriers.QuoteRequest{Origin: "CN", Destination: "FR",
		Items: []logistics.Item{cartItem(100, 1, logistics.DGNone)}})
	require.NoError(t, err)
	assert.Equal(t, []string{"denied_party_match: x", "no_eligible_channel: no channel serves CN-FR"}, q.Customs.BlockReasons)
}

func TestQuoteDeciderErrorPassesThrough(t *testing.T) {
	bad := &logistics.Error{Code: logistics.CodeInvalid, Message: "the customs input is invalid",
		Details: []logistics.FieldProblem{{Field: "items[0].unit_price.currency", Problem: "unknown currency XXX"}}}
	_, err := pricedRegistry().Quote(&fakeDecider{err: bad}, carriers.QuoteRequest{Origin: "CN", Destination: "GB",
		Items: []logistics.Item{cartItem(100, 1, logistics.DGNone)}})
	var le *logistics.Error
	require.ErrorAs(t, err, &le)
	assert.Same(t, bad, le)
}

func TestQuoteHugeCartDoesNotOverflow(t *testing.T) {
	d := &fakeDecider{}
	q, err := pricedRegistry().Quote(d, carriers.QuoteRequest{Origin: "CN", Destination: "GB",
		Items: []logistics.Item{cartItem(math.MaxInt/2, 3, logistics.DGNone)}})
	require.NoError(t, err)
	assert.Empty(t, q.Options, "an absurd weight is too heavy, not negative")
	assert.True(t, q.Customs.Blocked)
}

func TestQuoter(t *testing.T) {
	d := &fakeDecider{decision: logistics.CustomsDecision{Regime: "eu_ioss"}}
	q := carriers.Quoter{Registry: pricedRegistry(), Customs: d}
	got, err := q.Quote(context.Background(), carriers.QuoteRequest{Origin: "CN", Destination: "DE",
		Items: []logistics.Item{cartItem(100, 1, logistics.DGNone)}})
	require.NoError(t, err)
	assert.Equal(t, "eu_ioss", got.Customs.Regime)
	require.Len(t, got.Options, 2)
	asked := len(d.calls)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = q.Quote(ctx, carriers.QuoteRequest{})
	assert.True(t, errors.Is(err, context.Canceled))
	assert.Len(t, d.calls, asked, "a gone caller is not quoted")
}
