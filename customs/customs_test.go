package customs

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

const (
	validIOSS = "IM2760000001"
	validVAT  = "GB123456789"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// item is a well-described line: a cotton T-shirt unless changed.
func item(hs, origin, price, currency string) logistics.Item {
	return logistics.Item{SKU: "TS-" + hs, Description: "Cotton T-shirt", Quantity: 1,
		UnitPrice: logistics.Money{Amount: decimal.RequireFromString(price), Currency: currency},
		HSCode:    hs, OriginCountry: origin, WeightGrams: 180, DangerousGoods: logistics.DGNone}
}

func newEngine(t *testing.T, change func(*Rules)) *Engine {
	t.Helper()
	r := DefaultRules()
	if change != nil {
		change(&r)
	}
	e, err := NewEngine(r)
	require.NoError(t, err)
	return e
}

// amounts renders a decision's money as "currency duties taxes fees total".
func amounts(d logistics.CustomsDecision) [5]string {
	return [5]string{d.Total.Currency, d.Duties.Amount.StringFixed(2), d.Taxes.Amount.StringFixed(2),
		d.Fees.Amount.StringFixed(2), d.Total.Amount.StringFixed(2)}
}

func TestDecideRegimesAndBoundaries(t *testing.T) {
	e := newEngine(t, nil)
	tests := []struct {
		name      string
		dest      string
		date      string
		items     []logistics.Item
		ids       logistics.TaxIDs
		incoterm  logistics.Incoterm
		regime    string
		vat       string
		dutyFree  bool
		money     [5]string
		warnings  []string
		rulesAsOf string
	}{
		{name: "US from 2025-08-29 at the informal limit", dest: "US", date: "2025-09-01",
			items:  []logistics.Item{item("610910", "VN", "2500.00", "USD")},
			regime: "us_informal", vat: CollectBorder, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "US from 2025-08-29 just above the informal limit", dest: "US", date: "2025-09-01",
			items:  []logistics.Item{item("610910", "VN", "2500.01", "USD")},
			regime: "us_formal", vat: CollectBorder, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "US on 2025-08-29 no de minimis any more", dest: "US", date: "2025-08-29",
			items:  []logistics.Item{item("610910", "VN", "10.00", "USD")},
			regime: "us_informal", vat: CollectBorder, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "US on 2025-08-28 at USD 800 is duty free", dest: "US", date: "2025-08-28",
			items:  []logistics.Item{item("610910", "VN", "800.00", "USD")},
			regime: "us_de_minimis", vat: CollectBorder, dutyFree: true, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{}},
		{name: "US on 2025-08-28 just above USD 800", dest: "US", date: "2025-08-28",
			items:  []logistics.Item{item("610910", "VN", "800.01", "USD")},
			regime: "us_informal", vat: CollectBorder, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "US on 2025-08-28 CN origin lost de minimis on 2025-05-02", dest: "US", date: "2025-08-28",
			items:  []logistics.Item{item("610910", "VN", "5.00", "USD"), item("420222", "CN", "5.00", "USD")},
			regime: "us_informal", vat: CollectBorder, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "US on 2025-05-01 CN origin still de minimis", dest: "US", date: "2025-05-01",
			items:  []logistics.Item{item("420222", "CN", "5.00", "USD")},
			regime: "us_de_minimis", vat: CollectBorder, dutyFree: true, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{}},
		{name: "EU at EUR 150 with IOSS", dest: "DE", date: "2026-06-30", ids: logistics.TaxIDs{IOSS: validIOSS},
			items:  []logistics.Item{item("610910", "CN", "150.00", "EUR")},
			regime: "eu_ioss", vat: CollectCheckout, dutyFree: true, money: [5]string{"EUR", "0.00", "28.50", "0.00", "28.50"},
			warnings: []string{}},
		{name: "EU at EUR 150 without IOSS", dest: "DE", date: "2026-06-30",
			items:  []logistics.Item{item("610910", "CN", "150.00", "EUR")},
			regime: "eu_low_value", vat: CollectBorder, dutyFree: true, money: [5]string{"EUR", "0.00", "28.50", "0.00", "28.50"},
			warnings: []string{}},
		{name: "EU just above EUR 150 with IOSS is standard", dest: "DE", date: "2026-06-30", ids: logistics.TaxIDs{IOSS: validIOSS},
			items:  []logistics.Item{item("610910", "CN", "150.01", "EUR")},
			regime: "eu_standard", vat: CollectBorder, money: [5]string{"EUR", "0.00", "28.50", "0.00", "28.50"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "EU fee from 2026-07-01 under IOSS", dest: "DE", date: "2026-07-01", ids: logistics.TaxIDs{IOSS: validIOSS},
			items:  []logistics.Item{item("610910", "CN", "150.00", "EUR")},
			regime: "eu_ioss", vat: CollectCheckout, dutyFree: true, money: [5]string{"EUR", "0.00", "28.50", "3.00", "31.50"},
			warnings: []string{}},
		{name: "EU fee from 2026-07-01 without IOSS (all_low_value)", dest: "FR", date: "2026-07-01",
			items:  []logistics.Item{item("610910", "CN", "100.00", "EUR")},
			regime: "eu_low_value", vat: CollectBorder, dutyFree: true, money: [5]string{"EUR", "0.00", "20.00", "3.00", "23.00"},
			warnings: []string{}},
		{name: "EU no fee above EUR 150", dest: "DE", date: "2026-07-01",
			items:  []logistics.Item{item("610910", "CN", "150.01", "EUR")},
			regime: "eu_standard", vat: CollectBorder, money: [5]string{"EUR", "0.00", "28.50", "0.00", "28.50"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "EU malformed IOSS falls to low value and says why", dest: "DE", date: "2026-06-30", ids: logistics.TaxIDs{IOSS: "IM123"},
			items:  []logistics.Item{item("610910", "CN", "10.00", "EUR")},
			regime: "eu_low_value", vat: CollectBorder, dutyFree: true, money: [5]string{"EUR", "0.00", "1.90", "0.00", "1.90"},
			warnings: []string{"ioss_invalid"}},
		{name: "EU member without a shipped VAT rate", dest: "HR", date: "2026-06-30", ids: logistics.TaxIDs{IOSS: validIOSS},
			items:  []logistics.Item{item("610910", "CN", "10.00", "EUR")},
			regime: "eu_ioss", vat: CollectCheckout, dutyFree: true, money: [5]string{"EUR", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnVATRateUnknown}},
		{name: "EU before IOSS has no rules", dest: "DE", date: "2021-06-30",
			items:  []logistics.Item{item("610910", "CN", "10.00", "EUR")},
			regime: RegimeUnsupported, money: [5]string{"EUR", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnNoRules}},
		{name: "UK at GBP 135 under DAP", dest: "GB", date: "2026-01-15", incoterm: logistics.IncotermDAP,
			items:  []logistics.Item{item("610910", "CN", "135.00", "GBP")},
			regime: "uk_low_value", vat: CollectCheckout, dutyFree: true, money: [5]string{"GBP", "0.00", "27.00", "0.00", "27.00"},
			warnings: []string{}},
		{name: "UK low value under DDP without UK VAT number", dest: "GB", date: "2026-01-15", incoterm: logistics.IncotermDDP,
			items:  []logistics.Item{item("610910", "CN", "135.00", "GBP")},
			regime: "uk_low_value", vat: CollectCheckout, dutyFree: true, money: [5]string{"GBP", "0.00", "27.00", "0.00", "27.00"},
			warnings: []string{"uk_vat_missing"}},
		{name: "UK low value under DDP with UK VAT number", dest: "GB", date: "2026-01-15", incoterm: logistics.IncotermDDP,
			ids: logistics.TaxIDs{UKVAT: validVAT}, items: []logistics.Item{item("610910", "CN", "135.00", "GBP")},
			regime: "uk_low_value", vat: CollectCheckout, dutyFree: true, money: [5]string{"GBP", "0.00", "27.00", "0.00", "27.00"},
			warnings: []string{}},
		{name: "UK just above GBP 135", dest: "GB", date: "2026-01-15", incoterm: logistics.IncotermDDP,
			items:  []logistics.Item{item("610910", "CN", "135.01", "GBP")},
			regime: "uk_standard", vat: CollectBorder, money: [5]string{"GBP", "0.00", "27.00", "0.00", "27.00"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "AU at AUD 1000", dest: "AU", date: "2026-01-15",
			items:  []logistics.Item{item("610910", "CN", "1000.00", "AUD")},
			regime: "au_low_value", vat: CollectCheckout, dutyFree: true, money: [5]string{"AUD", "0.00", "100.00", "0.00", "100.00"},
			warnings: []string{}},
		{name: "AU just above AUD 1000", dest: "AU", date: "2026-01-15",
			items:  []logistics.Item{item("610910", "CN", "1000.01", "AUD")},
			regime: "au_standard", vat: CollectBorder, money: [5]string{"AUD", "0.00", "100.00", "0.00", "100.00"},
			warnings: []string{WarnDutyRateUnknown}},
		{name: "destination without rules", dest: "JP", date: "2026-01-15",
			items:  []logistics.Item{item("610910", "CN", "99.00", "USD")},
			regime: RegimeUnsupported, money: [5]string{"USD", "0.00", "0.00", "0.00", "0.00"},
			warnings: []string{WarnNoRules}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: tc.items, Destination: tc.dest, Incoterm: tc.incoterm, TaxIDs: tc.ids, Date: day(tc.date)})
			require.NoError(t, err)
			assert.Equal(t, tc.regime, d.Regime)
			assert.Equal(t, tc.vat, d.VATCollection)
			assert.Equal(t, tc.dutyFree, d.DutyFree)
			assert.Equal(t, tc.money, amounts(d))
			assert.Equal(t, tc.warnings, d.Warnings)
			assert.Equal(t, tc.date, d.RulesAsOf)
			assert.Equal(t, tc.incoterm, d.Incoterm)
			assert.Equal(t, FormCommercialInvoice, d.DeclarationForm)
			assert.False(t, d.Blocked)
			assert.Empty(t, d.BlockReasons)
		})
	}
}

func TestVATRatesFollowTheirDates(t *testing.T) {
	e := newEngine(t, nil)
	tests := []struct{ dest, date, taxes string }{
		{"FI", "2024-08-31", "24.00"}, {"FI", "2024-09-01", "25.50"},
		{"SK", "2024-12-31", "20.00"}, {"SK", "2025-01-01", "23.00"},
		{"EE", "2023-12-31", "20.00"}, {"EE", "2024-01-01", "22.00"}, {"EE", "2025-06-30", "22.00"}, {"EE", "2025-07-01", "24.00"},
		{"RO", "2025-07-31", "19.00"}, {"RO", "2025-08-01", "21.00"},
		{"IE", "2025-08-01", "23.00"}, {"SE", "2025-08-01", "25.00"},
	}
	for _, tc := range tests {
		t.Run(tc.dest+" "+tc.date, func(t *testing.T) {
			d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", "100.00", "EUR")}, Destination: tc.dest,
				TaxIDs: logistics.TaxIDs{IOSS: validIOSS}, Date: day(tc.date)})
			require.NoError(t, err)
			assert.Equal(t, "eu_ioss", d.Regime)
			assert.Equal(t, tc.taxes, d.Taxes.Amount.StringFixed(2))
		})
	}
}

