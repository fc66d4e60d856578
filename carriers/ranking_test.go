package carriers_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

// rankingRegistry has three channels to GB: a fast dear courier, a slow
// cheap postal one and a slow cheap courier whose tariff no one converts.
func rankingRegistry(t *testing.T) *carriers.Registry {
	t.Helper()
	return carriers.NewRegistry(
		&fakeCarrier{code: "zz_express", channels: []logistics.Channel{
			channel("zz_express", "express", 3, []string{"*"}, func(c *logistics.Channel) {
				c.Tariff = tariff("USD", "18", "9") // 27.00 USD at 1 kg = 24.55 EUR
			}),
		}},
		&fakeCarrier{code: "aa_post", channels: []logistics.Channel{
			channel("aa_post", "packet", 8, []string{"GB"}, func(c *logistics.Channel) {
				c.Type = logistics.ChannelPostal
				c.Tariff = tariff("EUR", "6", "4") // 10.00 EUR at 1 kg
			}),
		}},
		&fakeCarrier{code: "mm_consol", channels: []logistics.Channel{
			channel("mm_consol", "standard", 9, []string{"GB"}, func(c *logistics.Channel) {
				c.Tariff = tariff("CNY", "20", "10") // fakeRates has no CNY
			}),
		}},
	)
}

func TestPlanRanksByLandedCost(t *testing.T) {
	courierFees := logistics.CustomsDecision{Total: money("2.00", "EUR")}
	tests := []struct {
		name  string
		level logistics.ServiceLevel
		// postal charges at the border, in EUR
		postalCharges string
		want          []string // carrier landed-cost
	}{
		{
			name: "standard: cheapest landed cost first, unconvertible tariff last", level: logistics.ServiceStandard,
			postalCharges: "5.00",
			want:          []string{"aa_post 15.00 EUR", "zz_express 26.55 EUR", "mm_consol -"},
		},
		{
			name: "economy: a postal fee large enough makes the courier cheaper door to door", level: logistics.ServiceEconomy,
			postalCharges: "30.00",
			want:          []string{"zz_express 26.55 EUR", "aa_post 40.00 EUR", "mm_consol -"},
		},
		{
			name: "express: fewest days first whatever the cost", level: logistics.ServiceExpress,
			postalCharges: "0.00",
			want:          []string{"zz_express 26.55 EUR", "aa_post 10.00 EUR", "mm_consol -"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDecider{byType: map[logistics.ChannelType]logistics.CustomsDecision{
				logistics.ChannelCourier: courierFees,
				logistics.ChannelPostal:  {Total: money(tt.postalCharges, "EUR")},
			}}
			costing := carriers.CustomsCosting(d, customs.Input{Destination: "GB", Date: time.Now()})
			options, _ := rankingRegistry(t).Plan(carriers.PlanRequest{Origin: "CN", Destination: "GB",
				WeightGrams: 1000, ServiceLevel: tt.level, Incoterm: logistics.IncotermDAP, Costing: costing})
			var got []string
			for _, o := range options {
				s := o.Channel.Carrier + " -"
				if o.HasLandedCost {
					s = o.Channel.Carrier + " " + o.LandedCost.Amount.StringFixed(2) + " " + o.LandedCost.Currency
				}
				got = append(got, s)
			}
			assert.Equal(t, tt.want, got)
			assert.Len(t, d.calls, 2, "customs decided once per channel type, not per channel")
		})
	}
}

func TestPlanWithoutLandedCostWhenCustomsCannotDecide(t *testing.T) {
	d := &fakeDecider{err: errors.New("bad cart")}
	options, _ := rankingRegistry(t).Plan(carriers.PlanRequest{Origin: "CN", Destination: "GB", WeightGrams: 1000,
		ServiceLevel: logistics.ServiceStandard, Costing: carriers.CustomsCosting(d, customs.Input{})})
	require.Len(t, options, 3)
	for _, o := range options {
		assert.False(t, o.HasLandedCost)
	}
	assert.Equal(t, "zz_express", options[0].Channel.Carrier, "falls back to days")
}

func TestPlanMovesOpenCircuitsLast(t *testing.T) {
	r := rankingRegistry(t)
	failing := errors.New("503 from carrier")
	for range 5 {
		_ = r.Breakers().Do("aa_post", func() error { return failing })
	}
	require.True(t, r.Breakers().Open("aa_post"))
	d := &fakeDecider{decision: logistics.CustomsDecision{Total: money("0.00", "EUR")}}
	options, rejected := r.Plan(carriers.PlanRequest{Origin: "CN", Destination: "GB", WeightGrams: 1000,
		ServiceLevel: logistics.ServiceStandard, Costing: carriers.CustomsCosting(d, customs.Input{})})
	assert.Empty(t, rejected, "an open circuit does not make a channel ineligible")
	require.Len(t, options, 3)
	assert.Equal(t, "zz_express", options[0].Channel.Carrier, "the cheapest healthy channel leads")
	assert.Equal(t, "aa_post", options[2].Channel.Carrier)
	assert.Contains(t, options[2].Degraded, "circuit open")
	assert.Empty(t, options[0].Degraded)
}
