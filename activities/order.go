package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

// ProjectOrderInput is the order projection as the workflow sees it now.
type ProjectOrderInput struct {
	WorkflowID     string          `json:"workflow_id"`
	Order          logistics.Order `json:"order"`
	Stage          logistics.Stage `json:"stage"`
	Stuck          bool            `json:"stuck"`
	StuckReason    string          `json:"stuck_reason"`
	ActionRequired bool            `json:"action_required"`
	Version        int64           `json:"version"`
	At             time.Time       `json:"at"`
}

// ProjectOrder writes the order projection. It is idempotent and monotonic:
// a write whose version is not newer than the stored one changes nothing.
func (a *Activities) ProjectOrder(ctx context.Context, in ProjectOrderInput) error {
	applied, err := a.Store.SaveOrder(ctx, store.OrderRecord{
		MerchantID: in.Order.MerchantID, OrderID: in.Order.OrderID, WorkflowID: in.WorkflowID,
		Order: in.Order, Stage: in.Stage, Stuck: in.Stuck, StuckReason: in.StuckReason,
		ActionRequired: in.ActionRequired, Version: in.Version, At: in.At,
	})
	if err != nil {
		return fmt.Errorf("save order projection: %w", err)
	}
	if !applied {
		activity.GetLogger(ctx).Info("stale order projection ignored", "order_id", in.Order.OrderID, "version", in.Version)
	}
	return nil
}

// DecideCustomsInput asks for the customs decision of an order on a date.
type DecideCustomsInput struct {
	Order       logistics.Order       `json:"order"`
	ChannelType logistics.ChannelType `json:"channel_type"`
	Date        time.Time             `json:"date"`
}

// DecideCustoms runs the pure customs engine (a local activity), denied-party
// screening of the consignee included.
func (a *Activities) DecideCustoms(ctx context.Context, in DecideCustomsInput) (logistics.CustomsDecision, error) {
	d, err := a.Customs.Decide(customs.Input{
		Items: in.Order.Items, Destination: in.Order.ShipTo.Country, Incoterm: in.Order.Incoterm,
		TaxIDs: in.Order.TaxIDs, ChannelType: in.ChannelType, Date: in.Date, Consignee: in.Order.ShipTo,
	})
	return d, classify(err)
}

// SaveCustomsInput stores an order's customs decision.
type SaveCustomsInput struct {
	MerchantID string                    `json:"merchant_id"`
	OrderID    string                    `json:"order_id"`
	Decision   logistics.CustomsDecision `json:"decision"`
	At         time.Time                 `json:"at"`
}

// SaveCustoms stores the customs decision with the order (idempotent upsert).
func (a *Activities) SaveCustoms(ctx context.Context, in SaveCustomsInput) error {
	if err := a.Store.SaveCustomsDecision(ctx, in.MerchantID, in.OrderID, in.Decision, in.At); err != nil {
		return fmt.Errorf("save customs decision: %w", err)
	}
	return nil
}

// RequestPickInput asks the order's warehouse to pick and pack it.
type RequestPickInput struct {
	Order          logistics.Order `json:"order"`
	IdempotencyKey string          `json:"idempotency_key"`
}

// RequestPickResult says where the parcels will leave from.
type RequestPickResult struct {
	Origin logistics.Address `json:"origin"`
}

// RequestPick sends the pick request. The confirmation arrives later as a
// warehouse.event signal. Idempotent on IdempotencyKey.
func (a *Activities) RequestPick(ctx context.Context, in RequestPickInput) (RequestPickResult, error) {
	w, ok := a.Warehouses.Get(in.Order.WarehouseID)
	if !ok {
		return RequestPickResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown warehouse %q", in.Order.WarehouseID))
	}
	err := w.RequestPick(ctx, warehouses.PickRequest{
		IdempotencyKey: in.IdempotencyKey, MerchantID: in.Order.MerchantID,
		OrderID: in.Order.OrderID, Items: in.Order.Items,
	})
	if errors.Is(err, warehouses.ErrRefused) {
		return RequestPickResult{}, nonRetryable(ErrTypeWarehouseRefused, err)
	}
	if err != nil {
		return RequestPickResult{}, fmt.Errorf("request pick at %s: %w", w.ID(), err)
	}
	return RequestPickResult{Origin: w.Address()}, nil
}
