package logistics

import "time"

// Names other processes rely on to talk to the workflows. They live here, in
// the domain, so the API can signal a workflow without importing the
// workflow code (architecture.md's import rules).
const (
	// TaskQueue is the Temporal task queue the worker polls.
	TaskQueue = "crossdock"
	// OrderWorkflowType is the registered name of the order workflow.
	OrderWorkflowType = "crossdock.Order"
	// ShipmentWorkflowType is the registered name of the shipment workflow.
	ShipmentWorkflowType = "crossdock.Shipment"
)

// Signal names sent from outside (architecture.md "Signals from outside") and
// by ops from the Temporal UI.
const (
	SignalOrderCreated     = "order.created"
	SignalOrderCancelled   = "order.cancelled"
	SignalAddressUpdated   = "order.address_updated"
	SignalWarehouseEvent   = "warehouse.event"
	SignalTrackingEvent    = "tracking.event"
	SignalCustomsDocuments = "customs.documents_provided"
	SignalOpsRetry         = "ops.retry"
	SignalOpsSkip          = "ops.skip"
	SignalOpsCancel        = "ops.cancel"
	SignalOpsSwitchCarrier = "ops.switch_carrier"
	// SignalComplianceClear: ops reviewed a denied-party match and found it
	// a false positive; the order continues.
	SignalComplianceClear = "ops.compliance_clear"
	// SignalComplianceConfirm: ops confirmed a denied-party match; the order
	// is cancelled and must not ship.
	SignalComplianceConfirm = "ops.compliance_confirm"
	QueryStatus             = "status"
)

// Search attribute names registered with Temporal (architecture.md).
const (
	SearchMerchant       = "CrossdockMerchant"
	SearchStage          = "CrossdockStage"
	SearchCarrier        = "CrossdockCarrier"
	SearchLane           = "CrossdockLane"
	SearchStuck          = "CrossdockStuck"
	SearchStuckReason    = "CrossdockStuckReason"
	SearchActionRequired = "CrossdockActionRequired"
)

// OrderCreated is the payload of the order.created signal.
type OrderCreated struct {
	WebhookID  string    `json:"webhook_id"`
	OccurredAt time.Time `json:"occurred_at"`
	Order      Order     `json:"order"`
}

// OrderCancelled is the payload of the order.cancelled signal.
type OrderCancelled struct {
	WebhookID  string    `json:"webhook_id"`
	OccurredAt time.Time `json:"occurred_at"`
	Reason     string    `json:"reason"`
}

// AddressUpdated is the payload of the order.address_updated signal.
type AddressUpdated struct {
	WebhookID  string    `json:"webhook_id"`
	OccurredAt time.Time `json:"occurred_at"`
	ShipTo     Address   `json:"ship_to"`
}

// TrackingUpdate is the payload of the tracking.event signal: normalised
// events for one of the shipment's tracking numbers.
type TrackingUpdate struct {
	WebhookID string          `json:"webhook_id"`
	Events    []TrackingEvent `json:"events"`
	// Stored says the events are in the shipment's timeline already: the
	// API stored them when it accepted them, so the workflow need not
	// store them again (ops sending the signal by hand leave it false).
	Stored bool `json:"stored,omitempty"`
}

// OpsAction is the payload of the ops.* signals. Carrier and Service are
// used by ops.switch_carrier; Note is kept for the audit trail.
type OpsAction struct {
	Actor   string `json:"actor"`
	Note    string `json:"note"`
	Carrier string `json:"carrier,omitempty"`
	Service string `json:"service,omitempty"`
}
