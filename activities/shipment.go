package activities

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"go.temporal.io/sdk/activity"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// PlanChannelsInput describes what must be carried. The origin is the
// order's warehouse. Without parcels the order's net weight is used.
type PlanChannelsInput struct {
	Order   logistics.Order    `json:"order"`
	Parcels []logistics.Parcel `json:"parcels"`
}

// PlanChannelsResult lists eligible channels, best first, and why the others
// were rejected.
type PlanChannelsResult struct {
	Origin   logistics.Address    `json:"origin"`
	Options  []carriers.Option    `json:"options"`
	Rejected []carriers.Rejection `json:"rejected"`
}

// PlanChannels asks the lane planner for channels (a local activity: pure
// and fast over the configured channel data).
func (a *Activities) PlanChannels(ctx context.Context, in PlanChannelsInput) (PlanChannelsResult, error) {
	w, ok := a.Warehouses.Get(in.Order.WarehouseID)
	if !ok {
		return PlanChannelsResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown warehouse %q", in.Order.WarehouseID))
	}
	origin := w.Address()
	heaviest := 0
	for _, p := range in.Parcels {
		heaviest = max(heaviest, p.WeightGrams)
	}
	if heaviest == 0 {
		heaviest = in.Order.WeightGrams()
	}
	var dg []logistics.DangerousGoods
	for _, it := range in.Order.Items {
		if it.DangerousGoods != logistics.DGNone && it.DangerousGoods != "" {
			dg = append(dg, it.DangerousGoods)
		}
	}
	req := carriers.PlanRequest{
		Origin: origin.Country, Destination: in.Order.ShipTo.Country, WeightGrams: heaviest,
		DangerousGoods: dg, ServiceLevel: in.Order.ServiceLevel, Incoterm: in.Order.Incoterm, TaxIDs: in.Order.TaxIDs,
	}
	if a.Customs != nil {
		// Landed cost on the day of planning (the rules in force today).
		req.Costing = carriers.CustomsCosting(a.Customs, customs.Input{Items: in.Order.Items,
			Destination: in.Order.ShipTo.Country, Incoterm: in.Order.Incoterm, TaxIDs: in.Order.TaxIDs,
			Date: activity.GetInfo(ctx).StartedTime})
	}
	options, rejected := a.Carriers.Plan(req)
	return PlanChannelsResult{Origin: origin, Options: options, Rejected: rejected}, nil
}

// BookShipmentInput books one parcel on one channel.
type BookShipmentInput struct {
	IdempotencyKey string                    `json:"idempotency_key"`
	WorkflowID     string                    `json:"workflow_id"` // the shipment workflow that will follow it
	Order          logistics.Order           `json:"order"`
	Number         int                       `json:"number"`
	Origin         logistics.Address         `json:"origin"`
	Parcel         logistics.Parcel          `json:"parcel"`
	Channel        logistics.Channel         `json:"channel"`
	Customs        logistics.CustomsDecision `json:"customs"`
}

