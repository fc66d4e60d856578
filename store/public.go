package store

import (
	"context"
	"fmt"
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// PublicEventLimit caps the events of a PublicTrackingView: the newest ones
// are kept, so a parcel with a long history still answers with one small
// query on a page anyone may call.
const PublicEventLimit = 200

// PublicTrackingView is what the buyer's public tracking page may show of a
// shipment. It has, by construction, no merchant or order id, no name,
// street, postal code, phone or email, and no raw carrier description (raw
// descriptions can carry the consignee's name): only words of the contract,
// countries, cities, carriers and tracking numbers.
type PublicTrackingView struct {
	Status            logistics.Status
	Phase             logistics.Phase
	Origin            string // ISO 3166-1 alpha-2
	Destination       string // ISO 3166-1 alpha-2
	EstimatedDelivery *time.Time
	// Carrier and TrackingNumber are the shipment's own (its first carrier's).
	Carrier        string
	TrackingNumber string
	// Legs are the carriers' parts of the journey, by sequence.
	Legs []PublicLeg
	// Events are the tracking events of every leg in one list, newest first
	// (by occurred_at, then latest recorded), at most PublicEventLimit.
	Events []PublicEvent
	// OlderEvents reports that older events exist beyond Events.
	OlderEvents bool
}

// PublicLeg is one carrier's part of a shipment as the buyer sees it.
type PublicLeg struct {
	Sequence       int
	Kind           logistics.LegKind
	Carrier        string
	TrackingNumber string
	Status         logistics.Status
}

// PublicEvent is one tracking event as the buyer sees it.
type PublicEvent struct {
	Status         logistics.Status
	Phase          logistics.Phase
	Substatus      string
	OccurredAt     time.Time
	Location       logistics.Location
	Carrier        string
	TrackingNumber string
}

// publicEventRow reads only the columns a buyer may see; raw descriptions,
// reasons and who recorded a scan never leave the database on this path.
type publicEventRow struct {
	Status          string
	Phase           string
	Substatus       string
	OccurredAt      time.Time
	LocationCity    string
	LocationCountry string
	Carrier         string
	TrackingNumber  string
}

func (publicEventRow) TableName() string { return "tracking_events" }

// PublicTracking returns the public view of the shipment that owns
// trackingNumber, across merchants: the shipment's own number or any of its
// legs' (a last-mile partner's number finds the same shipment, and the
// timeline holds every leg's events). It makes at most five small indexed
// queries, the events' bounded by PublicEventLimit.
// A number nobody owns, or an empty one, answers logistics.ErrNotFound.
func (s *Store) PublicTracking(ctx context.Context, trackingNumber string) (PublicTrackingView, error) {
	row, _, err := s.shipmentByTrackingNumber(ctx, "", trackingNumber)
	if err != nil {
		return PublicTrackingView{}, err
	}
	v := PublicTrackingView{
		Status:         logistics.Status(row.Status),
		Phase:          logistics.Phase(row.Phase),
		Origin:         row.Origin,
		Destination:    row.Destination,
		Carrier:        row.Carrier,
		TrackingNumber: row.TrackingNumber,
		Legs:           []PublicLeg{},
		Events:         []PublicEvent{},
	}
	if row.EstimatedDelivery != nil {
		t := row.EstimatedDelivery.UTC()
		v.EstimatedDelivery = &t
	}

	var legs []legRow
	err = s.db.WithContext(ctx).
		Where("merchant_id = ? AND order_id = ? AND shipment_number = ?", row.MerchantID, row.OrderID, row.Number).
		Order("sequence").Find(&legs).Error
	if err != nil {
		return PublicTrackingView{}, fmt.Errorf("get legs of shipment for public tracking: %w", err)
	}
	for _, l := range legs {
		v.Legs = append(v.Legs, PublicLeg{Sequence: l.Sequence, Kind: logistics.LegKind(l.Kind), Carrier: l.Carrier,
			TrackingNumber: l.TrackingNumber, Status: logistics.Status(l.Status)})
	}

	var events []publicEventRow
	err = s.db.WithContext(ctx).Model(&publicEventRow{}).
		Select("status, phase, substatus, occurred_at, location_city, location_country, carrier, tracking_number").
		Where("merchant_id = ? AND order_id = ? AND shipment_number = ?", row.MerchantID, row.OrderID, row.Number).
		Order("occurred_at DESC, id DESC").Limit(PublicEventLimit + 1).Find(&events).Error
	if err != nil {
		return PublicTrackingView{}, fmt.Errorf("get tracking events of shipment for public tracking: %w", err)
	}
	if len(events) > PublicEventLimit {
		events, v.OlderEvents = events[:PublicEventLimit], true
	}
	for _, e := range events {
		v.Events = append(v.Events, PublicEvent{
			Status:         logistics.Status(e.Status),
			Phase:          logistics.Phase(e.Phase),
			Substatus:      e.Substatus,
			OccurredAt:     e.OccurredAt.UTC(),
			Location:       logistics.Location{City: e.LocationCity, Country: e.LocationCountry},
			Carrier:        e.Carrier,
			TrackingNumber: e.TrackingNumber,
		})
	}
	return v, nil
}
