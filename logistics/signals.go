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
	// Parts, when set, says the update carries several submissions, in the
	// order they were accepted: Events holds theirs one after another. The
	// hand-off relay sends a shipment's waiting submissions in one signal
	// this way, so they cost one signal instead of one each, and the
	// workflow still applies each on its own (Split). A worker that
	// predates Parts reads Events as one update: nothing is lost, only the
	// status changes within are published as one.
	Parts []TrackingPart `json:"parts,omitempty"`
}

// TrackingPart is one submission within a TrackingUpdate: its webhook (or
// import) id and how many of the update's events are its.
type TrackingPart struct {
	WebhookID string `json:"webhook_id"`
	Events    int    `json:"events"`
}

// Split returns the submissions u carries, each as its own update, in
// order: u itself when it has no parts, or parts that do not add up to its
// events (then it is applied whole, so nothing is lost).
func (u TrackingUpdate) Split() []TrackingUpdate {
	if len(u.Parts) == 0 {
		return []TrackingUpdate{u}
	}
	total := 0
	for _, p := range u.Parts {
		if p.Events <= 0 {
			return []TrackingUpdate{u}
		}
		total += p.Events
	}
	if total != len(u.Events) {
		return []TrackingUpdate{u}
	}
	out := make([]TrackingUpdate, len(u.Parts))
	at := 0
	for i, p := range u.Parts {
		out[i] = TrackingUpdate{WebhookID: p.WebhookID, Events: u.Events[at : at+p.Events : at+p.Events], Stored: u.Stored}
		at += p.Events
	}
	return out
}

// OpsAction is the payload of the ops.* signals. Carrier and Service are
// used by ops.switch_carrier; Note is kept for the audit trail.
type OpsAction struct {
	Actor   string `json:"actor"`
	Note    string `json:"note"`
	Carrier string `json:"carrier,omitempty"`
	Service string `json:"service,omitempty"`
}
