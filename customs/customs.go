// Package customs decides how an order clears customs at its destination:
// the regime it falls under on its date, who collects VAT and where, the
// declaration form, and an estimate of duties, taxes and fees.
//
// Every rule is data (Rules) with effective dates and a source, so adding a
// destination is adding rows and a test, not control flow. The engine has no
// clock: an order is judged by the rules in force on Input.Date, so a replay
// or a dated quote gives the same answer.
package customs

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossdock/crossdock/logistics"
)

// Words of the decision (contract.md's customs object) and its warnings.
// WarnFXRatesAsOf is followed by the rate table's date (YYYY-MM-DD).
const (
	RegimeUnsupported     = "unsupported"
	CollectCheckout       = "checkout"
	CollectBorder         = "border"
	FormCN22              = "CN22"
	FormCN23              = "CN23"
	FormCommercialInvoice = "commercial_invoice"
	WarnNoRules           = "no_rules_for_destination"
	WarnDutyRateUnknown   = "duty_rate_unknown"
	WarnVATRateUnknown    = "vat_rate_unknown"
	WarnFXRatesAsOf       = "fx_rates_as_of:"
)

// SDR is the currency code of the IMF Special Drawing Right, in which the
// UPU sets the CN22 limit.
const SDR = "XDR"

// FeeScope says which low-value bands a per-line fee applies to.
type FeeScope string

// Fee scopes of domain.md (the EU EUR 3 per distinct HS-6 line).
const (
	FeeScopeAllLowValue FeeScope = "all_low_value"
	FeeScopeIOSSOnly    FeeScope = "ioss_only"
)

// Rules is everything the engine knows, as data. DefaultRules returns the
// shipped set; operators add Duties (LoadDutyRatesCSV), refresh FX
// (LoadFXRatesCSV) and choose the denied-party list (LoadDeniedPartiesCSV).
type Rules struct {
	Regimes []RegimeRule
	VAT     []VATRate
	Duties  []DutyRate
	FX      FXTable
	// FeeScope selects which bands' per-line fee applies; "" means all_low_value.
	FeeScope FeeScope
	// CN22LimitSDR is the UPU value limit of a CN22, in SDR.
	CN22LimitSDR decimal.Decimal
	// VagueDescriptions are words a customs officer cannot act on; an item
	// whose description is made only of these words is blocked.
	VagueDescriptions []string
	// DeniedParties screens each consignee (LoadDeniedPartiesCSV); nil means
	// no denied-party screening. DefaultRules leaves it nil: the composition
	// root chooses the list.
	DeniedParties *DeniedPartyList
}

// Validity says when a row is in force and where its facts come from.
// Dates are calendar days; EffectiveTo is exclusive and zero while in force.
type Validity struct {
	EffectiveFrom time.Time
	EffectiveTo   time.Time
	Source        string
}

// RegimeRule is one version of a destination's customs regime: the bands an
// order's goods value falls into, in Currency, while the rule is in force.
type RegimeRule struct {
	Validity
	// Zone names the customs territory (e.g. "EU"); duty rows refer to it.
	Zone         string
	Destinations []string // ISO 3166-1 alpha-2 countries
	// Currency is the currency of the band limits and of every amount decided.
	Currency string
	// Bands are tried in order and the first that matches decides; the last
	// must be unbounded and unconditional.
	Bands []Band
}

// Band is one line of a regime: a value limit, optional conditions, and
// what follows from falling into it.
type Band struct {
	UpTo decimal.NullDecimal // inclusive limit of goods value; not Valid = no limit
	// RequireTaxID ("ioss" or "uk_vat") must be present and well formed.
	RequireTaxID string
	// ExcludeOrigins: the band does not match if any item comes from one.
	ExcludeOrigins []string

	Regime        string
	VATCollection string
	DutyFree      bool // no tariff duty by regime
	VAT           bool // VAT/GST applies on goods value plus duties
	// FeePerHS6 is charged per distinct 6-digit HS code when the engine's
	// FeeScope is one of FeeScopes.
	FeePerHS6 decimal.Decimal
	FeeScopes []FeeScope
	// WantTaxID should travel with the shipment under WantIncoterm ("" =
	// any); when absent the decision warns "<id>_missing".
	WantTaxID    string
	WantIncoterm logistics.Incoterm
}

