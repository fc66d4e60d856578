package customs

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossdock/crossdock/logistics"
)

// eu27 lists the member states of the European Union (ISO codes; Greece is GR).
var eu27 = []string{"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
	"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}

// Sources cited by the shipped rows. domain.md is Crossdock's own summary;
// where an official source disagrees, the official source wins and the row
// must be changed to say so.
const (
	srcDomain = "domain.md (Crossdock cross-border rules)"
	srcEUVAT  = srcDomain + "; European Commission, VAT rates in the EU member states (taxation-customs.ec.europa.eu)"
)

// DefaultRules returns the rules Crossdock ships with, from domain.md: the
// first-wave destinations (US, EU-27, GB, AU), standard VAT/GST rates with
// their dates, an ECB rate table with the IMF SDR rate of the same day, and
// an empty duty table (duty rates are operator data; never invented).
//
// EU VAT rows start at 2021-07-01, when the IOSS regime, the earliest EU rule
// shipped, came into force; member states not listed in domain.md have no
// rate yet and answer "vat_rate_unknown".
func DefaultRules() Rules {
	return Rules{
		Regimes:           defaultRegimes(),
		VAT:               defaultVAT(),
		Duties:            nil,
		FX:                defaultFX(),
		FeeScope:          FeeScopeAllLowValue,
		CN22LimitSDR:      decimal.NewFromInt(300),
		VagueDescriptions: defaultVague(),
	}
}

func defaultRegimes() []RegimeRule {
	usInformal := Band{UpTo: upTo("2500"), Regime: "us_informal", VATCollection: CollectBorder}
	usFormal := Band{Regime: "us_formal", VATCollection: CollectBorder}
	usDeMinimis := Band{UpTo: upTo("800"), Regime: "us_de_minimis", VATCollection: CollectBorder, DutyFree: true}
	usDeMinimisNoCN := usDeMinimis
	usDeMinimisNoCN.ExcludeOrigins = []string{"CN", "HK"}

	euBands := func(fee decimal.Decimal) []Band {
		return []Band{
			{UpTo: upTo("150"), RequireTaxID: "ioss", Regime: "eu_ioss", VATCollection: CollectCheckout, DutyFree: true, VAT: true,
				FeePerHS6: fee, FeeScopes: []FeeScope{FeeScopeAllLowValue, FeeScopeIOSSOnly}},
			{UpTo: upTo("150"), Regime: "eu_low_value", VATCollection: CollectBorder, DutyFree: true, VAT: true,
				FeePerHS6: fee, FeeScopes: []FeeScope{FeeScopeAllLowValue}},
			{Regime: "eu_standard", VATCollection: CollectBorder, VAT: true},
		}
	}

	return []RegimeRule{
		{Zone: "US", Destinations: []string{"US"}, Currency: "USD", Bands: []Band{usDeMinimis, usInformal, usFormal},
			Validity: between(date(2016, 3, 10), date(2025, 5, 2), srcDomain+
				"; 19 U.S.C. 1321 (Section 321, USD 800 from 2016-03-10); 19 CFR 143.21 (informal entry up to USD 2,500)")},
		{Zone: "US", Destinations: []string{"US"}, Currency: "USD", Bands: []Band{usDeMinimisNoCN, usInformal, usFormal},
			Validity: between(date(2025, 5, 2), date(2025, 8, 29), srcDomain+
				"; Executive Order 14256 (de minimis ends for CN and HK origin from 2025-05-02)")},
		{Zone: "US", Destinations: []string{"US"}, Currency: "USD", Bands: []Band{usInformal, usFormal},
			Validity: since(date(2025, 8, 29), srcDomain+
				"; Executive Order 14324 (duty-free de minimis suspended for all countries from 2025-08-29)")},
		{Zone: "EU", Destinations: slices.Clone(eu27), Currency: "EUR", Bands: euBands(decimal.Zero),
			Validity: between(date(2021, 7, 1), date(2026, 7, 1), srcDomain+
				"; Council Directive (EU) 2017/2455 and Regulation (EU) 2017/2454 (IOSS from 2021-07-01)")},
		{Zone: "EU", Destinations: slices.Clone(eu27), Currency: "EUR", Bands: euBands(decimal.NewFromInt(3)),
			Validity: since(date(2026, 7, 1), srcDomain+
				"; EUR 3 per distinct HS-6 line on low-value consignments from 2026-07-01, scope per Commission guidance notes of 2026-06-02")},
		{Zone: "GB", Destinations: []string{"GB"}, Currency: "GBP",
			Validity: since(date(2021, 1, 1), srcDomain+
				"; HMRC, VAT and overseas goods sold directly to customers in the UK (from 2021-01-01)"),
			Bands: []Band{
				{UpTo: upTo("135"), Regime: "uk_low_value", VATCollection: CollectCheckout, DutyFree: true, VAT: true,
					WantTaxID: "uk_vat", WantIncoterm: logistics.IncotermDDP},
				{Regime: "uk_standard", VATCollection: CollectBorder, VAT: true},
			}},
		{Zone: "AU", Destinations: []string{"AU"}, Currency: "AUD",
			Validity: since(date(2018, 7, 1), srcDomain+"; ATO, GST on low value imported goods (from 2018-07-01)"),
			Bands: []Band{
				{UpTo: upTo("1000"), Regime: "au_low_value", VATCollection: CollectCheckout, DutyFree: true, VAT: true},
				{Regime: "au_standard", VATCollection: CollectBorder, VAT: true},
			}},
	}
}

func defaultVAT() []VATRate {
	euStart := date(2021, 7, 1)
	rows := []VATRate{
		{Country: "GB", Rate: pct("20"), Validity: since(date(2021, 1, 1), srcDomain+"; GOV.UK, VAT rates (standard 20 %)")},
		{Country: "AU", Rate: pct("10"), Validity: since(date(2018, 7, 1), srcDomain+"; ATO, GST 10 %")},
		{Country: "FI", Rate: pct("24"), Validity: between(euStart, date(2024, 9, 1), srcEUVAT)},
		{Country: "FI", Rate: pct("25.5"), Validity: since(date(2024, 9, 1), srcEUVAT+"; Vero.fi (25.5 % from 2024-09-01)")},
		{Country: "SK", Rate: pct("20"), Validity: between(euStart, date(2025, 1, 1), srcEUVAT)},
		{Country: "SK", Rate: pct("23"), Validity: since(date(2025, 1, 1), srcEUVAT+"; Financna sprava (23 % from 2025-01-01)")},
		{Country: "EE", Rate: pct("20"), Validity: between(euStart, date(2024, 1, 1), srcEUVAT)},
		{Country: "EE", Rate: pct("22"), Validity: between(date(2024, 1, 1), date(2025, 7, 1), srcEUVAT+"; EMTA (22 % from 2024-01-01)")},
		{Country: "EE", Rate: pct("24"), Validity: since(date(2025, 7, 1), srcEUVAT+"; EMTA (24 % from 2025-07-01)")},
		{Country: "RO", Rate: pct("19"), Validity: between(euStart, date(2025, 8, 1), srcEUVAT)},
		{Country: "RO", Rate: pct("21"), Validity: since(date(2025, 8, 1), srcEUVAT+"; ANAF (21 % from 2025-08-01)")},
	}
	for _, c := range []struct{ country, rate string }{
		{"DE", "19"}, {"FR", "20"}, {"IT", "22"}, {"ES", "21"}, {"NL", "21"}, {"BE", "21"}, {"AT", "20"},
		{"IE", "23"}, {"PL", "23"}, {"SE", "25"}, {"DK", "25"}, {"PT", "23"},
	} {
		rows = append(rows, VATRate{Country: c.country, Rate: pct(c.rate), Validity: since(euStart, srcEUVAT)})
	}
	return rows
}

// defaultFX is the ECB euro reference rate table of 2025-10-21 with the IMF
// SDR rate of the same day (SDR per EUR). Operators refresh it; the as-of
// date travels in every decision that converts.
func defaultFX() FXTable {
	rates := map[string]decimal.Decimal{"EUR": decimal.NewFromInt(1)}
	for cur, r := range map[string]string{
		"USD": "1.1607", "GBP": "0.86780", "AUD": "1.7885", "CNY": "8.2626", "HKD": "9.0204",
		"JPY": "176.45", "CAD": "1.6301", "CHF": "0.9230", "SEK": "10.9345", "DKK": "7.4691",
		"PLN": "4.2393", "SGD": "1.5061", "NZD": "2.0287", "MXN": "21.4006", "PHP": "67.761",
		SDR: "0.851239",
	} {
		rates[cur] = decimal.RequireFromString(r)
	}
	return FXTable{
		AsOf:   date(2025, 10, 21),
		Source: "ECB euro foreign exchange reference rates of 2025-10-21; IMF SDR per currency unit (EUR 0.851239) of 2025-10-21",
		PerEUR: rates,
	}
}

func defaultVague() []string {
	return []string{"gift", "gifts", "present", "presents", "goods", "sample", "samples", "item", "items",
		"merchandise", "general", "parts", "stuff", "misc", "miscellaneous", "various", "other", "product",
		"products", "accessories", "novelty", "novelties", "free", "assorted", "a", "an", "the", "of", "and", "for"}
}

func since(from time.Time, source string) Validity {
	return Validity{EffectiveFrom: from, Source: source}
}

func between(from, to time.Time, source string) Validity {
	return Validity{EffectiveFrom: from, EffectiveTo: to, Source: source}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func upTo(s string) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
}

// pct turns a percentage ("25.5") into a fraction (0.255).
func pct(s string) decimal.Decimal { return decimal.RequireFromString(s).Shift(-2) }
