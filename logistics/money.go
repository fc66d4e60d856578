package logistics

import (
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"
)

// minorUnits lists the ISO 4217 currencies whose minor unit is not 2 digits.
var minorUnits = map[string]int32{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// MinorUnits is the number of decimal digits of a currency's minor unit.
func MinorUnits(currency string) int32 {
	if n, ok := minorUnits[currency]; ok {
		return n
	}
	return 2
}

// MarshalJSON writes the amount as a decimal string with at least the
// currency's minor-unit digits ("12.50", not "12.5"), never losing digits.
func (m Money) MarshalJSON() ([]byte, error) {
	places := MinorUnits(m.Currency)
	if exp := -m.Amount.Exponent(); exp > places {
		places = exp
	}
	return json.Marshal(struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}{m.Amount.StringFixed(places), m.Currency})
}

// UnmarshalJSON reads {"amount": "12.50", "currency": "GBP"}. The amount
// must be a decimal string; a JSON number is refused so floats never creep in.
func (m *Money) UnmarshalJSON(b []byte) error {
	var raw struct {
		Amount   json.RawMessage `json:"amount"`
		Currency string          `json:"currency"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var s string
	if len(raw.Amount) > 0 {
		if err := json.Unmarshal(raw.Amount, &s); err != nil {
			return fmt.Errorf("amount must be a decimal string such as \"12.50\"")
		}
	}
	amount := decimal.Zero
	if s != "" {
		d, err := decimal.NewFromString(s)
		if err != nil {
			return fmt.Errorf("amount %q is not a decimal number", s)
		}
		amount = d
	}
	m.Amount, m.Currency = amount, raw.Currency
	return nil
}