func TestFeeCountsDistinctHS6(t *testing.T) {
	items := []logistics.Item{
		item("6109100010", "CN", "10.00", "EUR"),
		item("6109.10.0090", "CN", "10.00", "EUR"), // same first six digits: one line
		item("420222", "CN", "10.00", "EUR"),
	}
	tests := []struct {
		name  string
		scope FeeScope
		ioss  string
		fees  string
	}{
		{"all_low_value with IOSS", FeeScopeAllLowValue, validIOSS, "6.00"},
		{"all_low_value without IOSS", FeeScopeAllLowValue, "", "6.00"},
		{"ioss_only with IOSS", FeeScopeIOSSOnly, validIOSS, "6.00"},
		{"ioss_only without IOSS", FeeScopeIOSSOnly, "", "0.00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, func(r *Rules) { r.FeeScope = tc.scope })
			d, err := e.Decide(Input{Items: items, Destination: "NL", TaxIDs: logistics.TaxIDs{IOSS: tc.ioss}, Date: day("2026-07-01")})
			require.NoError(t, err)
			assert.Equal(t, tc.fees, d.Fees.Amount.StringFixed(2))
			assert.Equal(t, "EUR", d.Fees.Currency)
			assert.Equal(t, "6.30", d.Taxes.Amount.StringFixed(2)) // 21 % of EUR 30
			assert.True(t, d.Total.Amount.Equal(d.Taxes.Amount.Add(d.Fees.Amount)))
		})
	}
}

