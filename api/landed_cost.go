package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// Quoter answers landed-cost quotes: the customs decision a cart would get
// and the channels that could carry it. carriers.Quoter (a registry bound to
// the customs engine) satisfies it. It must write nothing. An invalid cart is
// a *logistics.Error with CodeInvalid naming the fields, passed to the
// caller as is; any other error is internal.
type Quoter interface {
	Quote(ctx context.Context, req carriers.QuoteRequest) (carriers.Quote, error)
}

// quotePlaceholder stands in, during validation, for the parts of an order
// a quote does not have (merchant and order ids, the recipient's name and
// street, a warehouse when none is given): the cart is validated as the
// order it would become, with the same rules, so a cart the quote accepts
// is one order.created accepts too.
const quotePlaceholder = "quote"

// landedCostDTO answers POST /v1/landed-cost.
type landedCostDTO struct {
	Customs         *customsDTO         `json:"customs"`
	ShippingOptions []shippingOptionDTO `json:"shipping_options"`
}

// shippingOptionDTO is one channel that could carry the cart, best first.
// Price is null when the channel publishes no tariff. LandedCost (our
// extension) is the price plus the customs total when both are in the same
// currency, and absent otherwise: amounts are never converted here.
type shippingOptionDTO struct {
	Carrier       string    `json:"carrier"`
	Service       string    `json:"service"`
	Price         *moneyDTO `json:"price"`
	EstimatedDays int       `json:"estimated_days"`
	LandedCost    *moneyDTO `json:"landed_cost,omitempty"`
}

