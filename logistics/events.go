package logistics

// EventType names an outbound event a merchant can subscribe to
// (contract.md "Merchant API").
type EventType string

// Outbound event types. The workflows emit them into the outbox; merchants
// subscribe webhook endpoints to any of them.
const (
	EventOrderStageChanged     EventType = "order.stage_changed"
	EventShipmentStatusChanged EventType = "shipment.status_changed"
	EventOrderActionRequired   EventType = "order.action_required"
)

// EventTypes lists every outbound event type, in contract order.
var EventTypes = []EventType{EventOrderStageChanged, EventShipmentStatusChanged, EventOrderActionRequired}

// Valid reports whether t is an outbound event type of the contract.
func (t EventType) Valid() bool { return contains(EventTypes, t) }