func TestConversionAndRounding(t *testing.T) {
	e := newEngine(t, nil)
	fx := []string{"fx_rates_as_of:2025-10-21"}
	tests := []struct {
		name     string
		dest     string
		ids      logistics.TaxIDs
		items    []logistics.Item
		regime   string
		money    [5]string
		warnings []string
	}{
		{"GBP goods to DE convert to EUR", "DE", logistics.TaxIDs{IOSS: validIOSS},
			[]logistics.Item{item("610910", "CN", "100.00", "GBP")}, "eu_ioss",
			[5]string{"EUR", "0.00", "21.89", "0.00", "21.89"}, fx}, // 115.2339... x 19 %
		{"USD 180 to GB is under GBP 135", "GB", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "180.00", "USD")}, "uk_low_value",
			[5]string{"GBP", "0.00", "26.92", "0.00", "26.92"}, fx}, // GBP 134.577...
		{"USD 181 to GB is over GBP 135", "GB", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "181.00", "USD")}, "uk_standard",
			[5]string{"GBP", "0.00", "27.07", "0.00", "27.07"}, append([]string{WarnDutyRateUnknown}, fx...)},
		{"half-even rounds 0.285 down to 0.28", "DE", logistics.TaxIDs{IOSS: validIOSS},
			[]logistics.Item{item("610910", "CN", "1.50", "EUR")}, "eu_ioss",
			[5]string{"EUR", "0.00", "0.28", "0.00", "0.28"}, []string{}},
		{"half-even rounds 0.095 up to 0.10", "DE", logistics.TaxIDs{IOSS: validIOSS},
			[]logistics.Item{item("610910", "CN", "0.50", "EUR")}, "eu_ioss",
			[5]string{"EUR", "0.00", "0.10", "0.00", "0.10"}, []string{}},
		{"half-even rounds 0.025 down to 0.02", "AU", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "0.25", "AUD")}, "au_low_value",
			[5]string{"AUD", "0.00", "0.02", "0.00", "0.02"}, []string{}},
		{"rounding only at the end: 3 x 0.02 at 19 %", "DE", logistics.TaxIDs{IOSS: validIOSS},
			[]logistics.Item{item("610910", "CN", "0.02", "EUR"), item("610920", "CN", "0.02", "EUR"), item("610990", "CN", "0.02", "EUR")},
			"eu_ioss", [5]string{"EUR", "0.00", "0.01", "0.00", "0.01"}, []string{}}, // 0.0114; per line it would be 3 x 0.00
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: tc.items, Destination: tc.dest, TaxIDs: tc.ids, Date: day("2025-11-03")})
			require.NoError(t, err)
			assert.Equal(t, tc.regime, d.Regime)
			assert.Equal(t, tc.money, amounts(d))
			assert.Equal(t, tc.warnings, d.Warnings)
		})
	}
}

