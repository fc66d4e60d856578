package sandbox

import (
	"strings"

	"github.com/crossdock/crossdock/logistics"
)

// Test hooks in SKUs: a warehouse has no stock of an item whose SKU starts
// with OutOfStockPrefix, and picks none of an item starting with
// ShortPickPrefix while packing the rest.
const (
	OutOfStockPrefix = "OOS-"
	ShortPickPrefix  = "SHORT-"
)

// MaxParcelGrams is the heaviest parcel the sandbox warehouses pack; heavier
// orders are split across several parcels.
const MaxParcelGrams = 20000

// box is a carton size: what it may hold and what it weighs.
type box struct {
	maxContent          int
	length, width, high int
	tare                int
}

// boxes are the carton sizes, smallest first; the largest keeps content
// plus tare within MaxParcelGrams.
var boxes = []box{
	{maxContent: 500, length: 250, width: 180, high: 50, tare: 40},
	{maxContent: 2000, length: 300, width: 250, high: 100, tare: 150},
	{maxContent: 5000, length: 400, width: 300, high: 200, tare: 350},
	{maxContent: 10000, length: 500, width: 400, high: 300, tare: 600},
	{maxContent: MaxParcelGrams - 900, length: 600, width: 400, high: 400, tare: 900},
}

// outcome is what the warehouse reports for a pick.
type outcome struct {
	kind    logistics.WarehouseEventType
	parcels []logistics.Parcel
	reason  string
}

// pick decides a pick's outcome from its items.
func pick(items []logistics.Item) outcome {
	var missing, short []string
	var packable []logistics.Item
	for _, it := range items {
		switch {
		case strings.HasPrefix(it.SKU, OutOfStockPrefix):
			missing = append(missing, it.SKU)
		case strings.HasPrefix(it.SKU, ShortPickPrefix):
			short = append(short, it.SKU)
		default:
			packable = append(packable, it)
		}
	}
	switch {
	case len(missing) > 0:
		return outcome{kind: logistics.WarehouseOutOfStock, reason: "out of stock: " + strings.Join(missing, ", ")}
	case len(short) > 0:
		return outcome{kind: logistics.WarehouseShortPick, parcels: pack(packable), reason: "short pick: " + strings.Join(short, ", ")}
	}
	return outcome{kind: logistics.WarehousePacked, parcels: pack(items)}
}

// pack fills cartons in item order, starting a new carton when the next
// unit would take the parcel above MaxParcelGrams. A single unit heavier
// than the largest carton's content travels alone in that carton.
func pack(items []logistics.Item) []logistics.Parcel {
	limit := boxes[len(boxes)-1].maxContent
	var contents []int
	current := 0
	flush := func() {
		if current > 0 {
			contents = append(contents, current)
			current = 0
		}
	}
	for _, it := range items {
		w, qty := max(it.WeightGrams, 0), max(it.Quantity, 0)
		if w == 0 {
			continue
		}
		for qty > 0 {
			if w > limit {
				flush()
				contents = append(contents, w)
				qty--
				continue
			}
			fit := (limit - current) / w
			if fit == 0 {
				flush()
				continue
			}
			n := min(fit, qty)
			current += n * w
			qty -= n
		}
	}
	flush()
	parcels := make([]logistics.Parcel, 0, len(contents))
	for _, c := range contents {
		b := boxes[len(boxes)-1]
		for _, candidate := range boxes {
			if c <= candidate.maxContent {
				b = candidate
				break
			}
		}
		parcels = append(parcels, logistics.Parcel{WeightGrams: c + b.tare, LengthMM: b.length, WidthMM: b.width, HeightMM: b.high})
	}
	return parcels
}
