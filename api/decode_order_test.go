package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

func TestDecodeOrderNamesEveryBadField(t *testing.T) {
	data := []byte(`{"merchant_id": "m_demo", "order_id": "TT-1", "warehouse_id": "wh_szx",
	  "service_level": "standard", "incoterm": "DDP",
	  "ship_to": {"name": "Ada", "line1": "12 Example Street", "city": "London", "country": "Britain"},
	  "items": [
	    {"sku": "A", "description": "Cotton T-shirt", "quantity": "two", "unit_price": {"amount": "12.50", "currency": "GBP"},
	     "hs_code": "610910", "origin_country": "CN", "weight_grams": 180, "dangerous_goods": "none"},
	    {"sku": "B", "description": "Wool socks", "quantity": 1, "unit_price": {"amount": 3.5, "currency": "GBP"},
	     "hs_code": "61", "origin_country": "CN", "weight_grams": 50, "dangerous_goods": "none"}]}`)
	_, err := decodeOrder(data)
	var e *logistics.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, logistics.CodeInvalid, e.Code)
	fields := map[string]string{}
	for _, d := range e.Details {
		fields[d.Field] = d.Problem
	}
	assert.Contains(t, fields, "data.items[0].quantity", "the wrong JSON type is named with its index")
	assert.Contains(t, fields, "data.items[1].unit_price", "a float amount is refused where it is")
	assert.Contains(t, fields, "data.items[1].hs_code", "validation still runs past decoding problems")
	assert.Contains(t, fields, "data.ship_to.country")
	assert.NotContains(t, fields, "data.items[0].quantity.", "no duplicate for a field that failed to decode")
	assert.Len(t, e.Details, 4, "%v", e.Details)

	good := []byte(`{"merchant_id": "m_demo", "order_id": "TT-1", "warehouse_id": "wh_szx",
	  "service_level": "standard", "incoterm": "DDP",
	  "ship_to": {"name": "Ada", "line1": "12 Example Street", "city": "London", "country": "GB"},
	  "items": [{"sku": "A", "description": "Cotton T-shirt", "quantity": 2, "unit_price": {"amount": "12.50", "currency": "GBP"},
	     "hs_code": "610910", "origin_country": "CN", "weight_grams": 180, "dangerous_goods": "none"}],
	  "tax_ids": {"ioss": "", "eori": "", "uk_vat": "GB123456789"}, "marketplace": "tiktok_shop"}`)
	o, err := decodeOrder(good)
	require.NoError(t, err)
	assert.Equal(t, "12.50", o.Items[0].UnitPrice.Amount.StringFixed(2))
	assert.Equal(t, "GB123456789", o.TaxIDs.UKVAT)
	assert.Equal(t, "London", o.ShipTo.City)
}
