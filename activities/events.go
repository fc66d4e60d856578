package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// Outbound event types (contract.md "Merchant API"), named once in
// logistics so the webhook sender and the API share the list.
const (
	EventStageChanged   = string(logistics.EventOrderStageChanged)
	EventStatusChanged  = string(logistics.EventShipmentStatusChanged)
	EventActionRequired = string(logistics.EventOrderActionRequired)
)

// EmitEventInput is an event for the merchant. ID is decided by the
// emitting workflow, so a retried activity appends it once.
type EmitEventInput struct {
	ID         string         `json:"id"`
	MerchantID string         `json:"merchant_id"`
	OrderID    string         `json:"order_id"`
	Type       string         `json:"type"`
	Data       map[string]any `json:"data"`
	OccurredAt time.Time      `json:"occurred_at"`
}

// EmitEvent appends the event to the outbox the outbound webhook sender
// delivers from. Idempotent on ID.
func (a *Activities) EmitEvent(ctx context.Context, in EmitEventInput) error {
	// Encoded here, not in the workflow: encoding/json is not workflow-safe.
	payload, err := json.Marshal(in.Data)
	if err != nil {
		return nonRetryable(ErrTypeInvalid, fmt.Errorf("encode %s: %w", in.Type, err))
	}
	_, err = a.Store.AppendEvent(ctx, store.OutboundEvent{ID: in.ID, MerchantID: in.MerchantID, OrderID: in.OrderID,
		Type: in.Type, Payload: payload, OccurredAt: in.OccurredAt})
	if err != nil {
		return classify(fmt.Errorf("emit %s: %w", in.Type, err))
	}
	return nil
}
