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
	order.Items = make([]logistics.Item, len(shadow.Items))
	for i, raw := range shadow.Items {
		prefix := fmt.Sprintf("data.items[%d]", i)
		var item struct {
			logistics.Item
			UnitPrice json.RawMessage `json:"unit_price"`
		}
		add(json.Unmarshal(raw, &item), prefix)
		order.Items[i] = item.Item
		if len(item.UnitPrice) > 0 {
			add(json.Unmarshal(item.UnitPrice, &order.Items[i].UnitPrice), prefix+".unit_price")
		}
	}
	if len(decodeProblems) == 0 {
		return order, order.Validate()
	}
	// Validation of the rest, leaving out fields (and their children) that
	// already failed to decode: their zero values would only repeat it.
	problems := decodeProblems
	var verr *logistics.Error
	if errors.As(order.Validate(), &verr) {
		for _, p := range verr.Details {
			if !coveredBy(p.Field, decodeProblems) {
				problems = append(problems, p)
			}
		}
	}
	return order, &logistics.Error{Code: logistics.CodeInvalid, Message: "the order is invalid", Details: problems}
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
