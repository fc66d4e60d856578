package customs

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

func TestLoadDutyRatesCSV(t *testing.T) {
	good := "zone,hs_prefix,origin,rate,effective_from,effective_to,source\n" +
		"EU,6109,,0.12,2021-07-01,,TARIC 2021\n" +
		"EU,6109.10,CN,0.10,2021-07-01,2026-01-01,TARIC 2021 (CN preference)\n" +
		"EU,610910,CN,0.08,2026-01-01,,TARIC 2026\n" +
		"us,420222,vn,1.45,2025-04-09,,\"HTSUS 9903, \"\"reciprocal\"\" tariff\"\n"
	rows, err := LoadDutyRatesCSV(strings.NewReader(good))
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.Equal(t, DutyRate{Zone: "EU", HSPrefix: "610910", Origin: "CN", Rate: decimal.RequireFromString("0.10"),
		Validity: between(day("2021-07-01"), day("2026-01-01"), "TARIC 2021 (CN preference)")}, rows[1])
	assert.Equal(t, "US", rows[3].Zone)
	assert.Equal(t, "VN", rows[3].Origin)
	assert.Equal(t, `HTSUS 9903, "reciprocal" tariff`, rows[3].Source)
	assert.True(t, rows[3].EffectiveTo.IsZero())

	t.Run("the engine uses the loaded rows", func(t *testing.T) {
		e := newEngine(t, func(r *Rules) { r.Duties = rows })
		for _, tc := range []struct{ date, duties string }{{"2025-12-31", "20.00"}, {"2026-01-01", "16.00"}} {
			d, err := e.Decide(Input{Items: []logistics.Item{item("6109100010", "CN", "200.00", "EUR")}, Destination: "DE", Date: day(tc.date)})
			require.NoError(t, err)
			assert.Equal(t, tc.duties, d.Duties.Amount.StringFixed(2), tc.date)
			assert.Empty(t, d.Warnings)
		}
	})
	t.Run("columns in any order, optional ones absent", func(t *testing.T) {
		rows, err := LoadDutyRatesCSV(strings.NewReader("source,rate,hs_prefix,zone,effective_from,note\nTariff,0,85,GB,2021-01-01,free\n"))
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.True(t, rows[0].Rate.IsZero())
		assert.Equal(t, "", rows[0].Origin)
	})
	t.Run("header only is an empty table", func(t *testing.T) {
		rows, err := LoadDutyRatesCSV(strings.NewReader("zone,hs_prefix,origin,rate,effective_from,effective_to,source\n"))
		require.NoError(t, err)
		assert.Empty(t, rows)
	})

	header := "zone,hs_prefix,origin,rate,effective_from,effective_to,source\n"
	for _, tc := range []struct{ name, csv, want string }{
		{"no source column", "zone,hs_prefix,rate,effective_from\nEU,6109,0.1,2021-07-01\n", "no source column"},
		{"missing columns are all named", "zone,origin\n", "no hs_prefix, rate, effective_from, source column"},
		{"empty file", "", "header row is required"},
		{"empty source", header + "EU,6109,,0.12,2021-07-01,,\n", "duty rates line 2: source is empty"},
		{"bad HS prefix", header + "EU,6109,,0.12,2021-07-01,,s\nEU,61A9,,0.12,2021-07-01,,s\n", `line 3: hs_prefix "61A9"`},
		{"HS prefix too short", header + "EU,6,,0.12,2021-07-01,,s\n", `line 2: hs_prefix "6"`},
		{"bad origin", header + "EU,6109,China,0.12,2021-07-01,,s\n", `line 2: origin "China"`},
		{"percentage instead of a fraction", header + "EU,6109,,12,2021-07-01,,s\n", `line 2: rate "12" must be a decimal fraction`},
		{"percent sign", header + "EU,6109,,12%,2021-07-01,,s\n", `line 2: rate "12%"`},
		{"negative rate", header + "EU,6109,,-0.1,2021-07-01,,s\n", `line 2: rate "-0.1"`},
		{"bad date", header + "EU,6109,,0.1,01/07/2021,,s\n", `line 2: effective_from "01/07/2021"`},
		{"bad end date", header + "EU,6109,,0.1,2021-07-01,2021-13-01,s\n", `line 2: effective_to "2021-13-01"`},
		{"end before start", header + "EU,6109,,0.1,2021-07-01,2021-07-01,s\n", "line 2: effective_to 2021-07-01 must be after"},
		{"no zone", header + ",6109,,0.1,2021-07-01,,s\n", "line 2: zone is empty"},
		{"overlapping rows", header + "EU,6109,,0.1,2021-07-01,,s\nEU,6110,,0.1,2021-07-01,,s\nEU,6109,,0.2,2024-01-01,,s\n",
			`line 4: EU 6109 origin "" overlaps the dates of line 2`},
		{"line numbers count quoted line breaks", header + "EU,6109,,0.1,2021-07-01,,\"two\nlines\"\nEU,6110,,x,2021-07-01,,s\n", "line 4: rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDutyRatesCSV(strings.NewReader(tc.csv))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("every bad row is reported", func(t *testing.T) {
		_, err := LoadDutyRatesCSV(strings.NewReader(header + "EU,6109,,x,2021-07-01,,s\nEU,6109,,0.1,2021-07-01,,s\nEU,6110,,0.1,,,s\n"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "line 2: rate")
		assert.Contains(t, err.Error(), "line 4: effective_from")
	})
}

func TestLoadFXRatesCSV(t *testing.T) {
	good := "currency,per_eur,as_of,source\n" +
		"USD,1.1607,2025-10-21,ECB reference rates\n" +
		"gbp,0.86780,2025-10-21,ECB reference rates\n" +
		"AUD,1.7885,2025-10-21,ECB reference rates\n" +
		"XDR,0.851239,2025-10-21,IMF SDR valuation\n"
	fx, err := LoadFXRatesCSV(strings.NewReader(good))
	require.NoError(t, err)
	assert.Equal(t, day("2025-10-21"), fx.AsOf)
	assert.Equal(t, "ECB reference rates; IMF SDR valuation", fx.Source)
	assert.Len(t, fx.PerEUR, 5)
	assert.Equal(t, "1", fx.PerEUR["EUR"].String(), "EUR is implied at 1")
	assert.Equal(t, "0.8678", fx.PerEUR["GBP"].String())

	t.Run("the engine uses the loaded table", func(t *testing.T) {
		e := newEngine(t, func(r *Rules) { r.FX = fx })
		d, err := e.Decide(Input{Items: []logistics.Item{item("610910", "CN", "100.00", "GBP")}, Destination: "DE",
			TaxIDs: logistics.TaxIDs{IOSS: validIOSS}, Date: day("2025-11-03")})
		require.NoError(t, err)
		assert.Equal(t, "21.89", d.Taxes.Amount.StringFixed(2))
		assert.Equal(t, []string{"fx_rates_as_of:2025-10-21"}, d.Warnings)
	})
	t.Run("EUR may be listed at 1", func(t *testing.T) {
		fx, err := LoadFXRatesCSV(strings.NewReader("source,as_of,per_eur,currency\nECB,2025-10-21,1,EUR\nECB,2025-10-21,1.1607,USD\n"))
		require.NoError(t, err)
		assert.Len(t, fx.PerEUR, 2)
	})

	header := "currency,per_eur,as_of,source\n"
	for _, tc := range []struct{ name, csv, want string }{
		{"no as_of column", "currency,per_eur,source\nUSD,1.1,ECB\n", "no as_of column"},
		{"header only", header, "no rates"},
		{"two dates", header + "USD,1.1,2025-10-21,ECB\nGBP,0.8,2025-10-22,ECB\n", "fx rates line 3: as_of 2025-10-22 differs from 2025-10-21 on line 2"},
		{"bad date", header + "USD,1.1,21.10.2025,ECB\n", `line 2: as_of "21.10.2025"`},
		{"bad currency", header + "US Dollar,1.1,2025-10-21,ECB\n", `line 2: currency "US Dollar"`},
		{"duplicate currency", header + "USD,1.1,2025-10-21,ECB\nUSD,1.2,2025-10-21,ECB\n", "line 3: USD is already on line 2"},
		{"zero rate", header + "USD,0,2025-10-21,ECB\n", `line 2: per_eur "0"`},
		{"decimal comma", header + "USD,\"1,1607\",2025-10-21,ECB\n", `line 2: per_eur "1,1607"`},
		{"EUR not 1", header + "EUR,1.1,2025-10-21,ECB\n", "line 2: EUR per EUR must be 1"},
		{"no source", header + "USD,1.1,2025-10-21,\n", "line 2: source is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadFXRatesCSV(strings.NewReader(tc.csv))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("a table without XDR loads but the engine refuses it", func(t *testing.T) {
		fx, err := LoadFXRatesCSV(strings.NewReader(header + "USD,1.1607,2025-10-21,ECB\nGBP,0.8678,2025-10-21,ECB\nAUD,1.7885,2025-10-21,ECB\n"))
		require.NoError(t, err)
		r := DefaultRules()
		r.FX = fx
		_, err = NewEngine(r)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "SDR")
	})
}

func TestParseFeeScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FeeScope
	}{
		{"all_low_value", FeeScopeAllLowValue}, {"ioss_only", FeeScopeIOSSOnly}, {" IOSS_ONLY ", FeeScopeIOSSOnly}, {"", FeeScopeAllLowValue},
	} {
		got, err := ParseFeeScope(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	_, err := ParseFeeScope("ioss")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "all_low_value or ioss_only")
}
