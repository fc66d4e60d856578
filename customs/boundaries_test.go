package customs

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

// TestThresholdBoundaries puts each destination's value limit exactly at the
// limit, one minor unit below and one above, in the limit's own currency and
// reached through conversion from another currency.
func TestThresholdBoundaries(t *testing.T) {
	e := newEngine(t, nil)
	ioss := logistics.TaxIDs{IOSS: validIOSS}
	tests := []struct {
		name   string
		dest   string
		date   string
		ids    logistics.TaxIDs
		items  []logistics.Item
		regime string
	}{
		{"GB one penny below GBP 135", "GB", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "134.99", "GBP")}, "uk_low_value"},
		{"GB at GBP 135", "GB", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "135.00", "GBP")}, "uk_low_value"},
		{"GB one penny above GBP 135", "GB", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "135.01", "GBP")}, "uk_standard"},
		{"EU IOSS one cent below EUR 150", "DE", "2026-01-15", ioss, []logistics.Item{item("610910", "CN", "149.99", "EUR")}, "eu_ioss"},
		{"EU IOSS at EUR 150", "DE", "2026-01-15", ioss, []logistics.Item{item("610910", "CN", "150.00", "EUR")}, "eu_ioss"},
		{"EU IOSS one cent above EUR 150", "DE", "2026-01-15", ioss, []logistics.Item{item("610910", "CN", "150.01", "EUR")}, "eu_standard"},
		{"EU without IOSS one cent below EUR 150", "IT", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "149.99", "EUR")}, "eu_low_value"},
		{"EU without IOSS at EUR 150", "IT", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "150.00", "EUR")}, "eu_low_value"},
		{"EU without IOSS one cent above EUR 150", "IT", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "150.01", "EUR")}, "eu_standard"},
		{"AU one cent below AUD 1000", "AU", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "999.99", "AUD")}, "au_low_value"},
		{"AU at AUD 1000", "AU", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "1000.00", "AUD")}, "au_low_value"},
		{"AU one cent above AUD 1000", "AU", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "1000.01", "AUD")}, "au_standard"},
		{"US one cent below USD 2500", "US", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "2499.99", "USD")}, "us_informal"},
		{"US at USD 2500", "US", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "2500.00", "USD")}, "us_informal"},
		{"US one cent above USD 2500", "US", "2026-01-15", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "2500.01", "USD")}, "us_formal"},
		{"US before 2025-08-29 one cent below USD 800", "US", "2025-08-28", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "799.99", "USD")}, "us_de_minimis"},
		{"US before 2025-08-29 at USD 800", "US", "2025-08-28", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "800.00", "USD")}, "us_de_minimis"},
		{"US before 2025-08-29 one cent above USD 800", "US", "2025-08-28", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "800.01", "USD")}, "us_informal"},
		// EUR converts to GBP, AUD and USD by an exact factor (0.8678,
		// 1.7885, 1.1607), so a mixed cart can sit exactly on a limit.
		{"GB mixed cart one penny below GBP 135", "GB", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "91.60", "GBP"), item("420222", "CN", "50.00", "EUR")}, "uk_low_value"},
		{"GB mixed cart at GBP 135", "GB", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "91.61", "GBP"), item("420222", "CN", "50.00", "EUR")}, "uk_low_value"},
		{"GB mixed cart one penny above GBP 135", "GB", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "91.62", "GBP"), item("420222", "CN", "50.00", "EUR")}, "uk_standard"},
		{"AU mixed cart at AUD 1000", "AU", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "821.15", "AUD"), item("420222", "CN", "100.00", "EUR")}, "au_low_value"},
		{"AU mixed cart one cent above AUD 1000", "AU", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "821.16", "AUD"), item("420222", "CN", "100.00", "EUR")}, "au_standard"},
		{"US mixed cart at USD 2500", "US", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "VN", "2383.93", "USD"), item("420222", "VN", "100.00", "EUR")}, "us_informal"},
		{"US mixed cart one cent above USD 2500", "US", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "VN", "2383.94", "USD"), item("420222", "VN", "100.00", "EUR")}, "us_formal"},
		{"quantity counts: 3 x GBP 45.00 is GBP 135", "GB", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{withQty(item("610910", "CN", "45.00", "GBP"), 3)}, "uk_low_value"},
		{"quantity counts: 3 x GBP 45.01 is over", "GB", "2026-01-15", logistics.TaxIDs{},
			[]logistics.Item{withQty(item("610910", "CN", "45.01", "GBP"), 3)}, "uk_standard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: tc.items, Destination: tc.dest, TaxIDs: tc.ids, Date: day(tc.date)})
			require.NoError(t, err)
			assert.Equal(t, tc.regime, d.Regime)
		})
	}
}