// BookShipment books the parcel with the channel's carrier, then records the
// shipment (version 1) so the carrier's first webhooks can be routed. The
// carrier call is idempotent on IdempotencyKey, so a retried activity never
// books twice. A carrier's hard refusal is a non-retryable CarrierRefused.
func (a *Activities) BookShipment(ctx context.Context, in BookShipmentInput) (logistics.Shipment, error) {
	c, ok := a.Carriers.Get(in.Channel.Carrier)
	if !ok {
		return logistics.Shipment{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown carrier %q", in.Channel.Carrier))
	}
	req := carriers.BookRequest{
		IdempotencyKey: in.IdempotencyKey, MerchantID: in.Order.MerchantID, OrderID: in.Order.OrderID,
		ShipmentNumber: in.Number, Service: in.Channel.Service, ShipFrom: in.Origin, ShipTo: in.Order.ShipTo,
		Parcel: in.Parcel, Items: in.Order.Items, Customs: in.Customs,
		TaxIDs: customs.AttachedTaxIDs(in.Customs, in.Order.TaxIDs, in.Channel.Capabilities.TaxIDsRequired),
	}
	if err := a.throttle(ctx, c.Code()); err != nil {
		return logistics.Shipment{}, err
	}
	var b carriers.Booking
	err := a.Carriers.Breakers().Do(c.Code(), func() (err error) {
		b, err = c.Book(ctx, req)
		return err
	})
	switch {
	case errors.Is(err, carriers.ErrRefused):
		return logistics.Shipment{}, nonRetryable(ErrTypeCarrierRefused, err)
	case errors.Is(err, carriers.ErrCircuitOpen):
		return logistics.Shipment{}, nonRetryable(ErrTypeCarrierUnavailable, err)
	case err != nil:
		return logistics.Shipment{}, a.carrierRetryable(ctx, err, "book with %s", c.Code())
	}
	legs := b.Legs
	if len(legs) == 0 {
		legs = []logistics.Leg{{Sequence: 1, Kind: logistics.LegDoorToDoor, Carrier: c.Code(),
			Service: in.Channel.Service, TrackingNumber: b.TrackingNumber, Status: logistics.StatusInfoReceived}}
	}
	labelURL := b.LabelURL
	if labelURL == "" && in.Channel.Capabilities.Label != logistics.LabelAPI {
		// Crossdock prints this label (PrintDocuments); the merchant API
		// serves it, relative to the API's own address.
		labelURL = PrintedLabelPath(b.TrackingNumber)
	}
	sh := logistics.Shipment{
		MerchantID: in.Order.MerchantID, OrderID: in.Order.OrderID, Number: in.Number,
		Carrier: c.Code(), Service: in.Channel.Service, TrackingNumber: b.TrackingNumber, LabelURL: labelURL,
		Status: logistics.StatusInfoReceived, Phase: logistics.PhaseOrigin,
		Origin: in.Origin.Country, Destination: in.Order.ShipTo.Country,
		EstimatedDelivery: b.EstimatedDelivery, Parcel: in.Parcel, Legs: legs,
		UpdatedAt: activity.GetInfo(ctx).StartedTime,
	}
	if _, err := a.Store.SaveShipment(ctx, store.ShipmentRecord{Shipment: sh, WorkflowID: in.WorkflowID, Version: 1}); err != nil {
		return logistics.Shipment{}, fmt.Errorf("record booked shipment: %w", err)
	}
	return sh, nil
}

// ProjectShipmentInput is the shipment projection as its workflow sees it.
type ProjectShipmentInput struct {
	WorkflowID string             `json:"workflow_id"`
	Shipment   logistics.Shipment `json:"shipment"`
	Version    int64              `json:"version"`
}

// ProjectShipment writes the shipment projection (monotonic on Version).
func (a *Activities) ProjectShipment(ctx context.Context, in ProjectShipmentInput) error {
	if _, err := a.Store.SaveShipment(ctx, store.ShipmentRecord{Shipment: in.Shipment, WorkflowID: in.WorkflowID, Version: in.Version}); err != nil {
		return fmt.Errorf("save shipment projection: %w", err)
	}
	return nil
}

// RecordTrackingInput stores normalised events of one shipment.
type RecordTrackingInput struct {
	MerchantID string                    `json:"merchant_id"`
	OrderID    string                    `json:"order_id"`
	Number     int                       `json:"number"`
	Events     []logistics.TrackingEvent `json:"events"`
}

// RecordTrackingResult says how many events were new.
type RecordTrackingResult struct {
	Inserted int `json:"inserted"`
}

// RecordTracking stores events, deduplicated, so the merchant's timeline has
// every scan while the workflow history keeps only status changes.
func (a *Activities) RecordTracking(ctx context.Context, in RecordTrackingInput) (RecordTrackingResult, error) {
	n, err := a.Store.AddTrackingEvents(ctx, in.MerchantID, in.OrderID, in.Number, in.Events)
	if err != nil {
		return RecordTrackingResult{}, fmt.Errorf("store tracking events: %w", err)
	}
	return RecordTrackingResult{Inserted: n}, nil
}

// PollTrackingInput asks the carriers of a shipment's legs for news. Each
// leg is polled with its own carrier (a consolidator's line haul and the
// local partner's last mile have different tracking numbers); legs whose
// carrier has no tracking API are left to pushes and manual scans.
type PollTrackingInput struct {
	MerchantID     string          `json:"merchant_id"`
	OrderID        string          `json:"order_id"`
	Number         int             `json:"number"`
	Carrier        string          `json:"carrier"`
	TrackingNumber string          `json:"tracking_number"`
	Legs           []logistics.Leg `json:"legs"`
}

// PollTrackingResult carries only the mapped events, oldest first, so the
// workflow can advance its status; the full raw timeline goes to the store.
type PollTrackingResult struct {
	Events   []logistics.TrackingEvent `json:"events"`
	Inserted int                       `json:"inserted"`
}

// PollTracking polls every pollable leg, stores every event (deduplicated)
// and, when something was new, returns the mapped events. Carrier errors
// stay retryable.
func (a *Activities) PollTracking(ctx context.Context, in PollTrackingInput) (PollTrackingResult, error) {
	legs := in.Legs
	if len(legs) == 0 {
		legs = []logistics.Leg{{Carrier: in.Carrier, TrackingNumber: in.TrackingNumber}}
	}
	var events []logistics.TrackingEvent
	polled := 0
	for _, leg := range legs {
		c, ok := a.Carriers.Get(leg.Carrier)
		if !ok {
			return PollTrackingResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown carrier %q", leg.Carrier))
		}
		tr, ok := c.(carriers.Tracker)
		if !ok {
			continue
		}
		if err := a.throttle(ctx, leg.Carrier); err != nil {
			return PollTrackingResult{}, err
		}
		evs, err := tr.Track(ctx, leg.TrackingNumber)
		if errors.Is(err, carriers.ErrUnsupported) {
			continue
		}
		if err != nil {
			return PollTrackingResult{}, a.carrierRetryable(ctx, err, "track %s with %s", leg.TrackingNumber, leg.Carrier)
		}
		polled++
		events = append(events, evs...)
	}
	if polled == 0 {
		return PollTrackingResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("no leg of shipment %d can be polled: %w", in.Number, carriers.ErrUnsupported))
	}
	n, err := a.Store.AddTrackingEvents(ctx, in.MerchantID, in.OrderID, in.Number, events)
	if err != nil {
		return PollTrackingResult{}, fmt.Errorf("store polled events: %w", err)
	}
	var mapped []logistics.TrackingEvent
	if n > 0 {
		for _, e := range events {
			if e.Status.Valid() {
				mapped = append(mapped, e)
			}
		}
		sort.SliceStable(mapped, func(i, j int) bool { return mapped[i].OccurredAt.Before(mapped[j].OccurredAt) })
	}
	return PollTrackingResult{Events: mapped, Inserted: n}, nil
}