func TestConvert(t *testing.T) {
	e := newEngine(t, nil)
	usd := logistics.Money{Amount: decimal.RequireFromString("100"), Currency: "USD"}
	got, err := e.Convert(usd, "EUR")
	require.NoError(t, err)
	assert.Equal(t, "EUR", got.Currency)
	assert.Equal(t, "86.15", got.Amount.RoundBank(2).StringFixed(2))
	got, err = e.Convert(usd, "GBP")
	require.NoError(t, err)
	assert.Equal(t, "74.77", got.Amount.RoundBank(2).StringFixed(2))
	got, err = e.Convert(usd, "USD")
	require.NoError(t, err)
	assert.True(t, got.Amount.Equal(usd.Amount))
	_, err = e.Convert(usd, "XYZ")
	assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
}

func TestDeclarationForm(t *testing.T) {
	tests := []struct {
		name    string
		sdr     string // SDR per EUR
		channel logistics.ChannelType
		price   string
		form    string
	}{
		{"postal at exactly 300 SDR", "0.8", logistics.ChannelPostal, "375.00", FormCN22},
		{"postal just above 300 SDR", "0.8", logistics.ChannelPostal, "375.01", FormCN23},
		{"postal under 300 SDR at the shipped rate", "", logistics.ChannelPostal, "352.42", FormCN22},
		{"postal over 300 SDR at the shipped rate", "", logistics.ChannelPostal, "352.43", FormCN23},
		{"courier", "", logistics.ChannelCourier, "10.00", FormCommercialInvoice},
		{"no channel type means courier", "", "", "10.00", FormCommercialInvoice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, func(r *Rules) {
				if tc.sdr != "" {
					r.FX.PerEUR[SDR] = decimal.RequireFromString(tc.sdr)
				}
			})
			d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", tc.price, "EUR")}, Destination: "DE",
				ChannelType: tc.channel, Date: day("2026-01-15")})
			require.NoError(t, err)
			assert.Equal(t, tc.form, d.DeclarationForm)
			if tc.channel == logistics.ChannelPostal {
				assert.Contains(t, d.Warnings, "fx_rates_as_of:2025-10-21")
			}
		})
	}
}

