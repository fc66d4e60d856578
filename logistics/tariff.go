package logistics

import "github.com/shopspring/decimal"

// tariffStepGrams is the weight step a tariff charges by: every started
// half kilogram counts in full, as carriers' published rate cards do.
const tariffStepGrams = 500

// Tariff is a channel's published shipping rate: a base price per parcel
// plus a price per kilogram of chargeable weight, in one currency. The zero
// Tariff (no currency) means the channel publishes no rate.
type Tariff struct {
	// Currency is the ISO 4217 code of both amounts; "" means no tariff.
	Currency string `json:"currency" yaml:"currency"`
	// Base is charged once per parcel.
	Base decimal.Decimal `json:"base" yaml:"base"`
	// PerKg is charged per kilogram of chargeable weight.
	PerKg decimal.Decimal `json:"per_kg" yaml:"per_kg"`
}

// Price is what the tariff charges for a parcel of weightGrams: Base plus
// PerKg times the weight in kilograms rounded up to the next 0.5 kg, rounded
// half-even to the currency's minor units only at the end. A weight of zero
// or less is charged the base alone. ok is false when the tariff is empty
// (no currency): the channel has no price, which is not the same as free.
func (t Tariff) Price(weightGrams int) (price Money, ok bool) {
	if t.Currency == "" {
		return Money{}, false
	}
	steps := 0
	if weightGrams > 0 {
		// Written so that no weight, however large, overflows.
		steps = weightGrams / tariffStepGrams
		if weightGrams%tariffStepGrams != 0 {
			steps++
		}
	}
	kg := decimal.NewFromInt(int64(steps)).Div(decimal.NewFromInt(1000 / tariffStepGrams))
	amount := t.Base.Add(t.PerKg.Mul(kg)).RoundBank(MinorUnits(t.Currency))
	return Money{Amount: amount, Currency: t.Currency}, true
}
