package api

import (
	"slices"
	"time"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// The merchant API's response bodies. They are built from domain values and
// store views at the boundary, so a change to a store row never changes the
// contract by accident.

// moneyDTO is {"amount": "12.50", "currency": "EUR"}, the amount a decimal
// string in the currency's minor unit.
type moneyDTO struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// minorUnits lists ISO 4217 currencies whose minor unit is not 2 digits.
var minorUnits = map[string]int32{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0, "PYG": 0,
	"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

func toMoney(m logistics.Money) moneyDTO {
	places, ok := minorUnits[m.Currency]
	if !ok {
		places = 2
	}
	return moneyDTO{Amount: m.Amount.StringFixedBank(places), Currency: m.Currency}
}

type locationDTO struct {
	City    string `json:"city"`
	Country string `json:"country"`
}

type legDTO struct {
	Sequence       int               `json:"sequence"`
	Kind           logistics.LegKind `json:"kind"`
	Carrier        string            `json:"carrier"`
	Service        string            `json:"service"`
	TrackingNumber string            `json:"tracking_number"`
	Status         logistics.Status  `json:"status"`
}

type parcelDTO struct {
	WeightGrams int `json:"weight_grams"`
	LengthMM    int `json:"length_mm"`
	WidthMM     int `json:"width_mm"`
	HeightMM    int `json:"height_mm"`
}

type shipmentDTO struct {
	OrderID            string           `json:"order_id"`
	Number             int              `json:"number"`
	Carrier            string           `json:"carrier"`
	Service            string           `json:"service"`
	TrackingNumber     string           `json:"tracking_number"`
	LabelURL           string           `json:"label_url,omitempty"`
	Status             logistics.Status `json:"status"`
	Phase              logistics.Phase  `json:"phase"`
	OriginCountry      string           `json:"origin_country"`
	DestinationCountry string           `json:"destination_country"`
	EstimatedDelivery  *time.Time       `json:"estimated_delivery"`
	Parcel             parcelDTO        `json:"parcel"`
	Legs               []legDTO         `json:"legs"`
	UpdatedAt          time.Time        `json:"updated_at"`
}

func toShipment(sh logistics.Shipment) shipmentDTO {
	legs := make([]legDTO, 0, len(sh.Legs))
	for _, l := range sh.Legs {
		legs = append(legs, legDTO{Sequence: l.Sequence, Kind: l.Kind, Carrier: l.Carrier, Service: l.Service,
			TrackingNumber: l.TrackingNumber, Status: l.Status})
	}
	var eta *time.Time
	if sh.EstimatedDelivery != nil {
		t := sh.EstimatedDelivery.UTC()
		eta = &t
	}
	return shipmentDTO{
		OrderID: sh.OrderID, Number: sh.Number, Carrier: sh.Carrier, Service: sh.Service,
		TrackingNumber: sh.TrackingNumber, LabelURL: sh.LabelURL, Status: sh.Status, Phase: sh.Phase,
		OriginCountry: sh.Origin, DestinationCountry: sh.Destination, EstimatedDelivery: eta,
		Parcel: parcelDTO(sh.Parcel), Legs: legs, UpdatedAt: sh.UpdatedAt.UTC(),
	}
}

type customsDTO struct {
	Regime          string             `json:"regime"`
	Incoterm        logistics.Incoterm `json:"incoterm"`
	VATCollection   string             `json:"vat_collection"`
	DutyFree        bool               `json:"duty_free"`
	DeclarationForm string             `json:"declaration_form"`
	Duties          moneyDTO           `json:"duties"`
	Taxes           moneyDTO           `json:"taxes"`
	Fees            moneyDTO           `json:"fees"`
	Total           moneyDTO           `json:"total"`
	RulesAsOf       string             `json:"rules_as_of"`
	Warnings        []string           `json:"warnings"`
	Blocked         bool               `json:"blocked"`
	BlockReasons    []string           `json:"block_reasons"`
}

func toCustoms(d *logistics.CustomsDecision) *customsDTO {
	if d == nil {
		return nil
	}
	return &customsDTO{
		Regime: d.Regime, Incoterm: d.Incoterm, VATCollection: d.VATCollection, DutyFree: d.DutyFree,
		DeclarationForm: d.DeclarationForm, Duties: toMoney(d.Duties), Taxes: toMoney(d.Taxes),
		Fees: toMoney(d.Fees), Total: toMoney(d.Total), RulesAsOf: d.RulesAsOf,
		Warnings: nonNil(d.Warnings), Blocked: d.Blocked, BlockReasons: nonNil(d.BlockReasons),
	}
}

// orderDTO is GET /v1/orders/{order_id}: the merchant's own order, with its
// progress, shipments and customs decision.
type orderDTO struct {
	OrderID        string                 `json:"order_id"`
	MerchantID     string                 `json:"merchant_id"`
	WorkflowID     string                 `json:"workflow_id"`
	Stage          logistics.Stage        `json:"stage"`
	Stuck          bool                   `json:"stuck"`
	StuckReason    string                 `json:"stuck_reason"`
	ActionRequired bool                   `json:"action_required"`
	WarehouseID    string                 `json:"warehouse_id"`
	ServiceLevel   logistics.ServiceLevel `json:"service_level"`
	Incoterm       logistics.Incoterm     `json:"incoterm"`
	Destination    string                 `json:"destination"`
	Shipments      []shipmentDTO          `json:"shipments"`
	Customs        *customsDTO            `json:"customs"`
	CreatedAt      time.Time              `json:"created_at"`
	UpdatedAt      time.Time              `json:"updated_at"`
}

func toOrder(v store.OrderView) orderDTO {
	shipments := make([]shipmentDTO, 0, len(v.Shipments))
	for _, sh := range v.Shipments {
		shipments = append(shipments, toShipment(sh))
	}
	return orderDTO{
		OrderID: v.OrderID, MerchantID: v.MerchantID, WorkflowID: v.WorkflowID, Stage: v.Stage,
		Stuck: v.Stuck, StuckReason: v.StuckReason, ActionRequired: v.ActionRequired,
		WarehouseID: v.Order.WarehouseID, ServiceLevel: v.Order.ServiceLevel, Incoterm: v.Order.Incoterm,
		Destination: v.Order.ShipTo.Country, Shipments: shipments, Customs: toCustoms(v.Customs),
		CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC(),
	}
}

// opsOrderDTO is one order of the ops list: where it stands and why it
// needs a hand, across merchants.
type opsOrderDTO struct {
	OrderID        string          `json:"order_id"`
	MerchantID     string          `json:"merchant_id"`
	WorkflowID     string          `json:"workflow_id"`
	Stage          logistics.Stage `json:"stage"`
	Stuck          bool            `json:"stuck"`
	StuckReason    string          `json:"stuck_reason"`
	ActionRequired bool            `json:"action_required"`
	Destination    string          `json:"destination"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

func toOpsOrder(v store.OrderView) opsOrderDTO {
	return opsOrderDTO{
		OrderID: v.OrderID, MerchantID: v.MerchantID, WorkflowID: v.WorkflowID, Stage: v.Stage,
		Stuck: v.Stuck, StuckReason: v.StuckReason, ActionRequired: v.ActionRequired,
		Destination: v.Order.ShipTo.Country, CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.UpdatedAt.UTC(),
	}
}

// trackingEventDTO is one normalised scan (contract.md "A tracking event").
type trackingEventDTO struct {
	Status           logistics.Status           `json:"status"`
	Phase            logistics.Phase            `json:"phase"`
	Substatus        string                     `json:"substatus"`
	Reason           string                     `json:"reason"`
	ResponsibleParty logistics.ResponsibleParty `json:"responsible_party"`
	ActionRequired   bool                       `json:"action_required"`
	OccurredAt       time.Time                  `json:"occurred_at"`
	Location         locationDTO                `json:"location"`
	Carrier          string                     `json:"carrier"`
	TrackingNumber   string                     `json:"tracking_number"`
	RawCode          string                     `json:"raw_code"`
	RawDescription   string                     `json:"raw_description"`
	Source           logistics.EventSource      `json:"source"`
}

func toTrackingEvent(e *logistics.TrackingEvent) trackingEventDTO {
	return trackingEventDTO{
		Status: e.Status, Phase: e.Phase, Substatus: e.Substatus, Reason: e.Reason,
		ResponsibleParty: e.ResponsibleParty, ActionRequired: e.ActionRequired, OccurredAt: e.OccurredAt.UTC(),
		Location: locationDTO(e.Location), Carrier: e.Carrier, TrackingNumber: e.TrackingNumber,
		RawCode: e.RawCode, RawDescription: e.RawDescription, Source: e.Source,
	}
}

// orderTrackingDTO is GET /v1/orders/{order_id}/tracking: the latest
// shipment's status and phase and every event, oldest first.
type orderTrackingDTO struct {
	Status logistics.Status   `json:"status"`
	Phase  logistics.Phase    `json:"phase"`
	Events []trackingEventDTO `json:"events"`
}

// toOrderTracking builds the answer of GET /v1/orders/{order_id}/tracking.
// The store hands the events oldest first; they are sorted here only if a
// Store did not, so the usual case copies nothing.
func toOrderTracking(v store.OrderTrackingView) orderTrackingDTO {
	out := orderTrackingDTO{Events: make([]trackingEventDTO, 0, len(v.Events))}
	out.Status, out.Phase = orderStatus(v.Stage, v.Shipments)
	events := v.Events
	byTime := func(a, b logistics.TrackingEvent) int { return a.OccurredAt.Compare(b.OccurredAt) }
	if !slices.IsSortedFunc(events, byTime) {
		events = slices.Clone(events)
		slices.SortStableFunc(events, byTime)
	}
	// An unmapped carrier code keeps the previous status (contract.md), so
	// the timeline never shows an empty status. Most orders have one
	// tracking number: the map is only made for an unmapped event.
	var previous map[string]logistics.Status
	for i := range events {
		dto := toTrackingEvent(&events[i])
		if !dto.Status.Valid() {
			dto.Status = previous[dto.TrackingNumber]
			if dto.Status == "" {
				dto.Status = logistics.StatusPending
			}
		}
		if previous == nil {
			previous = make(map[string]logistics.Status, 1)
		}
		previous[dto.TrackingNumber] = dto.Status
		out.Events = append(out.Events, dto)
	}
	return out
}

// orderStatus is the status of an order as a whole: that of its least
// advanced shipment (lowest number among equals), since an order has arrived
// only when its last parcel has. Until the order has left booking, further
// parcels may still join at info_received, so the order's status is held
// there: a reader never sees it move back when they do. (Taking the most
// recently updated shipment's status instead flips between parcels; the
// test that found it is TestOrderStatusNeverGoesBackwards.)
func orderStatus(stage logistics.Stage, shipments []store.ShipmentStanding) (logistics.Status, logistics.Phase) {
	status, phase := logistics.StatusPending, logistics.PhaseOrigin
	var least *store.ShipmentStanding
	for i := range shipments {
		sh := &shipments[i]
		if least == nil || sh.Status.Before(least.Status) || (!least.Status.Before(sh.Status) && sh.Number < least.Number) {
			least = sh
		}
	}
	if least != nil {
		status, phase = least.Status, least.Phase
	}
	booking := slices.Index(logistics.Stages, logistics.StageBooking)
	if i := slices.Index(logistics.Stages, stage); i >= 0 && i <= booking && logistics.StatusInfoReceived.Before(status) {
		status, phase = logistics.StatusInfoReceived, logistics.PhaseOrigin
	}
	return status, phase
}

// pageDTO is a page of a list with the cursor of the next page (null on the
// last page).
type pageDTO[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func newPage[T any](data []T, next string) pageDTO[T] {
	p := pageDTO[T]{Data: data}
	if p.Data == nil {
		p.Data = []T{}
	}
	if next != "" {
		p.NextCursor = &next
	}
	return p
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