func TestDutyRatesAreOperatorData(t *testing.T) {
	e := newEngine(t, func(r *Rules) {
		r.Duties = []DutyRate{ // the general row first, so the origin-specific one must win on merit
			{Zone: "EU", HSPrefix: "6109", Rate: pct("12"), Validity: since(day("2021-07-01"), "test tariff")},
			{Zone: "EU", HSPrefix: "610910", Rate: pct("15"), Validity: since(day("2021-07-01"), "test tariff")},
			{Zone: "EU", HSPrefix: "610910", Origin: "CN", Rate: pct("10"), Validity: since(day("2021-07-01"), "test tariff")},
		}
	})
	tests := []struct {
		name     string
		items    []logistics.Item
		money    [5]string
		warnings []string
	}{
		{"origin-specific longest prefix", []logistics.Item{item("6109100010", "CN", "200.00", "EUR")},
			[5]string{"EUR", "20.00", "41.80", "0.00", "61.80"}, []string{}}, // VAT on goods plus duty
		{"general row for other origins", []logistics.Item{item("6109100010", "VN", "200.00", "EUR")},
			[5]string{"EUR", "30.00", "43.70", "0.00", "73.70"}, []string{}},
		{"shorter prefix", []logistics.Item{item("610990", "CN", "200.00", "EUR")},
			[5]string{"EUR", "24.00", "42.56", "0.00", "66.56"}, []string{}},
		{"one line without a rate is warned, not invented", []logistics.Item{
			item("610910", "CN", "100.00", "EUR"), item("420222", "CN", "100.00", "EUR")},
			[5]string{"EUR", "10.00", "39.90", "0.00", "49.90"}, []string{WarnDutyRateUnknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: tc.items, Destination: "DE", Incoterm: logistics.IncotermDDP, Date: day("2026-01-15")})
			require.NoError(t, err)
			assert.Equal(t, "eu_standard", d.Regime)
			assert.Equal(t, tc.money, amounts(d))
			assert.Equal(t, tc.warnings, d.Warnings)
		})
	}

	t.Run("no duty under a duty-free regime", func(t *testing.T) {
		d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", "100.00", "EUR")}, Destination: "DE", Date: day("2026-01-15")})
		require.NoError(t, err)
		assert.Equal(t, "eu_low_value", d.Regime)
		assert.Equal(t, "0.00", d.Duties.Amount.StringFixed(2))
	})
}

func TestItemChecksBlock(t *testing.T) {
	e := newEngine(t, nil)
	change := func(f func(*logistics.Item)) logistics.Item {
		it := item("610910", "CN", "10.00", "EUR")
		it.SKU = "X1"
		f(&it)
		return it
	}
	tests := []struct {
		name    string
		item    logistics.Item
		reasons []string
	}{
		{"good item", change(func(*logistics.Item) {}), []string{}},
		{"dotted HS code is fine", change(func(it *logistics.Item) { it.HSCode = "6109.10.00" }), []string{}},
		{"short HS code", change(func(it *logistics.Item) { it.HSCode = "6109" }), []string{"hs_code_missing: items[0] sku X1"}},
		{"no HS code", change(func(it *logistics.Item) { it.HSCode = "" }), []string{"hs_code_missing: items[0] sku X1"}},
		{"gift", change(func(it *logistics.Item) { it.Description = "Gift" }), []string{"description_vague: items[0] sku X1"}},
		{"free samples", change(func(it *logistics.Item) { it.Description = "Free samples!" }), []string{"description_vague: items[0] sku X1"}},
		{"general merchandise", change(func(it *logistics.Item) { it.Description = "general merchandise" }), []string{"description_vague: items[0] sku X1"}},
		{"car parts is specific", change(func(it *logistics.Item) { it.Description = "car parts" }), []string{}},
		{"empty description", change(func(it *logistics.Item) { it.Description = "  " }), []string{"description_missing: items[0] sku X1"}},
		{"no origin", change(func(it *logistics.Item) { it.OriginCountry = "" }), []string{"origin_missing: items[0] sku X1"}},
		{"everything wrong", change(func(it *logistics.Item) { it.HSCode, it.Description, it.OriginCountry = "12", "goods", "china" }),
			[]string{"hs_code_missing: items[0] sku X1", "description_vague: items[0] sku X1", "origin_missing: items[0] sku X1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: []logistics.Item{tc.item}, Destination: "DE", Date: day("2026-01-15")})
			require.NoError(t, err)
			assert.Equal(t, tc.reasons, d.BlockReasons)
			assert.Equal(t, len(tc.reasons) > 0, d.Blocked)
			assert.Equal(t, "eu_low_value", d.Regime, "a blocked decision still answers")
		})
	}
}