// landedCost handles POST /v1/landed-cost: a stateless quote for a cart. It
// creates no order and writes nothing; the store is only read by the
// merchant key check in front of it.
func (s *Server) landedCost(c *gin.Context) {
	if s.cfg.Quoter == nil {
		s.fail(c, logistics.Errorf(logistics.CodeUnavailable, "landed-cost quotes are not configured"))
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	req, err := s.decodeQuoteRequest(body)
	if err = s.conform(c, body, err); err != nil {
		s.fail(c, err)
		return
	}
	q, err := s.cfg.Quoter.Quote(c.Request.Context(), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.log(c).Debug("landed cost quoted", "merchant_id", merchantOf(c).ID,
		"lane", logistics.Lane(req.Origin, req.Destination), "options", len(q.Options), "blocked", q.Customs.Blocked)
	c.JSON(http.StatusOK, toLandedCost(q))
}

// decodeQuoteRequest decodes and validates a quote request piece by piece,
// like order.created (decodeOrder), answering one field problem per bad
// field with its full path ("items[1].unit_price"). The cart is validated
// by logistics.Order.Validate; ship_to contributes only its country.
func (s *Server) decodeQuoteRequest(body []byte) (carriers.QuoteRequest, error) {
	var syntax json.RawMessage
	if err := decodeJSON(body, &syntax, ""); err != nil {
		return carriers.QuoteRequest{}, err
	}
	var shadow struct {
		ShipTo       json.RawMessage        `json:"ship_to"`
		Items        []json.RawMessage      `json:"items"`
		Incoterm     logistics.Incoterm     `json:"incoterm"`
		ServiceLevel logistics.ServiceLevel `json:"service_level"`
		TaxIDs       json.RawMessage        `json:"tax_ids"`
		AsOf         string                 `json:"as_of"`
		WarehouseID  string                 `json:"warehouse_id"`
	}
	var decoded []logistics.FieldProblem
	add := func(err error, prefix string) {
		if err != nil {
			decoded = append(decoded, decodeProblem(err, prefix))
		}
	}
	add(json.Unmarshal(body, &shadow), "")
	if len(decoded) > 0 && decoded[0].Field == fieldPath("", "") {
		// Not an object at all: there are no fields to name.
		return carriers.QuoteRequest{}, &logistics.Error{Code: logistics.CodeInvalid, Message: "the quote request is invalid", Details: decoded}
	}
	var shipTo struct {
		Country string `json:"country"`
	}
	if len(shadow.ShipTo) > 0 {
		add(json.Unmarshal(shadow.ShipTo, &shipTo), "ship_to")
	}
	var taxIDs logistics.TaxIDs
	if len(shadow.TaxIDs) > 0 {
		add(json.Unmarshal(shadow.TaxIDs, &taxIDs), "tax_ids")
	}
	items := decodeItems(shadow.Items, "items", add)

	warehouseID := shadow.WarehouseID
	if warehouseID == "" {
		warehouseID = quotePlaceholder
	}
	order := logistics.Order{
		MerchantID: quotePlaceholder, OrderID: quotePlaceholder, WarehouseID: warehouseID,
		ServiceLevel: shadow.ServiceLevel, Incoterm: shadow.Incoterm, Items: items, TaxIDs: taxIDs,
		ShipTo: logistics.Address{Name: quotePlaceholder, Line1: quotePlaceholder, City: quotePlaceholder, Country: shipTo.Country},
	}
	problems := append(decoded, uncovered(quoteFields(order.Validate()), decoded)...)

	date := civilDay(s.now())
	if shadow.AsOf != "" {
		d, err := time.Parse(time.DateOnly, shadow.AsOf)
		if err != nil {
			problems = append(problems, logistics.FieldProblem{Field: "as_of", Problem: "must be a date such as 2026-11-25 (YYYY-MM-DD)"})
		} else {
			date = d
		}
	}

	origin := ""
	switch {
	case shadow.WarehouseID != "":
		if w, ok := s.cfg.Warehouses.Get(shadow.WarehouseID); ok {
			origin = w.Address().Country
		} else if logistics.ValidID(shadow.WarehouseID) {
			problems = append(problems, logistics.FieldProblem{Field: "warehouse_id", Problem: "is not a known warehouse"})
		}
	case len(items) > 0:
		origin = items[0].OriginCountry
	}

	if len(problems) > 0 {
		return carriers.QuoteRequest{}, &logistics.Error{Code: logistics.CodeInvalid, Message: "the quote request is invalid", Details: problems}
	}
	return carriers.QuoteRequest{
		Origin: origin, Items: items, Destination: shipTo.Country, Incoterm: shadow.Incoterm,
		ServiceLevel: shadow.ServiceLevel, TaxIDs: taxIDs, Date: date,
	}, nil
}

// quoteFields renames the field problems of Order.Validate, which are named
// as in the order webhook ("data.items[0].hs_code"), to the quote's own
// top-level paths ("items[0].hs_code").
func quoteFields(err error) error {
	var verr *logistics.Error
	if !errors.As(err, &verr) {
		return err
	}
	renamed := *verr
	renamed.Details = make([]logistics.FieldProblem, len(verr.Details))
	for i, p := range verr.Details {
		p.Field = strings.TrimPrefix(p.Field, "data.")
		renamed.Details[i] = p
	}
	return &renamed
}

// civilDay is t's calendar day (in t's own location) at midnight: a quote
// without as_of uses the rules of the server's today.
func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func toLandedCost(q carriers.Quote) landedCostDTO {
	options := make([]shippingOptionDTO, 0, len(q.Options))
	for _, o := range q.Options {
		opt := shippingOptionDTO{Carrier: o.Channel.Carrier, Service: o.Channel.Service, EstimatedDays: o.EstimatedDays}
		if o.HasPrice {
			price := toMoney(o.Price)
			opt.Price = &price
			if total := q.Customs.Total; total.Currency == o.Price.Currency {
				landed := toMoney(logistics.Money{Amount: o.Price.Amount.Add(total.Amount), Currency: total.Currency})
				opt.LandedCost = &landed
			}
		}
		options = append(options, opt)
	}
	return landedCostDTO{Customs: toCustoms(&q.Customs), ShippingOptions: options}
}
