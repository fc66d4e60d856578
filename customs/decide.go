package customs

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"

	"github.com/crossdock/crossdock/logistics"
)

// Input is what the engine needs to decide an order's customs.
type Input struct {
	Items       []logistics.Item
	Destination string // ISO 3166-1 alpha-2
	Incoterm    logistics.Incoterm
	TaxIDs      logistics.TaxIDs
	// ChannelType decides the declaration form; "" means courier.
	ChannelType logistics.ChannelType
	// Date is the order's date: the rules in force on its calendar day (in
	// its own location) apply. The engine never reads a clock.
	Date time.Time
	// Consignee is the ship-to party. Its name is screened against
	// Rules.DeniedParties (a match blocks); its address lines, city, region,
	// postcode and country are a secondary signal (a match warns).
	Consignee logistics.Address
}

// Decide returns the customs decision for in. It is pure and deterministic:
// the same rules and input give the same decision. Items may be priced in
// different currencies: each line is converted to the destination's
// currency through the FX table, and amounts are rounded half-even to that
// currency's minor unit only at the end (a destination without rules
// answers zero amounts in the first item's currency). Item problems a customs officer
// would reject (HS code, description, origin) and a consignee on the
// denied-party list block the decision rather than fail it; the error,
// always a *logistics.Error with CodeInvalid, is only for input the engine
// cannot read (no items, a currency the FX table lacks, no date...), and
// names every bad field.
func (e *Engine) Decide(in Input) (logistics.CustomsDecision, error) {
	if err := checkInput(in, e.rules.FX.PerEUR); err != nil {
		return logistics.CustomsDecision{}, err
	}
	day := civil(in.Date)
	c := &converter{fx: e.rules.FX.PerEUR}
	partyReasons, partyWarnings := screenParties(e.rules.DeniedParties, in.Consignee)
	d := logistics.CustomsDecision{
		Incoterm:     in.Incoterm,
		RulesAsOf:    in.Date.Format(time.DateOnly),
		Warnings:     []string{},
		BlockReasons: append(e.screen(in.Items), partyReasons...),
	}
	d.Blocked = len(d.BlockReasons) > 0

	d.DeclarationForm = FormCommercialInvoice
	if in.ChannelType == logistics.ChannelPostal {
		sdr, err := c.goodsValue(in.Items, SDR)
		if err != nil {
			return logistics.CustomsDecision{}, err
		}
		d.DeclarationForm = FormCN23
		if sdr.LessThanOrEqual(e.rules.CN22LimitSDR) {
			d.DeclarationForm = FormCN22
		}
	}

	row, ok := e.regimeFor(in.Destination, day)
	if !ok {
		d.Regime = RegimeUnsupported
		zero := logistics.Money{Amount: decimal.Zero, Currency: in.Items[0].UnitPrice.Currency}
		d.Duties, d.Taxes, d.Fees, d.Total = zero, zero, zero, zero
		d.Warnings = append(d.Warnings, WarnNoRules)
	} else if err := e.assess(&d, c, row, in, day); err != nil {
		return logistics.CustomsDecision{}, err
	}
	d.Warnings = append(d.Warnings, partyWarnings...)
	if c.used {
		d.Warnings = append(d.Warnings, WarnFXRatesAsOf+e.rules.FX.AsOf.Format(time.DateOnly))
	}
	return d, nil
}

// assess fills the regime and the amounts from the regime row in force.
func (e *Engine) assess(d *logistics.CustomsDecision, c *converter, row RegimeRule, in Input, day time.Time) error {
	value, err := c.goodsValue(in.Items, row.Currency)
	if err != nil {
		return err
	}
	b := selectBand(row, value, in)
	d.Regime, d.VATCollection, d.DutyFree = b.Regime, b.VATCollection, b.DutyFree
	d.Warnings = append(d.Warnings, taxIDWarnings(row, b, in)...)

	duties := decimal.Zero
	if !b.DutyFree {
		unknown := false
		for _, it := range in.Items {
			rate, ok := e.dutyRate(row.Zone, normalHS(it.HSCode), it.OriginCountry, day)
			unknown = unknown || !ok
			k, err := c.factor(it.UnitPrice.Currency, row.Currency)
			if err != nil {
				return err
			}
			duties = duties.Add(lineValue(it).Mul(k).Mul(rate))
		}
		if unknown {
			d.Warnings = append(d.Warnings, WarnDutyRateUnknown)
		}
	}

	fees := decimal.Zero
	if b.FeePerHS6.IsPositive() && slices.Contains(b.FeeScopes, e.rules.FeeScope) {
		fees = b.FeePerHS6.Mul(decimal.NewFromInt(int64(distinctHS6(in.Items))))
	}

	taxes := decimal.Zero
	if b.VAT {
		if rate, ok := e.vatRate(in.Destination, day); ok {
			taxes = rate.Mul(value.Add(duties))
		} else {
			d.Warnings = append(d.Warnings, WarnVATRateUnknown)
		}
	}

	// Each component is rounded once, at the end, and the total is their
	// sum, so the parts a buyer sees always add up to the total.
	places := logistics.MinorUnits(row.Currency)
	money := func(a decimal.Decimal) logistics.Money {
		return logistics.Money{Amount: a.RoundBank(places), Currency: row.Currency}
	}
	d.Duties, d.Taxes, d.Fees = money(duties), money(taxes), money(fees)
	d.Total = money(d.Duties.Amount.Add(d.Taxes.Amount).Add(d.Fees.Amount))
	return nil
}