func TestInvalidInput(t *testing.T) {
	e := newEngine(t, nil)
	good := Input{Items: []logistics.Item{item("610910", "CN", "10.00", "EUR")}, Destination: "DE", Date: day("2026-01-15")}
	tests := []struct {
		name   string
		change func(*Input)
	}{
		{"no items", func(in *Input) { in.Items = nil }},
		{"no date", func(in *Input) { in.Date = time.Time{} }},
		{"bad destination", func(in *Input) { in.Destination = "Germany" }},
		{"bad incoterm", func(in *Input) { in.Incoterm = "EXW" }},
		{"bad channel type", func(in *Input) { in.ChannelType = "pigeon" }},
		{"zero quantity", func(in *Input) { in.Items[0].Quantity = 0 }},
		{"negative price", func(in *Input) { in.Items[0].UnitPrice.Amount = decimal.NewFromInt(-1) }},
		{"currency without a rate", func(in *Input) { in.Items[0].UnitPrice.Currency = "XYZ" }},
		{"second item's currency without a rate", func(in *Input) { in.Items = append(in.Items, item("610910", "CN", "10.00", "XYZ")) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			in.Items = append([]logistics.Item(nil), good.Items...)
			tc.change(&in)
			_, err := e.Decide(in)
			require.Error(t, err)
			assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
		})
	}
	_, err := e.Decide(good)
	require.NoError(t, err, "the unchanged input is valid, so each case above fails for its own reason")
}

func TestRulesAsOfIsTheOrdersCalendarDay(t *testing.T) {
	e := newEngine(t, nil)
	// 00:30 on 2026-07-01 in Berlin is still 2026-06-30 in UTC: the order's own day decides.
	berlin := time.FixedZone("CEST", 2*60*60)
	d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", "10.00", "EUR")}, Destination: "DE",
		Date: time.Date(2026, 7, 1, 0, 30, 0, 0, berlin)})
	require.NoError(t, err)
	assert.Equal(t, "2026-07-01", d.RulesAsOf)
	assert.Equal(t, "3.00", d.Fees.Amount.StringFixed(2))
}

func TestDecideIsDeterministic(t *testing.T) {
	e := newEngine(t, nil)
	in := Input{Items: []logistics.Item{item("6109100010", "CN", "12.34", "GBP"), item("420222", "VN", "56.78", "GBP"),
		item("610910", "CN", "9.99", "GBP")}, Destination: "DE", TaxIDs: logistics.TaxIDs{IOSS: validIOSS},
		ChannelType: logistics.ChannelPostal, Date: day("2026-07-02")}
	first, err := e.Decide(in)
	require.NoError(t, err)
	want, err := json.Marshal(first)
	require.NoError(t, err)
	for range 50 {
		d, err := e.Decide(in)
		require.NoError(t, err)
		got, err := json.Marshal(d)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got))
	}
	assert.Equal(t, "eu_ioss", first.Regime)
	assert.Equal(t, "6.00", first.Fees.Amount.StringFixed(2))
	assert.Equal(t, FormCN22, first.DeclarationForm)
	assert.Equal(t, []string{"fx_rates_as_of:2025-10-21"}, first.Warnings)
}

