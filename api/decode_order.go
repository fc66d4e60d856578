package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/crossdock/crossdock/logistics"
)

// decodeOrder decodes an order.created's data and validates it, answering
// one field problem per bad field: a value of the wrong JSON type is named
// with its full path (items included, "data.items[1].unit_price"), and the
// rest of the order is still validated rather than stopping at the first
// problem. The body is already known to be valid JSON.
func decodeOrder(data []byte) (logistics.Order, error) {
	var shadow struct {
		logistics.Order
		ShipTo json.RawMessage   `json:"ship_to"`
		Items  []json.RawMessage `json:"items"`
		TaxIDs json.RawMessage   `json:"tax_ids"`
	}
	var order logistics.Order
	var decodeProblems []logistics.FieldProblem
	add := func(err error, prefix string) {
		if err != nil {
			decodeProblems = append(decodeProblems, decodeProblem(err, prefix))
		}
	}
	add(json.Unmarshal(data, &shadow), "data")
	order = shadow.Order
	if len(shadow.ShipTo) > 0 {
		add(json.Unmarshal(shadow.ShipTo, &order.ShipTo), "data.ship_to")
	}
	if len(shadow.TaxIDs) > 0 {
		add(json.Unmarshal(shadow.TaxIDs, &order.TaxIDs), "data.tax_ids")
	}
	order.Items = decodeItems(shadow.Items, "data.items", add)
	if len(decodeProblems) == 0 {
		return order, order.Validate()
	}
	// Validation of the rest, leaving out fields (and their children) that
	// already failed to decode: their zero values would only repeat it.
	problems := append(decodeProblems, uncovered(order.Validate(), decodeProblems)...)
	return order, &logistics.Error{Code: logistics.CodeInvalid, Message: "the order is invalid", Details: problems}
}

// decodeItems decodes order lines one by one so that a value of the wrong
// JSON type is named with its index ("data.items[1].unit_price"), reporting
// each problem through add; a line that fails keeps what did decode.
func decodeItems(raws []json.RawMessage, field string, add func(err error, prefix string)) []logistics.Item {
	items := make([]logistics.Item, len(raws))
	for i, raw := range raws {
		prefix := fmt.Sprintf("%s[%d]", field, i)
		var item struct {
			logistics.Item
			UnitPrice json.RawMessage `json:"unit_price"`
		}
		add(json.Unmarshal(raw, &item), prefix)
		items[i] = item.Item
		if len(item.UnitPrice) > 0 {
			add(json.Unmarshal(item.UnitPrice, &items[i].UnitPrice), prefix+".unit_price")
		}
	}
	return items
}

// uncovered returns the field problems of a validation error that are not
// about a field (or a child of one) that already failed to decode.
func uncovered(validation error, decoded []logistics.FieldProblem) []logistics.FieldProblem {
	var out []logistics.FieldProblem
	var verr *logistics.Error
	if errors.As(validation, &verr) {
		for _, p := range verr.Details {
			if !coveredBy(p.Field, decoded) {
				out = append(out, p)
			}
		}
	}
	return out
}

// decodeProblem names what json refused and where.
func decodeProblem(err error, prefix string) logistics.FieldProblem {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		// The shadow structs embed the domain types, whose Go names json
		// puts in the path: the JSON path has no such level.
		field := strings.TrimPrefix(strings.TrimPrefix(typ.Field, "Order."), "Item.")
		return logistics.FieldProblem{Field: fieldPath(prefix, field),
			Problem: fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type), typ.Value)}
	}
	// A value whose own decoder refused it (a money amount, a time).
	return logistics.FieldProblem{Field: prefix, Problem: err.Error()}
}

func coveredBy(field string, decoded []logistics.FieldProblem) bool {
	for _, d := range decoded {
		if field == d.Field || strings.HasPrefix(field, d.Field+".") || strings.HasPrefix(field, d.Field+"[") {
			return true
		}
	}
	return false
}