// selectBand returns the first band whose limit and conditions hold.
// NewEngine guarantees the last band always does.
func selectBand(row RegimeRule, value decimal.Decimal, in Input) Band {
	for _, b := range row.Bands {
		if b.UpTo.Valid && value.GreaterThan(b.UpTo.Decimal) {
			continue
		}
		if b.RequireTaxID != "" && !validTaxID(b.RequireTaxID, in.TaxIDs) {
			continue
		}
		if slices.ContainsFunc(in.Items, func(it logistics.Item) bool { return slices.Contains(b.ExcludeOrigins, it.OriginCountry) }) {
			continue
		}
		return b
	}
	return row.Bands[len(row.Bands)-1]
}

// taxIDWarnings reports a tax id the chosen band's regime needs that is
// present but malformed ("<id>_invalid", e.g. an IOSS number that is not
// IM + 10 digits, which is why the order is not eu_ioss) and one the band
// wants that is absent ("<id>_missing").
func taxIDWarnings(row RegimeRule, b Band, in Input) []string {
	var warnings []string
	for _, band := range row.Bands {
		if id := band.RequireTaxID; id != "" && taxIDValue(id, in.TaxIDs) != "" && !validTaxID(id, in.TaxIDs) &&
			!slices.Contains(warnings, id+"_invalid") {
			warnings = append(warnings, id+"_invalid")
		}
	}
	if b.WantTaxID != "" && (b.WantIncoterm == "" || b.WantIncoterm == in.Incoterm) && taxIDValue(b.WantTaxID, in.TaxIDs) == "" {
		warnings = append(warnings, b.WantTaxID+"_missing")
	}
	return warnings
}

func taxIDValue(id string, ids logistics.TaxIDs) string {
	return strings.ToUpper(strings.ReplaceAll(taxIDs[id].get(ids), " ", ""))
}

func validTaxID(id string, ids logistics.TaxIDs) bool {
	return taxIDs[id].pattern.MatchString(taxIDValue(id, ids))
}

func (e *Engine) regimeFor(dest string, day time.Time) (RegimeRule, bool) {
	for _, r := range e.rules.Regimes {
		if slices.Contains(r.Destinations, dest) && r.inForce(day) {
			return r, true
		}
	}
	return RegimeRule{}, false
}

func (e *Engine) vatRate(country string, day time.Time) (decimal.Decimal, bool) {
	for _, v := range e.rules.VAT {
		if v.Country == country && v.inForce(day) {
			return v.Rate, true
		}
	}
	return decimal.Zero, false
}

// dutyRate finds the most specific duty row: longest HS prefix, then an
// origin-specific row before a general one.
func (e *Engine) dutyRate(zone, hs, origin string, day time.Time) (decimal.Decimal, bool) {
	var best *DutyRate
	for i, d := range e.rules.Duties {
		if d.Zone != zone || !strings.HasPrefix(hs, d.HSPrefix) || (d.Origin != "" && d.Origin != origin) ||
			!d.inForce(day) {
			continue
		}
		if best == nil || len(d.HSPrefix) > len(best.HSPrefix) ||
			(len(d.HSPrefix) == len(best.HSPrefix) && d.Origin != "" && best.Origin == "") {
			best = &e.rules.Duties[i]
		}
	}
	if best == nil {
		return decimal.Zero, false
	}
	return best.Rate, true
}

