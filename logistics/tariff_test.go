package logistics

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestTariffPrice(t *testing.T) {
	d := decimal.RequireFromString
	express := Tariff{Currency: "USD", Base: d("18"), PerKg: d("9")}
	tests := []struct {
		name   string
		tariff Tariff
		grams  int
		want   string
	}{
		{"no weight pays the base", express, 0, "18.00"},
		{"negative weight pays the base", express, -5, "18.00"},
		{"one gram is half a kilo", express, 1, "22.50"},
		{"exactly half a kilo", express, 500, "22.50"},
		{"one gram over half a kilo", express, 501, "27.00"},
		{"exactly one kilo", express, 1000, "27.00"},
		{"thirty kilos", express, 30000, "288.00"},
		{"the largest weight does not overflow", express, math.MaxInt64, "83010348331693002.00"},
		{"fractional per-kg rounds half-even at the end: 0.125 -> 0.12", Tariff{Currency: "EUR", PerKg: d("0.25")}, 500, "0.12"},
		{"fractional per-kg rounds half-even at the end: 0.375 -> 0.38", Tariff{Currency: "EUR", PerKg: d("0.25")}, 1500, "0.38"},
		{"rounding happens once, after the sum", Tariff{Currency: "EUR", Base: d("0.005"), PerKg: d("0.01")}, 500, "0.01"},
		{"zero-decimal currency", Tariff{Currency: "JPY", Base: d("1500"), PerKg: d("801")}, 500, "1900"},
		{"three-decimal currency", Tariff{Currency: "KWD", Base: d("1.5"), PerKg: d("0.9999")}, 500, "2.000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.tariff.Price(tt.grams)
			require.True(t, ok)
			assert.Equal(t, tt.tariff.Currency, got.Currency)
			assert.Equal(t, tt.want, got.Amount.StringFixed(MinorUnits(tt.tariff.Currency)))
			assert.True(t, got.Amount.Equal(d(tt.want)), "amount %s is exactly %s, not just printed so", got.Amount, tt.want)
		})
	}
}

func TestTariffEmptyHasNoPrice(t *testing.T) {
	_, ok := Tariff{}.Price(1000)
	assert.False(t, ok)
	_, ok = Tariff{Base: decimal.NewFromInt(5)}.Price(1000)
	assert.False(t, ok, "amounts without a currency are no price")
}

func TestTariffEncodings(t *testing.T) {
	var fromJSON Tariff
	require.NoError(t, json.Unmarshal([]byte(`{"currency": "EUR", "base": "6", "per_kg": "4.50"}`), &fromJSON))
	var fromYAML Tariff
	require.NoError(t, yaml.Unmarshal([]byte("currency: EUR\nbase: \"6\"\nper_kg: \"4.50\"\n"), &fromYAML))
	for _, tr := range []Tariff{fromJSON, fromYAML} {
		assert.Equal(t, "EUR", tr.Currency)
		assert.True(t, tr.Base.Equal(decimal.NewFromInt(6)), tr.Base.String())
		assert.True(t, tr.PerKg.Equal(decimal.RequireFromString("4.5")), tr.PerKg.String())
	}
	b, err := json.Marshal(Channel{Carrier: "c", Tariff: fromJSON})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"tariff":{"currency":"EUR","base":"6","per_kg":"4.5"}`)
}
