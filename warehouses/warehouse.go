// Package warehouses is the warehouse port: how Crossdock asks a warehouse to
// pick and pack an order and how it reads the warehouse's confirmations.
// Adapters live in subpackages (warehouses/sandbox, a generic HTTP WMS).
package warehouses

import (
	"context"
	"errors"
	"net/http"

	"github.com/crossdock/crossdock/logistics"
)

// ErrBadSignature marks a webhook whose signature does not verify.
var ErrBadSignature = errors.New("bad webhook signature")

// ErrRefused marks a warehouse's final refusal of a pick request.
var ErrRefused = errors.New("warehouse refused")

// PickRequest asks a warehouse to pick and pack an order's items.
type PickRequest struct {
	IdempotencyKey string           `json:"idempotency_key"`
	MerchantID     string           `json:"merchant_id"`
	OrderID        string           `json:"order_id"`
	Items          []logistics.Item `json:"items"`
}

// Warehouse is what every warehouse adapter implements.
type Warehouse interface {
	// ID is the warehouse's stable id, e.g. "wh_szx".
	ID() string
	// Address is where parcels leave from; its Country is the lane's origin.
	Address() logistics.Address
	// RequestPick asks for a pick. It is idempotent on req.IdempotencyKey.
	// The answer arrives later as a webhook (see ParseWebhook).
	RequestPick(ctx context.Context, req PickRequest) error
	// ParseWebhook verifies a warehouse webhook's signature and returns the
	// event, whose ID is the webhook's idempotency id. A bad or missing
	// signature returns an error wrapping ErrBadSignature.
	ParseWebhook(header http.Header, body []byte) (logistics.WarehouseEvent, error)
}

// ReleaseRequest asks a warehouse to release an order's pick: cancel it if
// it is not yet confirmed, or put the packed stock back if it is.
// IdempotencyKey is the key the pick was requested with; it names the pick.
type ReleaseRequest struct {
	IdempotencyKey string `json:"idempotency_key"`
	MerchantID     string `json:"merchant_id"`
	OrderID        string `json:"order_id"`
}

// Releaser is implemented by warehouses that can release a pick, the
// compensation of RequestPick when an order is cancelled.
type Releaser interface {
	// ReleasePick cancels the pick (no confirmation follows) or puts its
	// packed stock back. It is idempotent, and releasing a pick the
	// warehouse does not know is not an error. A final refusal wraps
	// ErrRefused; other errors may be retried.
	ReleasePick(ctx context.Context, req ReleaseRequest) error
}

// Registry holds the configured warehouses by id.
type Registry struct {
	byID  map[string]Warehouse
	order []string
}

// NewRegistry returns a registry of the given warehouses.
func NewRegistry(ws ...Warehouse) *Registry {
	r := &Registry{byID: map[string]Warehouse{}}
	for _, w := range ws {
		r.byID[w.ID()] = w
		r.order = append(r.order, w.ID())
	}
	return r
}

// Get returns the warehouse with the given id.
func (r *Registry) Get(id string) (Warehouse, bool) {
	w, ok := r.byID[id]
	return w, ok
}

// IDs lists the registered warehouse ids in registration order.
func (r *Registry) IDs() []string { return append([]string(nil), r.order...) }
