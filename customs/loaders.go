package customs

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// maxDutyRate bounds a duty rate read from a file. Rates are fractions
// (0.12 for 12 %); the highest real ad valorem rates are a few hundred per
// cent, so a larger number is almost surely a percentage typed as a fraction.
var maxDutyRate = decimal.NewFromInt(10)

// ParseFeeScope reads the fee-scope setting (case-insensitive, spaces
// ignored): "all_low_value" (also the meaning of ""), or "ioss_only". Any
// other word is an error naming the accepted ones.
func ParseFeeScope(s string) (FeeScope, error) {
	switch v := FeeScope(strings.ToLower(strings.TrimSpace(s))); v {
	case "", FeeScopeAllLowValue:
		return FeeScopeAllLowValue, nil
	case FeeScopeIOSSOnly:
		return v, nil
	default:
		return "", fmt.Errorf("fee scope %q: must be %s or %s", s, FeeScopeAllLowValue, FeeScopeIOSSOnly)
	}
}

// LoadDutyRatesCSV reads the operator's duty-rate table: a header row naming
// the columns zone, hs_prefix, origin, rate, effective_from, effective_to and
// source (origin and effective_to may be left out or empty; other columns
// are ignored), then one DutyRate per row. rate is a fraction (0.12 for
// 12 %), dates are YYYY-MM-DD with effective_to exclusive, hs_prefix is 2 to
// 10 digits (dots and spaces are dropped), origin an ISO 3166-1 alpha-2 code
// or empty for any origin, and every row needs a source. The error names the
// line of each problem found (the first ten), including two rows for the
// same zone, prefix and origin whose dates overlap.
func LoadDutyRatesCSV(r io.Reader) ([]DutyRate, error) {
	const what = "duty rates"
	cr, col, err := openCSV(r, what, []string{"zone", "hs_prefix", "rate", "effective_from", "source"})
	if err != nil {
		return nil, err
	}
	rows := []DutyRate{}
	var lines []int
	var errs rowErrors
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		line, _ := cr.FieldPos(0)
		get := field(rec, col)
		d := DutyRate{
			Zone:     strings.ToUpper(get("zone")),
			HSPrefix: strings.NewReplacer(".", "", " ", "").Replace(get("hs_prefix")),
			Origin:   strings.ToUpper(get("origin")),
		}
		ok := true
		bad := func(format string, args ...any) { errs.add(what, line, format, args...); ok = false }
		if d.Zone == "" {
			bad("zone is empty")
		}
		if !hsPrefix.MatchString(d.HSPrefix) {
			bad("hs_prefix %q must be 2 to 10 digits", get("hs_prefix"))
		}
		if d.Origin != "" && !countryCode.MatchString(d.Origin) {
			bad("origin %q must be an ISO 3166-1 alpha-2 code or empty for any origin", get("origin"))
		}
		if d.Rate, err = decimal.NewFromString(get("rate")); err != nil || d.Rate.IsNegative() || d.Rate.GreaterThan(maxDutyRate) {
			bad("rate %q must be a decimal fraction from 0 to %s (0.12 for 12 %%)", get("rate"), maxDutyRate)
		}
		var problem string
		if d.Validity, problem = readValidity(get); problem != "" {
			bad("%s", problem)
		}
		if !ok {
			continue
		}
		for j, o := range rows {
			if o.Zone == d.Zone && o.HSPrefix == d.HSPrefix && o.Origin == d.Origin && overlaps(o.Validity, d.Validity) {
				bad("%s %s origin %q overlaps the dates of line %d", d.Zone, d.HSPrefix, d.Origin, lines[j])
			}
		}
		if ok {
			rows, lines = append(rows, d), append(lines, line)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return rows, nil
}

// readValidity reads effective_from, effective_to and source.
func readValidity(get func(string) string) (Validity, string) {
	var v Validity
	var err error
	if v.EffectiveFrom, err = time.Parse(time.DateOnly, get("effective_from")); err != nil {
		return v, fmt.Sprintf("effective_from %q must be a date YYYY-MM-DD", get("effective_from"))
	}
	if to := get("effective_to"); to != "" {
		if v.EffectiveTo, err = time.Parse(time.DateOnly, to); err != nil {
			return v, fmt.Sprintf("effective_to %q must be a date YYYY-MM-DD or empty", to)
		}
		if !v.EffectiveTo.After(v.EffectiveFrom) {
			return v, fmt.Sprintf("effective_to %s must be after effective_from %s (it is exclusive)", to, get("effective_from"))
		}
	}
	if v.Source = get("source"); v.Source == "" {
		return v, "source is empty; every rate must say where it comes from"
	}
	return v, ""
}

// LoadFXRatesCSV reads the operator's exchange-rate table: a header row
// naming the columns currency, per_eur, as_of and source (others are
// ignored), then one rate per row as units of the currency per 1 EUR (the
// ECB convention). All rows share one as_of date (YYYY-MM-DD); the table's
// source lists the rows' distinct sources in order. EUR is added at 1 when
// absent and must be 1 when present. NewEngine further requires XDR (the
// SDR) and the regimes' currencies. The error names the line of each problem
// found (the first ten).
func LoadFXRatesCSV(r io.Reader) (FXTable, error) {
	const what = "fx rates"
	cr, col, err := openCSV(r, what, []string{"currency", "per_eur", "as_of", "source"})
	if err != nil {
		return FXTable{}, err
	}
	t := FXTable{PerEUR: map[string]decimal.Decimal{}}
	seen := map[string]int{}
	var sources []string
	asOfLine := 0
	var errs rowErrors
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return FXTable{}, fmt.Errorf("%s: %w", what, err)
		}
		line, _ := cr.FieldPos(0)
		get := field(rec, col)
		cur := strings.ToUpper(get("currency"))
		switch rate, err := decimal.NewFromString(get("per_eur")); {
		case !currencyCode.MatchString(cur):
			errs.add(what, line, "currency %q must be an ISO 4217 code such as USD", get("currency"))
		case seen[cur] != 0:
			errs.add(what, line, "%s is already on line %d", cur, seen[cur])
		case err != nil || !rate.IsPositive():
			errs.add(what, line, "per_eur %q must be a positive decimal (units of %s per 1 EUR)", get("per_eur"), cur)
		case cur == "EUR" && !rate.Equal(decimal.NewFromInt(1)):
			errs.add(what, line, "EUR per EUR must be 1, not %s", rate)
		default:
			seen[cur] = line
			t.PerEUR[cur] = rate
		}
		asOf, err := time.Parse(time.DateOnly, get("as_of"))
		switch {
		case err != nil:
			errs.add(what, line, "as_of %q must be a date YYYY-MM-DD", get("as_of"))
		case t.AsOf.IsZero():
			t.AsOf, asOfLine = asOf, line
		case !asOf.Equal(t.AsOf):
			errs.add(what, line, "as_of %s differs from %s on line %d; one table has one date", get("as_of"),
				t.AsOf.Format(time.DateOnly), asOfLine)
		}
		switch src := get("source"); {
		case src == "":
			errs.add(what, line, "source is empty; every rate must say where it comes from")
		case !slices.Contains(sources, src):
			sources = append(sources, src)
		}
	}
	if err := errs.err(); err != nil {
		return FXTable{}, err
	}
	if len(seen) == 0 {
		return FXTable{}, fmt.Errorf("%s: no rates after the header", what)
	}
	if _, ok := t.PerEUR["EUR"]; !ok {
		t.PerEUR["EUR"] = decimal.NewFromInt(1)
	}
	t.Source = strings.Join(sources, "; ")
	return t, nil
}