// VATRate is a country's standard VAT or GST rate (a fraction: 0.19).
type VATRate struct {
	Validity
	Country string
	Rate    decimal.Decimal
}

// DutyRate is an ad valorem duty (a fraction of goods value) for HS codes
// starting with HSPrefix entering Zone, from Origin or ("") any origin. The
// longest matching prefix wins; an origin-specific row beats a general one.
type DutyRate struct {
	Validity
	Zone     string
	HSPrefix string
	Origin   string
	Rate     decimal.Decimal
}

// FXTable holds exchange rates as units of each currency per 1 EUR (the
// ECB's convention), all of one date. It must include EUR (1) and XDR.
type FXTable struct {
	AsOf   time.Time
	Source string
	PerEUR map[string]decimal.Decimal
}

// Engine applies Rules. It is immutable after NewEngine and safe for
// concurrent use.
type Engine struct{ rules Rules }

var (
	countryCode  = regexp.MustCompile(`^[A-Z]{2}$`)
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
	hsPrefix     = regexp.MustCompile(`^[0-9]{2,10}$`)
)

// taxIDs knows how to read and check each tax id a band may name.
var taxIDs = map[string]struct {
	pattern *regexp.Regexp
	get     func(logistics.TaxIDs) string
}{
	"ioss":   {regexp.MustCompile(`^IM[0-9]{10}$`), func(t logistics.TaxIDs) string { return t.IOSS }},
	"uk_vat": {regexp.MustCompile(`^(GB)?([0-9]{9}|[0-9]{12})$`), func(t logistics.TaxIDs) string { return t.UKVAT }},
}