func TestCN22Boundary(t *testing.T) {
	// At 0.8 SDR per EUR, EUR 375.00 is exactly 300 SDR.
	e := newEngine(t, func(r *Rules) { r.FX.PerEUR[SDR] = decimal.RequireFromString("0.8") })
	for _, tc := range []struct{ price, form string }{
		{"374.99", FormCN22}, {"375.00", FormCN22}, {"375.01", FormCN23},
	} {
		t.Run(tc.price, func(t *testing.T) {
			d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", tc.price, "EUR")}, Destination: "DE",
				ChannelType: logistics.ChannelPostal, Date: day("2026-01-15")})
			require.NoError(t, err)
			assert.Equal(t, tc.form, d.DeclarationForm)
		})
	}
	t.Run("a mixed cart is summed in SDR", func(t *testing.T) {
		// EUR 200 + GBP 150 is about EUR 372.85: 298.28 SDR, a CN22; another GBP 2 makes it a CN23.
		items := []logistics.Item{item("610910", "CN", "200.00", "EUR"), item("420222", "CN", "150.00", "GBP")}
		d, err := e.Decide(Input{Items: items, Destination: "DE", ChannelType: logistics.ChannelPostal, Date: day("2026-01-15")})
		require.NoError(t, err)
		assert.Equal(t, FormCN22, d.DeclarationForm)
		items[1].UnitPrice.Amount = decimal.RequireFromString("152.00")
		d, err = e.Decide(Input{Items: items, Destination: "DE", ChannelType: logistics.ChannelPostal, Date: day("2026-01-15")})
		require.NoError(t, err)
		assert.Equal(t, FormCN23, d.DeclarationForm)
	})
}