func TestAddingADestinationIsData(t *testing.T) {
	e := newEngine(t, func(r *Rules) {
		r.FX.PerEUR["NOK"] = decimal.RequireFromString("11.6693")
		r.Regimes = append(r.Regimes, RegimeRule{Zone: "NO", Destinations: []string{"NO"}, Currency: "NOK",
			Validity: since(day("2020-04-01"), "test: VOEC scheme"),
			Bands: []Band{{UpTo: upTo("3000"), Regime: "no_voec", VATCollection: CollectCheckout, DutyFree: true, VAT: true},
				{Regime: "no_standard", VATCollection: CollectBorder, VAT: true}}})
		r.VAT = append(r.VAT, VATRate{Country: "NO", Rate: pct("25"), Validity: since(day("2020-04-01"), "test: Skatteetaten")})
	})
	d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", "3000", "NOK")}, Destination: "NO", Date: day("2026-01-15")})
	require.NoError(t, err)
	assert.Equal(t, "no_voec", d.Regime)
	assert.Equal(t, [5]string{"NOK", "0.00", "750.00", "0.00", "750.00"}, amounts(d))
}

func TestNewEngineRejectsBadRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Rules)
		want   string
	}{
		{"overlapping regime rows", func(r *Rules) {
			r.Regimes = append(r.Regimes, RegimeRule{Zone: "X", Destinations: []string{"GB"}, Currency: "GBP",
				Validity: since(day("2024-01-01"), "test"), Bands: []Band{{Regime: "x", VATCollection: CollectBorder}}})
		}, "overlaps"},
		{"missing source", func(r *Rules) { r.Regimes[0].Source = "" }, "source"},
		{"missing start", func(r *Rules) { r.VAT[0].EffectiveFrom = time.Time{} }, "effective-from"},
		{"backwards range", func(r *Rules) { r.Regimes[0].EffectiveTo = day("2000-01-01") }, "effective-to"},
		{"unknown currency", func(r *Rules) { r.Regimes[0].Currency = "ZZZ" }, "currency"},
		{"overlapping VAT rates", func(r *Rules) {
			r.VAT = append(r.VAT, VATRate{Country: "DE", Rate: pct("16"), Validity: between(day("2025-07-01"), day("2025-12-31"), "test")})
		}, "overlaps"},
		{"overlapping duty rows", func(r *Rules) {
			r.Duties = []DutyRate{{Zone: "EU", HSPrefix: "6109", Rate: pct("12"), Validity: since(day("2021-07-01"), "t")},
				{Zone: "EU", HSPrefix: "6109", Rate: pct("10"), Validity: since(day("2024-07-01"), "t")}}
		}, "overlaps"},
		{"no SDR rate", func(r *Rules) { delete(r.FX.PerEUR, SDR) }, "SDR"},
		{"no fx date", func(r *Rules) { r.FX.AsOf = time.Time{} }, "as-of"},
		{"bad fee scope", func(r *Rules) { r.FeeScope = "sometimes" }, "fee scope"},
		{"conditional last band", func(r *Rules) { r.Regimes[0].Bands = r.Regimes[0].Bands[:1] }, "last band"},
		{"VAT rate as a percentage", func(r *Rules) { r.VAT[0].Rate = decimal.NewFromInt(20) }, "rate in [0, 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := DefaultRules()
			tc.change(&r)
			_, err := NewEngine(r)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDefaultRulesAreValidAndSourced(t *testing.T) {
	r := DefaultRules()
	_, err := NewEngine(r)
	require.NoError(t, err)
	assert.Empty(t, r.Duties, "duty rates are operator data, never shipped guesses")
	for _, cur := range []string{"EUR", "GBP", "USD", "AUD", "CNY", SDR} {
		assert.Contains(t, r.FX.PerEUR, cur)
	}
	assert.Len(t, eu27, 27)
}

func TestEngineKeepsItsOwnCopy(t *testing.T) {
	r := DefaultRules()
	e, err := NewEngine(r)
	require.NoError(t, err)
	r.FX.PerEUR["GBP"] = decimal.NewFromInt(100)
	r.VAT[len(r.VAT)-1].Rate = decimal.Zero
	got, err := e.Convert(logistics.Money{Amount: decimal.RequireFromString("0.86780"), Currency: "GBP"}, "EUR")
	require.NoError(t, err)
	assert.Equal(t, "1.00", got.Amount.RoundBank(2).StringFixed(2))
}