// NewEngine checks the rules and returns an engine over a copy of them. The
// error lists every problem found: overlapping effective ranges, missing
// sources or dates, unknown currencies, malformed bands or rates.
func NewEngine(r Rules) (*Engine, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	r.FX.PerEUR = maps.Clone(r.FX.PerEUR)
	r.FX.AsOf = civil(r.FX.AsOf)
	if r.FX.AsOf.IsZero() || r.FX.Source == "" {
		bad("fx table: as-of date and source are required")
	}
	for cur, rate := range r.FX.PerEUR {
		if !currencyCode.MatchString(cur) || !rate.IsPositive() {
			bad("fx table: %q needs a 3-letter code and a positive rate", cur)
		}
	}
	if one, ok := r.FX.PerEUR["EUR"]; !ok || !one.Equal(decimal.NewFromInt(1)) {
		bad("fx table: EUR must be present with rate 1")
	}
	if _, ok := r.FX.PerEUR[SDR]; !ok || !r.CN22LimitSDR.IsPositive() {
		bad("fx table: %s (SDR) and a positive CN22 limit in SDR are required", SDR)
	}
	if r.FeeScope == "" {
		r.FeeScope = FeeScopeAllLowValue
	}
	if r.FeeScope != FeeScopeAllLowValue && r.FeeScope != FeeScopeIOSSOnly {
		bad("fee scope %q: must be all_low_value or ioss_only", r.FeeScope)
	}

	r.Regimes = checkRows("regime", r.Regimes, func(g *RegimeRule) *Validity { return &g.Validity },
		func(g RegimeRule) []string { return g.Destinations }, bad)
	for i, g := range r.Regimes {
		name := fmt.Sprintf("regime row %d (%s)", i, g.Zone)
		if _, ok := r.FX.PerEUR[g.Currency]; !ok || g.Zone == "" || len(g.Destinations) == 0 {
			bad("%s: needs a zone, destinations and a currency of the fx table (got %q)", name, g.Currency)
		}
		for _, dest := range g.Destinations {
			if !countryCode.MatchString(dest) {
				bad("%s: destination %q is not an ISO 3166-1 alpha-2 code", name, dest)
			}
		}
		checkBands(name, g.Bands, bad)
	}
	r.VAT = checkRows("vat", r.VAT, func(v *VATRate) *Validity { return &v.Validity },
		func(v VATRate) []string { return []string{v.Country} }, bad)
	for i, v := range r.VAT {
		if !countryCode.MatchString(v.Country) || v.Rate.IsNegative() || v.Rate.GreaterThanOrEqual(decimal.NewFromInt(1)) {
			bad("vat row %d (%s): needs a country code and a rate in [0, 1)", i, v.Country)
		}
	}
	r.Duties = checkRows("duty", r.Duties, func(d *DutyRate) *Validity { return &d.Validity },
		func(d DutyRate) []string { return []string{d.Zone + "|" + d.HSPrefix + "|" + d.Origin} }, bad)
	for i, d := range r.Duties {
		if d.Zone == "" || !hsPrefix.MatchString(d.HSPrefix) || (d.Origin != "" && !countryCode.MatchString(d.Origin)) || d.Rate.IsNegative() {
			bad("duty row %d (%s %s): needs a zone, a 2-10 digit HS prefix, an optional origin and a rate >= 0", i, d.Zone, d.HSPrefix)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("customs rules are invalid: %w", errors.Join(errs...))
	}
	r.VagueDescriptions = slices.Clone(r.VagueDescriptions)
	for i, w := range r.VagueDescriptions {
		r.VagueDescriptions[i] = strings.ToLower(w)
	}
	return &Engine{rules: r}, nil
}

// checkRows returns a copy of rows with dates as calendar days, reporting
// rows without a source or start, backwards ranges, and rows sharing a key
// whose ranges overlap.
func checkRows[T any](what string, rows []T, validity func(*T) *Validity, keys func(T) []string, bad func(string, ...any)) []T {
	rows = slices.Clone(rows)
	for i := range rows {
		v := validity(&rows[i])
		v.EffectiveFrom, v.EffectiveTo = civil(v.EffectiveFrom), civil(v.EffectiveTo)
		if v.Source == "" || v.EffectiveFrom.IsZero() || (!v.EffectiveTo.IsZero() && !v.EffectiveTo.After(v.EffectiveFrom)) {
			bad("%s row %d: needs a source and an effective-from date before its effective-to", what, i)
		}
		for j := range i {
			o := validity(&rows[j])
			for _, k := range keys(rows[i]) {
				if slices.Contains(keys(rows[j]), k) && overlaps(*v, *o) {
					bad("%s row %d: overlaps row %d for %s", what, i, j, k)
				}
			}
		}
	}
	return rows
}

func checkBands(name string, bands []Band, bad func(string, ...any)) {
	if len(bands) == 0 {
		bad("%s: at least one band is required", name)
		return
	}
	if last := bands[len(bands)-1]; last.UpTo.Valid || last.RequireTaxID != "" || len(last.ExcludeOrigins) > 0 {
		bad("%s: the last band must have no limit and no conditions", name)
	}
	for j, b := range bands {
		_, knownReq := taxIDs[b.RequireTaxID]
		_, knownWant := taxIDs[b.WantTaxID]
		switch {
		case b.Regime == "" || (b.VATCollection != CollectCheckout && b.VATCollection != CollectBorder):
			bad("%s band %d: needs a regime and vat collection checkout or border", name, j)
		case j < len(bands)-1 && !b.UpTo.Valid:
			bad("%s band %d: only the last band may be unbounded", name, j)
		case j > 0 && b.UpTo.Valid && b.UpTo.Decimal.LessThan(bands[j-1].UpTo.Decimal):
			bad("%s band %d: limits must not decrease", name, j)
		case b.FeePerHS6.IsNegative():
			bad("%s band %d: fee must not be negative", name, j)
		case (b.RequireTaxID != "" && !knownReq) || (b.WantTaxID != "" && !knownWant):
			bad("%s band %d: unknown tax id", name, j)
		}
	}
}

// civil returns t's calendar day (in t's own location) as midnight UTC.
func civil(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// inForce reports whether the calendar day falls in the row's range.
func (v Validity) inForce(day time.Time) bool {
	return !day.Before(v.EffectiveFrom) && (v.EffectiveTo.IsZero() || day.Before(v.EffectiveTo))
}

func overlaps(a, b Validity) bool {
	return (a.EffectiveTo.IsZero() || b.EffectiveFrom.Before(a.EffectiveTo)) &&
		(b.EffectiveTo.IsZero() || a.EffectiveFrom.Before(b.EffectiveTo))
}