// TestEffectiveDates judges the same cart on the day before and the day a
// rule changes.
func TestEffectiveDates(t *testing.T) {
	e := newEngine(t, nil)
	ioss := logistics.TaxIDs{IOSS: validIOSS}
	tests := []struct {
		name   string
		dest   string
		date   string
		ids    logistics.TaxIDs
		items  []logistics.Item
		regime string
		money  [5]string
	}{
		{"US de minimis not yet shipped on 2016-03-09", "US", "2016-03-09", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "500.00", "USD")},
			RegimeUnsupported, [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"US USD 800 de minimis from 2016-03-10", "US", "2016-03-10", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "500.00", "USD")},
			"us_de_minimis", [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"AU before 2018-07-01", "AU", "2018-06-30", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "AUD")},
			RegimeUnsupported, [5]string{"AUD", "0.00", "0.00", "0.00", "0.00"}},
		{"AU GST at checkout from 2018-07-01", "AU", "2018-07-01", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "AUD")},
			"au_low_value", [5]string{"AUD", "0.00", "10.00", "0.00", "10.00"}},
		{"GB before 2021-01-01", "GB", "2020-12-31", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "GBP")},
			RegimeUnsupported, [5]string{"GBP", "0.00", "0.00", "0.00", "0.00"}},
		{"GB VAT at checkout from 2021-01-01", "GB", "2021-01-01", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "GBP")},
			"uk_low_value", [5]string{"GBP", "0.00", "20.00", "0.00", "20.00"}},
		{"EU before IOSS on 2021-06-30", "DE", "2021-06-30", ioss, []logistics.Item{item("610910", "CN", "100.00", "EUR")},
			RegimeUnsupported, [5]string{"EUR", "0.00", "0.00", "0.00", "0.00"}},
		{"EU IOSS from 2021-07-01", "DE", "2021-07-01", ioss, []logistics.Item{item("610910", "CN", "100.00", "EUR")},
			"eu_ioss", [5]string{"EUR", "0.00", "19.00", "0.00", "19.00"}},
		{"US CN origin de minimis on 2025-05-01", "US", "2025-05-01", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "USD")},
			"us_de_minimis", [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"US CN origin informal from 2025-05-02", "US", "2025-05-02", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "USD")},
			"us_informal", [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"US HK origin informal from 2025-05-02", "US", "2025-05-02", logistics.TaxIDs{}, []logistics.Item{item("610910", "HK", "100.00", "USD")},
			"us_informal", [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"US VN origin still de minimis on 2025-05-02", "US", "2025-05-02", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "100.00", "USD")},
			"us_de_minimis", [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"US VN origin de minimis on 2025-08-28", "US", "2025-08-28", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "100.00", "USD")},
			"us_de_minimis", [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"US VN origin informal from 2025-08-29", "US", "2025-08-29", logistics.TaxIDs{}, []logistics.Item{item("610910", "VN", "100.00", "USD")},
			"us_informal", [5]string{"USD", "0.00", "0.00", "0.00", "0.00"}},
		{"EU no fee on 2026-06-30 with IOSS", "DE", "2026-06-30", ioss, []logistics.Item{item("610910", "CN", "100.00", "EUR")},
			"eu_ioss", [5]string{"EUR", "0.00", "19.00", "0.00", "19.00"}},
		{"EU EUR 3 fee from 2026-07-01 with IOSS", "DE", "2026-07-01", ioss, []logistics.Item{item("610910", "CN", "100.00", "EUR")},
			"eu_ioss", [5]string{"EUR", "0.00", "19.00", "3.00", "22.00"}},
		{"EU no fee on 2026-06-30 without IOSS", "DE", "2026-06-30", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "EUR")},
			"eu_low_value", [5]string{"EUR", "0.00", "19.00", "0.00", "19.00"}},
		{"EU EUR 3 fee from 2026-07-01 without IOSS", "DE", "2026-07-01", logistics.TaxIDs{}, []logistics.Item{item("610910", "CN", "100.00", "EUR")},
			"eu_low_value", [5]string{"EUR", "0.00", "19.00", "3.00", "22.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: tc.items, Destination: tc.dest, TaxIDs: tc.ids, Date: day(tc.date)})
			require.NoError(t, err)
			assert.Equal(t, tc.regime, d.Regime)
			assert.Equal(t, tc.money, amounts(d))
			assert.Equal(t, tc.date, d.RulesAsOf)
		})
	}
}