// screen returns one block reason per item problem a customs officer would
// reject: "<reason>: items[<i>] sku <sku>".
func (e *Engine) screen(items []logistics.Item) []string {
	reasons := []string{}
	for i, it := range items {
		where := fmt.Sprintf("items[%d] sku %s", i, it.SKU)
		if len(normalHS(it.HSCode)) < 6 {
			reasons = append(reasons, "hs_code_missing: "+where)
		}
		words := strings.FieldsFunc(strings.ToLower(it.Description), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if len(words) == 0 {
			reasons = append(reasons, "description_missing: "+where)
		} else if !slices.ContainsFunc(words, func(w string) bool { return !slices.Contains(e.rules.VagueDescriptions, w) }) {
			reasons = append(reasons, "description_vague: "+where)
		}
		if !countryCode.MatchString(it.OriginCountry) {
			reasons = append(reasons, "origin_missing: "+where)
		}
	}
	return reasons
}

// normalHS strips the dots and spaces people write in HS codes and returns
// the digits, or "" when the code is not 6 to 10 digits.
func normalHS(code string) string {
	s := strings.NewReplacer(".", "", " ", "").Replace(code)
	if len(s) < 6 || len(s) > 10 || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		return ""
	}
	return s
}

func distinctHS6(items []logistics.Item) int {
	var seen []string
	for _, it := range items {
		if hs := normalHS(it.HSCode); hs != "" && !slices.Contains(seen, hs[:6]) {
			seen = append(seen, hs[:6])
		}
	}
	return len(seen)
}

func lineValue(it logistics.Item) decimal.Decimal {
	return it.UnitPrice.Amount.Mul(decimal.NewFromInt(int64(it.Quantity)))
}

// checkInput validates what the engine cannot decide without, naming every
// bad field; fx is the rate table item currencies must be in.
func checkInput(in Input, fx map[string]decimal.Decimal) error {
	var p []logistics.FieldProblem
	check := func(ok bool, field, problem string) {
		if !ok {
			p = append(p, logistics.FieldProblem{Field: field, Problem: problem})
		}
	}
	check(len(in.Items) > 0, "items", "must contain at least one item")
	check(countryCode.MatchString(in.Destination), "destination", "must be an ISO 3166-1 alpha-2 code such as DE")
	check(!in.Date.IsZero(), "date", "is required: rules are chosen by the order's date")
	check(slices.Contains([]logistics.Incoterm{"", logistics.IncotermDDP, logistics.IncotermDAP}, in.Incoterm), "incoterm", "must be DDP or DAP")
	check(slices.Contains([]logistics.ChannelType{"", logistics.ChannelPostal, logistics.ChannelCourier}, in.ChannelType),
		"channel_type", "must be postal or courier")
	for i, it := range in.Items {
		f := fmt.Sprintf("items[%d]", i)
		check(it.Quantity > 0, f+".quantity", "must be at least 1")
		check(!it.UnitPrice.Amount.IsNegative(), f+".unit_price.amount", "must not be negative")
		_, known := fx[it.UnitPrice.Currency]
		switch {
		case !currencyCode.MatchString(it.UnitPrice.Currency):
			check(false, f+".unit_price.currency", "must be an ISO 4217 code such as EUR")
		case !known:
			check(false, f+".unit_price.currency", "has no exchange rate in the configured FX table")
		}
	}
	if len(p) > 0 {
		return &logistics.Error{Code: logistics.CodeInvalid, Message: "the customs input is invalid", Details: p}
	}
	return nil
}

// Convert converts m into currency to through the engine's EUR rate table.
// The result is not rounded; round once at the end with RoundBank(2). An
// unknown currency gives a *logistics.Error with CodeInvalid.
func (e *Engine) Convert(m logistics.Money, to string) (logistics.Money, error) {
	k, err := (&converter{fx: e.rules.FX.PerEUR}).factor(m.Currency, to)
	if err != nil {
		return logistics.Money{}, err
	}
	return logistics.Money{Amount: m.Amount.Mul(k), Currency: to}, nil
}

// converter gives conversion factors and remembers whether one was needed.
type converter struct {
	fx   map[string]decimal.Decimal
	used bool
}

// goodsValue is the items' value in currency to: each line converted at
// its own currency's rate, nothing rounded.
func (c *converter) goodsValue(items []logistics.Item, to string) (decimal.Decimal, error) {
	sum := decimal.Zero
	for _, it := range items {
		k, err := c.factor(it.UnitPrice.Currency, to)
		if err != nil {
			return decimal.Zero, err
		}
		sum = sum.Add(lineValue(it).Mul(k))
	}
	return sum, nil
}

// factor returns how many units of to one unit of from is worth, to 16 places.
func (c *converter) factor(from, to string) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	f, okFrom := c.fx[from]
	t, okTo := c.fx[to]
	if !okFrom || !okTo {
		return decimal.Zero, logistics.Errorf(logistics.CodeInvalid, "no exchange rate from %s to %s", from, to)
	}
	c.used = true
	return t.DivRound(f, 16), nil
}
