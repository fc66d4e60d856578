package customs

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

// TestDecideProperties decides thousands of random carts (seeded, so a
// failure replays) and checks what must hold for any of them: the total is
// duties + taxes + fees, nothing is negative, all four amounts are in one
// currency (the destination's when it has rules) rounded to its minor unit,
// and deciding again gives the same answer.
func TestDecideProperties(t *testing.T) {
	const carts = 5000
	rules := DefaultRules()
	rules.Duties = []DutyRate{
		{Zone: "EU", HSPrefix: "6109", Rate: pct("12"), Validity: since(day("2021-07-01"), "test tariff")},
		{Zone: "EU", HSPrefix: "420222", Origin: "CN", Rate: pct("3.7"), Validity: since(day("2021-07-01"), "test tariff")},
		{Zone: "US", HSPrefix: "61", Rate: pct("16.5"), Validity: since(day("2016-03-10"), "test tariff")},
		{Zone: "US", HSPrefix: "8517", Origin: "CN", Rate: pct("145"), Validity: since(day("2025-04-10"), "test tariff")},
		{Zone: "GB", HSPrefix: "6109", Rate: pct("12"), Validity: since(day("2021-01-01"), "test tariff")},
		{Zone: "AU", HSPrefix: "4202", Rate: pct("5"), Validity: since(day("2018-07-01"), "test tariff")},
	}
	rules.DeniedParties = DefaultDeniedParties()
	engines := map[FeeScope]*Engine{}
	for _, scope := range []FeeScope{FeeScopeAllLowValue, FeeScopeIOSSOnly} {
		rules.FeeScope = scope
		e, err := NewEngine(rules)
		require.NoError(t, err)
		engines[scope] = e
	}

	destinations := append([]string{"US", "GB", "AU"}, eu27...)
	regimeCurrency := map[string]string{"US": "USD", "GB": "GBP", "AU": "AUD"}
	var currencies []string
	for cur := range rules.FX.PerEUR {
		if cur != SDR {
			currencies = append(currencies, cur)
		}
	}
	slices.Sort(currencies) // map order is random; the seed must replay
	hsCodes := []string{"610910", "6109100010", "610990", "420222", "4202.22.10", "851713", "950300", "6109", ""}
	origins := []string{"CN", "HK", "VN", "US", "DE", "GB", ""}
	names := []string{"", "Erika Mustermann", "Acme Proliferation Trading Co", "acme trading", "Zorgblatt", "Jane Smith"}
	start, end := day("2020-01-01"), day("2028-12-31")
	days := int(end.Sub(start).Hours()/24) + 1

	rng := rand.New(rand.NewPCG(20260701, 6))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	price := func() decimal.Decimal {
		switch rng.IntN(4) {
		case 0:
			return decimal.RequireFromString("0.01")
		case 1:
			return decimal.Zero
		default:
			return decimal.New(rng.Int64N(500000)+1, -2) // 0.01 to 5000.00
		}
	}

	for n := range carts {
		in := Input{
			Destination: pick(destinations),
			Incoterm:    []logistics.Incoterm{"", logistics.IncotermDDP, logistics.IncotermDAP}[rng.IntN(3)],
			ChannelType: []logistics.ChannelType{"", logistics.ChannelPostal, logistics.ChannelCourier}[rng.IntN(3)],
			Date:        start.AddDate(0, 0, rng.IntN(days)).Add(time.Duration(rng.IntN(24)) * time.Hour),
			TaxIDs:      logistics.TaxIDs{IOSS: pick([]string{"", validIOSS, "IM123"}), UKVAT: pick([]string{"", validVAT})},
			Consignee:   logistics.Address{Name: pick(names), Country: "ZZ"},
		}
		for i := range rng.IntN(6) + 1 {
			in.Items = append(in.Items, logistics.Item{
				SKU: fmt.Sprintf("SKU-%d", i), Description: pick([]string{"Cotton T-shirt", "Leather handbag", "gift", "Mobile phone"}),
				Quantity:  rng.IntN(5) + 1,
				UnitPrice: logistics.Money{Amount: price(), Currency: pick(currencies)},
				HSCode:    pick(hsCodes), OriginCountry: pick(origins), WeightGrams: 100,
			})
		}
		e := engines[[]FeeScope{FeeScopeAllLowValue, FeeScopeIOSSOnly}[rng.IntN(2)]]
		d, err := e.Decide(in)
		require.NoError(t, err, "cart %d", n)

		what := fmt.Sprintf("cart %d: %+v\ndecision %+v", n, in, d)
		cur := d.Total.Currency
		for _, m := range []logistics.Money{d.Duties, d.Taxes, d.Fees, d.Total} {
			require.Equal(t, cur, m.Currency, what)
			require.False(t, m.Amount.IsNegative(), what)
			require.True(t, m.Amount.Equal(m.Amount.RoundBank(logistics.MinorUnits(cur))), "rounded to minor units: %s", what)
		}
		require.True(t, d.Total.Amount.Equal(d.Duties.Amount.Add(d.Taxes.Amount).Add(d.Fees.Amount)), what)
		if d.Regime != RegimeUnsupported {
			want, ok := regimeCurrency[in.Destination]
			if !ok {
				want = "EUR"
			}
			require.Equal(t, want, cur, what)
		}
		require.Equal(t, len(d.BlockReasons) > 0, d.Blocked, what)

		again, err := e.Decide(in)
		require.NoError(t, err)
		first, err := json.Marshal(d)
		require.NoError(t, err)
		second, err := json.Marshal(again)
		require.NoError(t, err)
		require.JSONEq(t, string(first), string(second), "deterministic: %s", what)
	}
}