// TestIncotermsAndTaxIDs covers IOSS present, absent and malformed, and DDP
// against DAP, where the decision differs only in what travels with it.
func TestIncotermsAndTaxIDs(t *testing.T) {
	e := newEngine(t, nil)
	tests := []struct {
		name     string
		dest     string
		incoterm logistics.Incoterm
		ids      logistics.TaxIDs
		price    string
		currency string
		regime   string
		vat      string
		warnings []string
	}{
		{"EU DDP with IOSS", "FR", logistics.IncotermDDP, logistics.TaxIDs{IOSS: validIOSS}, "100.00", "EUR", "eu_ioss", CollectCheckout, []string{}},
		{"EU DAP with IOSS", "FR", logistics.IncotermDAP, logistics.TaxIDs{IOSS: validIOSS}, "100.00", "EUR", "eu_ioss", CollectCheckout, []string{}},
		{"EU DDP without IOSS", "FR", logistics.IncotermDDP, logistics.TaxIDs{}, "100.00", "EUR", "eu_low_value", CollectBorder, []string{}},
		{"EU DAP without IOSS", "FR", logistics.IncotermDAP, logistics.TaxIDs{}, "100.00", "EUR", "eu_low_value", CollectBorder, []string{}},
		{"EU IOSS with spaces and lower case is read", "FR", logistics.IncotermDDP, logistics.TaxIDs{IOSS: "im 2760000001"}, "100.00", "EUR", "eu_ioss", CollectCheckout, []string{}},
		{"EU malformed IOSS", "FR", logistics.IncotermDDP, logistics.TaxIDs{IOSS: "IM27600000"}, "100.00", "EUR", "eu_low_value", CollectBorder, []string{"ioss_invalid"}},
		{"EU IOSS above EUR 150 is standard", "FR", logistics.IncotermDDP, logistics.TaxIDs{IOSS: validIOSS}, "200.00", "EUR", "eu_standard", CollectBorder, []string{WarnDutyRateUnknown}},
		{"GB DDP without UK VAT", "GB", logistics.IncotermDDP, logistics.TaxIDs{}, "100.00", "GBP", "uk_low_value", CollectCheckout, []string{"uk_vat_missing"}},
		{"GB DAP without UK VAT", "GB", logistics.IncotermDAP, logistics.TaxIDs{}, "100.00", "GBP", "uk_low_value", CollectCheckout, []string{}},
		{"GB DDP with UK VAT", "GB", logistics.IncotermDDP, logistics.TaxIDs{UKVAT: "123456789"}, "100.00", "GBP", "uk_low_value", CollectCheckout, []string{}},
		{"GB DDP above GBP 135", "GB", logistics.IncotermDDP, logistics.TaxIDs{}, "200.00", "GBP", "uk_standard", CollectBorder, []string{WarnDutyRateUnknown}},
		{"US DDP", "US", logistics.IncotermDDP, logistics.TaxIDs{}, "100.00", "USD", "us_informal", CollectBorder, []string{WarnDutyRateUnknown}},
		{"US DAP", "US", logistics.IncotermDAP, logistics.TaxIDs{}, "100.00", "USD", "us_informal", CollectBorder, []string{WarnDutyRateUnknown}},
		{"AU DDP", "AU", logistics.IncotermDDP, logistics.TaxIDs{}, "100.00", "AUD", "au_low_value", CollectCheckout, []string{}},
		{"AU DAP", "AU", logistics.IncotermDAP, logistics.TaxIDs{}, "100.00", "AUD", "au_low_value", CollectCheckout, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", tc.price, tc.currency)}, Destination: tc.dest,
				Incoterm: tc.incoterm, TaxIDs: tc.ids, Date: day("2026-01-15")})
			require.NoError(t, err)
			assert.Equal(t, tc.regime, d.Regime)
			assert.Equal(t, tc.vat, d.VATCollection)
			assert.Equal(t, tc.incoterm, d.Incoterm)
			assert.Equal(t, tc.warnings, d.Warnings)
		})
	}
}

