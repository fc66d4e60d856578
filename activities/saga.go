package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/warehouses"
)

// The compensations of the cancellation and address-change sagas. Each
// calls one optional port operation and classifies the answer for the
// workflow: a refusal (ErrTypeCarrierRefused, ErrTypeWarehouseRefused) or
// an operation the partner does not offer (ErrTypeUnsupported) is final and
// sends the saga to its next branch (void, else intercept, else ops);
// anything else is retried under the activity's retry policy.

// ReleasePickInput releases an order's pick at its warehouse.
// IdempotencyKey is the key the pick was requested with.
type ReleasePickInput struct {
	Order          logistics.Order `json:"order"`
	IdempotencyKey string          `json:"idempotency_key"`
}

// ReleasePick cancels the order's pick, or puts its packed stock back. It
// is idempotent, and releasing a pick the warehouse never received
// succeeds. A warehouse without releases is a non-retryable Unsupported, a
// refusal a non-retryable WarehouseRefused, an unknown warehouse a
// non-retryable InvalidInput.
func (a *Activities) ReleasePick(ctx context.Context, in ReleasePickInput) error {
	w, ok := a.Warehouses.Get(in.Order.WarehouseID)
	if !ok {
		return nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown warehouse %q", in.Order.WarehouseID))
	}
	r, ok := w.(warehouses.Releaser)
	if !ok {
		return nonRetryable(ErrTypeUnsupported, fmt.Errorf("warehouse %s cannot release picks", w.ID()))
	}
	err := r.ReleasePick(ctx, warehouses.ReleaseRequest{
		IdempotencyKey: in.IdempotencyKey, MerchantID: in.Order.MerchantID, OrderID: in.Order.OrderID,
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, warehouses.ErrRefused):
		return nonRetryable(ErrTypeWarehouseRefused, err)
	}
	return fmt.Errorf("release pick at %s: %w", w.ID(), err)
}

// VoidLabelInput voids the label of one parcel.
type VoidLabelInput struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
}

// VoidLabel cancels a label before the carrier collects the parcel. It is
// idempotent. Outside the channel's void window or after collection it
// fails with a non-retryable CarrierRefused (intercept instead); a carrier
// or channel that cannot void fails with a non-retryable Unsupported.
func (a *Activities) VoidLabel(ctx context.Context, in VoidLabelInput) error {
	c, err := a.carrier(in.Carrier, in.TrackingNumber)
	if err != nil {
		return err
	}
	v, ok := c.(carriers.Voider)
	if !ok {
		return unsupported(in.Carrier, "void labels")
	}
	if err := a.throttle(ctx, in.Carrier); err != nil {
		return err
	}
	return a.classifyCarrierOp(ctx, v.Void(ctx, in.TrackingNumber), "void", in.Carrier, in.TrackingNumber)
}

// ChangeAddressInput redirects one parcel in transit.
type ChangeAddressInput struct {
	Carrier        string            `json:"carrier"`
	TrackingNumber string            `json:"tracking_number"`
	ShipTo         logistics.Address `json:"ship_to"`
}

// ChangeAddressInTransit asks the carrier to redirect the parcel to
// ShipTo. It is idempotent. An invalid address is a non-retryable
// InvalidInput; a parcel the carrier can no longer redirect (out for
// delivery, delivered, another country) a non-retryable CarrierRefused; a
// channel without address change a non-retryable Unsupported.
func (a *Activities) ChangeAddressInTransit(ctx context.Context, in ChangeAddressInput) error {
	c, err := a.carrier(in.Carrier, in.TrackingNumber)
	if err != nil {
		return err
	}
	if err := in.ShipTo.Validate("ship_to"); err != nil {
		return nonRetryable(ErrTypeInvalid, err)
	}
	ch, ok := c.(carriers.AddressChanger)
	if !ok {
		return unsupported(in.Carrier, "change addresses in transit")
	}
	if err := a.throttle(ctx, in.Carrier); err != nil {
		return err
	}
	return a.classifyCarrierOp(ctx, ch.ChangeAddress(ctx, in.TrackingNumber, in.ShipTo), "change address of", in.Carrier, in.TrackingNumber)
}

// InterceptInput stops one parcel in transit and returns it to the sender.
type InterceptInput struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
}

// Intercept asks the carrier to stop the parcel and return it to the
// shipper. It is idempotent. A parcel that can no longer be stopped is a
// non-retryable CarrierRefused; a channel that cannot intercept a
// non-retryable Unsupported.
func (a *Activities) Intercept(ctx context.Context, in InterceptInput) error {
	c, err := a.carrier(in.Carrier, in.TrackingNumber)
	if err != nil {
		return err
	}
	i, ok := c.(carriers.Interceptor)
	if !ok {
		return unsupported(in.Carrier, "intercept parcels")
	}
	if err := a.throttle(ctx, in.Carrier); err != nil {
		return err
	}
	return a.classifyCarrierOp(ctx, i.Intercept(ctx, in.TrackingNumber), "intercept", in.Carrier, in.TrackingNumber)
}

// carrier returns the registered carrier, or a non-retryable InvalidInput.
func (a *Activities) carrier(code, trackingNumber string) (carriers.Carrier, error) {
	if trackingNumber == "" {
		return nil, nonRetryable(ErrTypeInvalid, fmt.Errorf("no tracking number for carrier %q", code))
	}
	c, ok := a.Carriers.Get(code)
	if !ok {
		return nil, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown carrier %q", code))
	}
	return c, nil
}

func unsupported(carrier, what string) error {
	return nonRetryable(ErrTypeUnsupported, fmt.Errorf("carrier %s cannot %s: %w", carrier, what, carriers.ErrUnsupported))
}

// classifyCarrierOp turns a carrier's answer to a compensation into the
// activity's: ErrUnsupported and ErrRefused are final, the rest retryable.
func (a *Activities) classifyCarrierOp(ctx context.Context, err error, op, carrier, trackingNumber string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, carriers.ErrUnsupported):
		return nonRetryable(ErrTypeUnsupported, err)
	case errors.Is(err, carriers.ErrRefused):
		return nonRetryable(ErrTypeCarrierRefused, err)
	}
	return a.carrierRetryable(ctx, err, "%s %s with %s", op, trackingNumber, carrier)
}
