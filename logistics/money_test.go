package logistics

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMoneyJSON(t *testing.T) {
	for _, tc := range []struct{ amount, currency, want string }{
		{"12.5", "GBP", `{"amount":"12.50","currency":"GBP"}`},
		{"0", "EUR", `{"amount":"0.00","currency":"EUR"}`},
		{"1200", "JPY", `{"amount":"1200","currency":"JPY"}`},
		{"1.2345", "USD", `{"amount":"1.2345","currency":"USD"}`},
		{"7", "KWD", `{"amount":"7.000","currency":"KWD"}`},
	} {
		b, err := json.Marshal(Money{Amount: decimal.RequireFromString(tc.amount), Currency: tc.currency})
		require.NoError(t, err)
		assert.JSONEq(t, tc.want, string(b))
		var back Money
		require.NoError(t, json.Unmarshal(b, &back))
		assert.True(t, back.Amount.Equal(decimal.RequireFromString(tc.amount)))
	}
	var m Money
	assert.Error(t, json.Unmarshal([]byte(`{"amount": 12.5, "currency": "GBP"}`), &m), "a JSON number is refused")
	assert.Error(t, json.Unmarshal([]byte(`{"amount": "12,50", "currency": "GBP"}`), &m))
}

func TestTextHygiene(t *testing.T) {
	assert.True(t, ValidText("Zürich, 北京 — ok"))
	assert.False(t, ValidText("a\x00b"))
	assert.False(t, ValidText("line\nbreak"))
	assert.False(t, ValidText(string([]byte{0xff, 'a'})))
	assert.Equal(t, "a b", CleanText("a\x00b"))
	assert.Equal(t, " a", CleanText(string([]byte{0xff, 'a'})))
	assert.Equal(t, "unchanged", CleanText("unchanged"))
}
