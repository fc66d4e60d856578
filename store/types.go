package store

import (
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// WebhookRecord is a processed inbound webhook: its idempotency key
// (Source, ID) and the first answer given, replayed to redeliveries.
type WebhookRecord struct {
	Source     string // "orders", "carrier:<code>", "warehouse:<id>"
	ID         string // the webhook-id header
	EventType  string
	MerchantID string
	OrderID    string
	StatusCode int
	Response   []byte
	CreatedAt  time.Time
}

// OrderRecord is the order projection written by the order workflow's
// activities. Version is monotonic per order: a write with a version not
// greater than the stored one is ignored, so a late write never overwrites
// a newer one.
type OrderRecord struct {
	MerchantID     string
	OrderID        string
	WorkflowID     string
	Order          logistics.Order
	Stage          logistics.Stage
	Stuck          bool
	StuckReason    string
	ActionRequired bool
	Version        int64
	// At is the workflow time of the change (created_at on first write,
	// updated_at always).
	At time.Time
}

// ShipmentRecord is the shipment projection written by the shipment
// workflow's activities, monotonic on Version like OrderRecord.
type ShipmentRecord struct {
	Shipment   logistics.Shipment
	WorkflowID string
	Version    int64
}

// ShipmentRef locates the workflow that owns a tracking number. Carrier is
// the carrier that issued the number (a leg's carrier for a partner's
// number); Status is the shipment's projected status.
type ShipmentRef struct {
	MerchantID string
	OrderID    string
	Number     int
	WorkflowID string
	Carrier    string
	Status     logistics.Status
	// Origin and Destination are the shipment's countries.
	Origin      string
	Destination string
}

// OrderView is an order as the merchant API shows it.
type OrderView struct {
	MerchantID     string
	OrderID        string
	WorkflowID     string
	Stage          logistics.Stage
	Stuck          bool
	StuckReason    string
	ActionRequired bool
	Order          logistics.Order
	Shipments      []logistics.Shipment
	Customs        *logistics.CustomsDecision
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// OrderTrackingView is what the merchant API's order tracking shows of an
// order: where the order and each of its shipments stand, and its tracking
// events oldest first.
type OrderTrackingView struct {
	Stage     logistics.Stage
	Shipments []ShipmentStanding
	Events    []logistics.TrackingEvent
}

// ShipmentStanding is a shipment's number, status and phase.
type ShipmentStanding struct {
	Number int
	Status logistics.Status
	Phase  logistics.Phase
}

// ShipmentFilter selects a merchant's shipments (GET /v1/shipments). Empty
// fields do not filter. Limit is clamped to 1..200 (default 50). Cursor is
// the opaque next_cursor of a previous page.
type ShipmentFilter struct {
	Status       logistics.Status
	Phase        logistics.Phase
	Carrier      string
	Destination  string
	UpdatedAfter *time.Time
	Limit        int
	Cursor       string
}
