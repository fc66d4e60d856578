package sandbox

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/crossdock/crossdock/logistics"
)

func TestPack(t *testing.T) {
	item := func(sku string, grams, qty int) logistics.Item {
		return logistics.Item{SKU: sku, WeightGrams: grams, Quantity: qty}
	}
	tests := []struct {
		name  string
		items []logistics.Item
		want  []logistics.Parcel
	}{
		{"two T-shirts in a mailer", []logistics.Item{item("TSHIRT", 180, 2)},
			[]logistics.Parcel{{WeightGrams: 400, LengthMM: 250, WidthMM: 180, HeightMM: 50}}},
		{"a small box", []logistics.Item{item("MUG", 350, 3)},
			[]logistics.Parcel{{WeightGrams: 1200, LengthMM: 300, WidthMM: 250, HeightMM: 100}}},
		{"27 kg splits in two", []logistics.Item{item("KETTLEBELL", 9000, 3)},
			[]logistics.Parcel{
				{WeightGrams: 18900, LengthMM: 600, WidthMM: 400, HeightMM: 400},
				{WeightGrams: 9600, LengthMM: 500, WidthMM: 400, HeightMM: 300},
			}},
		{"cartons fill in item order, without going back", []logistics.Item{item("A", 15000, 1), item("B", 3000, 2), item("C", 100, 1)},
			[]logistics.Parcel{
				{WeightGrams: 18900, LengthMM: 600, WidthMM: 400, HeightMM: 400},
				{WeightGrams: 3450, LengthMM: 400, WidthMM: 300, HeightMM: 200},
			}},
		{"an oversized unit travels alone", []logistics.Item{item("ANVIL", 25000, 1), item("NAIL", 10, 1)},
			[]logistics.Parcel{
				{WeightGrams: 25900, LengthMM: 600, WidthMM: 400, HeightMM: 400},
				{WeightGrams: 50, LengthMM: 250, WidthMM: 180, HeightMM: 50},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pack(tt.items)
			assert.Equal(t, tt.want, got)
			for _, p := range got {
				if p.WeightGrams <= MaxParcelGrams {
					continue
				}
				assert.Len(t, got, len(tt.want), "only a unit heavier than a carton may exceed the limit")
			}
		})
	}
}

func TestPickOutcome(t *testing.T) {
	items := []logistics.Item{{SKU: "TSHIRT", WeightGrams: 180, Quantity: 1}}
	assert.Equal(t, logistics.WarehousePacked, pick(items).kind)

	oos := pick(append(items, logistics.Item{SKU: "OOS-MUG", WeightGrams: 300, Quantity: 1}))
	assert.Equal(t, logistics.WarehouseOutOfStock, oos.kind)
	assert.Empty(t, oos.parcels)
	assert.Equal(t, "out of stock: OOS-MUG", oos.reason)

	short := pick(append(items, logistics.Item{SKU: "SHORT-MUG", WeightGrams: 300, Quantity: 1}))
	assert.Equal(t, logistics.WarehouseShortPick, short.kind)
	assert.Equal(t, []logistics.Parcel{{WeightGrams: 220, LengthMM: 250, WidthMM: 180, HeightMM: 50}}, short.parcels)
}