func TestMultiCurrencyCarts(t *testing.T) {
	e := newEngine(t, func(r *Rules) {
		r.Duties = []DutyRate{{Zone: "US", HSPrefix: "6109", Rate: pct("10"), Validity: since(day("2021-01-01"), "test tariff")}}
	})
	fx := "fx_rates_as_of:2025-10-21"
	tests := []struct {
		name     string
		dest     string
		ids      logistics.TaxIDs
		items    []logistics.Item
		regime   string
		money    [5]string
		warnings []string
	}{
		{"three currencies each under EUR 150 add up to more", "DE", logistics.TaxIDs{IOSS: validIOSS},
			[]logistics.Item{item("610910", "CN", "50.00", "EUR"), item("610920", "CN", "50.00", "GBP"), item("610930", "CN", "50.00", "USD")},
			// 50 + 50 / 0.8678 + 50 / 1.1607 = EUR 150.6944...; 19 % is 28.6319...
			"eu_standard", [5]string{"EUR", "0.00", "28.63", "0.00", "28.63"}, []string{WarnDutyRateUnknown, fx}},
		{"three currencies under EUR 150", "DE", logistics.TaxIDs{IOSS: validIOSS},
			[]logistics.Item{item("610910", "CN", "50.00", "EUR"), item("610920", "CN", "40.00", "GBP"), item("610930", "CN", "40.00", "USD")},
			// 50 + 46.0935... + 34.4619... = EUR 130.5555...; 19 % is 24.8055...
			"eu_ioss", [5]string{"EUR", "0.00", "24.81", "0.00", "24.81"}, []string{fx}},
		{"duty on each line converted", "US", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "VN", "100.00", "USD"), item("610910", "VN", "100.00", "EUR")},
			// (100 + 116.07) x 10 % = 21.607
			"us_informal", [5]string{"USD", "21.61", "0.00", "0.00", "21.61"}, []string{fx}},
		{"rounded once at the end, not per line", "AU", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "VN", "0.01", "EUR"), item("610920", "VN", "0.01", "GBP"), item("610930", "VN", "0.01", "USD")},
			// AUD 0.0179 + 0.0206 + 0.0154 = 0.0539; GST 0.0054 rounds to 0.01, per line it would be 3 x 0.00
			"au_low_value", [5]string{"AUD", "0.00", "0.01", "0.00", "0.01"}, []string{fx}},
		{"one foreign line is enough to cite the rate table", "GB", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "10.00", "GBP"), item("610920", "CN", "10.00", "EUR")},
			// 10 + 8.678 = 18.678; 20 % is 3.7356
			"uk_low_value", [5]string{"GBP", "0.00", "3.74", "0.00", "3.74"}, []string{fx}},
		{"unsupported destination answers zero in the first item's currency", "JP", logistics.TaxIDs{},
			[]logistics.Item{item("610910", "CN", "10.00", "GBP"), item("610920", "CN", "10.00", "EUR")},
			RegimeUnsupported, [5]string{"GBP", "0.00", "0.00", "0.00", "0.00"}, []string{WarnNoRules}},
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

	t.Run("a currency the table lacks names its item", func(t *testing.T) {
		_, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", "10.00", "GBP"), item("610920", "CN", "10.00", "EUR"),
			item("610930", "CN", "10.00", "NOK")}, Destination: "DE", Date: day("2025-11-03")})
		require.Error(t, err)
		assert.Equal(t, logistics.CodeInvalid, logistics.ErrorCode(err))
		var le *logistics.Error
		require.ErrorAs(t, err, &le)
		require.Len(t, le.Details, 1)
		assert.Equal(t, "items[2].unit_price.currency", le.Details[0].Field)
	})
	t.Run("every bad field is named", func(t *testing.T) {
		_, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", "10.00", "eur"), item("610920", "CN", "10.00", "XYZ")},
			Destination: "DE", Date: day("2025-11-03")})
		var le *logistics.Error
		require.ErrorAs(t, err, &le)
		var fields []string
		for _, p := range le.Details {
			fields = append(fields, p.Field)
		}
		assert.Equal(t, []string{"items[0].unit_price.currency", "items[1].unit_price.currency"}, fields)
	})
}

// TestFeeMixedHSLines: the EUR 3 is per distinct 6-digit HS code, whatever
// the quantities, the longer national codes or the line count.
func TestFeeMixedHSLines(t *testing.T) {
	e := newEngine(t, nil)
	tests := []struct {
		name   string
		items  []logistics.Item
		fees   string
		regime string
	}{
		{"one line", []logistics.Item{item("610910", "CN", "10.00", "EUR")}, "3.00", "eu_ioss"},
		{"quantity does not multiply the fee", []logistics.Item{withQty(item("610910", "CN", "10.00", "EUR"), 5)}, "3.00", "eu_ioss"},
		{"three national codes under one HS-6", []logistics.Item{item("6109100010", "CN", "10.00", "EUR"),
			item("6109100090", "CN", "10.00", "EUR"), item("61091000", "CN", "10.00", "EUR")}, "3.00", "eu_ioss"},
		{"two chapters, three HS-6", []logistics.Item{item("610910", "CN", "10.00", "EUR"), item("610990", "CN", "10.00", "EUR"),
			item("420222", "CN", "10.00", "EUR"), item("4202.22.10", "CN", "10.00", "EUR")}, "9.00", "eu_ioss"},
		{"a line without a valid HS code is blocked and not counted", []logistics.Item{item("610910", "CN", "10.00", "EUR"),
			item("6109", "CN", "10.00", "EUR")}, "3.00", "eu_ioss"},
		{"mixed currencies count the same", []logistics.Item{item("610910", "CN", "10.00", "GBP"), item("420222", "CN", "10.00", "USD")},
			"6.00", "eu_ioss"},
		{"no fee above EUR 150, however many lines", []logistics.Item{item("610910", "CN", "100.00", "EUR"),
			item("420222", "CN", "50.01", "EUR")}, "0.00", "eu_standard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: tc.items, Destination: "AT", TaxIDs: logistics.TaxIDs{IOSS: validIOSS}, Date: day("2026-07-01")})
			require.NoError(t, err)
			assert.Equal(t, tc.regime, d.Regime)
			assert.Equal(t, tc.fees, d.Fees.Amount.StringFixed(2))
			assert.True(t, d.Total.Amount.Equal(d.Duties.Amount.Add(d.Taxes.Amount).Add(d.Fees.Amount)))
		})
	}
}

// TestUnknownDutyRates: a line without an operator rate is warned and counts
// no duty; it never gets an invented rate, in any zone that charges duty.
func TestUnknownDutyRates(t *testing.T) {
	e := newEngine(t, func(r *Rules) {
		r.Duties = []DutyRate{
			{Zone: "GB", HSPrefix: "6109", Rate: pct("12"), Validity: since(day("2021-01-01"), "test tariff")},
			{Zone: "AU", HSPrefix: "6109", Rate: pct("5"), Validity: between(day("2018-07-01"), day("2026-01-01"), "test tariff")},
		}
	})
	tests := []struct {
		name     string
		dest     string
		date     string
		items    []logistics.Item
		money    [5]string
		warnings []string
	}{
		{"GB known rate", "GB", "2026-01-15", []logistics.Item{item("610910", "CN", "200.00", "GBP")},
			[5]string{"GBP", "24.00", "44.80", "0.00", "68.80"}, []string{}},
		{"GB one line unknown", "GB", "2026-01-15", []logistics.Item{item("610910", "CN", "200.00", "GBP"), item("420222", "CN", "100.00", "GBP")},
			[5]string{"GBP", "24.00", "64.80", "0.00", "88.80"}, []string{WarnDutyRateUnknown}},
		{"AU rate in force on 2025-12-31", "AU", "2025-12-31", []logistics.Item{item("610910", "CN", "2000.00", "AUD")},
			[5]string{"AUD", "100.00", "210.00", "0.00", "310.00"}, []string{}},
		{"AU rate ended on 2026-01-01", "AU", "2026-01-01", []logistics.Item{item("610910", "CN", "2000.00", "AUD")},
			[5]string{"AUD", "0.00", "200.00", "0.00", "200.00"}, []string{WarnDutyRateUnknown}},
		{"US has no rate at all", "US", "2026-01-15", []logistics.Item{item("610910", "CN", "200.00", "USD")},
			[5]string{"USD", "0.00", "0.00", "0.00", "0.00"}, []string{WarnDutyRateUnknown}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := e.Decide(Input{Items: tc.items, Destination: tc.dest, Date: day(tc.date)})
			require.NoError(t, err)
			assert.Equal(t, tc.money, amounts(d))
			assert.Equal(t, tc.warnings, d.Warnings)
		})
	}
}

func withQty(it logistics.Item, q int) logistics.Item {
	it.Quantity = q
	return it
}
