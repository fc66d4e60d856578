// Package carriers is the carrier port: what Crossdock asks of a carrier,
// the capability model per channel, the registry of adapters, the lane
// planner and tracking normalisation helpers. Adapters live in subpackages
// named after what they adapt (carriers/sandbox, real carriers beside it).
package carriers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// ErrRefused marks a carrier's hard refusal (a 4xx that will never succeed,
// e.g. an address the carrier does not serve). Callers must not retry it on
// the same channel; wrap it with fmt.Errorf("%w: ...", ErrRefused).
var ErrRefused = errors.New("carrier refused")

// ErrUnsupported is returned by an optional operation a channel does not offer.
var ErrUnsupported = errors.New("operation not supported by this carrier")

// RetryAfterError is implemented by adapter errors that carry the delay a
// carrier asked for before the next attempt (an HTTP 429 or 503 with a
// Retry-After header). Callers retrying the operation must wait at least
// that long, or the carrier will only refuse again and may block the account.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// RetryAfter returns the delay the carrier asked for, if err (or an error
// it wraps) carries a positive one.
func RetryAfter(err error) (time.Duration, bool) {
	var ra RetryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return ra.RetryAfter(), true
	}
	return 0, false
}

// BookRequest asks a carrier to carry one parcel. IdempotencyKey makes a
// retried booking return the first booking instead of a second label.
type BookRequest struct {
	IdempotencyKey string                    `json:"idempotency_key"`
	MerchantID     string                    `json:"merchant_id"`
	OrderID        string                    `json:"order_id"`
	ShipmentNumber int                       `json:"shipment_number"`
	Service        string                    `json:"service"`
	ShipFrom       logistics.Address         `json:"ship_from"`
	ShipTo         logistics.Address         `json:"ship_to"`
	Parcel         logistics.Parcel          `json:"parcel"`
	Items          []logistics.Item          `json:"items"`
	Customs        logistics.CustomsDecision `json:"customs"`
	TaxIDs         logistics.TaxIDs          `json:"tax_ids"`
}

// Booking is a carrier's answer to a booking: the tracking number, the label
// and, where the carrier hands over to a partner, the legs it already knows.
type Booking struct {
	TrackingNumber    string          `json:"tracking_number"`
	LabelURL          string          `json:"label_url"`
	EstimatedDelivery *time.Time      `json:"estimated_delivery,omitempty"`
	Legs              []logistics.Leg `json:"legs"`
}

// Carrier is what every adapter implements. Optional operations are separate
// interfaces (Tracker, WebhookParser, Voider, AddressChanger, Interceptor)
// that an adapter implements only where one of its channels declares the
// capability.
type Carrier interface {
	// Code is the carrier's stable id, e.g. "sbx_express".
	Code() string
	// Channels lists the carrier's services per lane with their capabilities.
	Channels() []logistics.Channel
	// Book books a parcel. It is idempotent on req.IdempotencyKey. Errors
	// wrapping ErrRefused are final; any other error may be retried.
	Book(ctx context.Context, req BookRequest) (Booking, error)
}

// Tracker is implemented by carriers that answer tracking polls.
type Tracker interface {
	// Track returns every normalised event the carrier knows for the
	// tracking number, oldest first, with Source = poll.
	Track(ctx context.Context, trackingNumber string) ([]logistics.TrackingEvent, error)
}

// WebhookParser is implemented by carriers that push tracking webhooks.
type WebhookParser interface {
	// ParseWebhook verifies the request's signature and returns the webhook's
	// idempotency id and its normalised events (Source = webhook). A bad or
	// missing signature returns an error wrapping ErrBadSignature.
	ParseWebhook(header http.Header, body []byte) (id string, events []logistics.TrackingEvent, err error)
}

// ErrBadSignature marks a webhook whose signature does not verify.
var ErrBadSignature = errors.New("bad webhook signature")

// Manifester is implemented by carriers whose channels are batch-only
// (Capabilities.Label = batch_manifest): Book allocates the tracking number
// from the carrier's range without calling it, Crossdock prints the label,
// and the day's parcels reach the carrier as one manifest file at the
// channel's cut-off.
type Manifester interface {
	// SubmitManifest hands a manifest file (carriers/paper's CSV) named name
	// to the carrier. It is idempotent on name, and the carrier takes each
	// tracking number once whatever file it comes in. A file the carrier
	// will never accept wraps ErrRefused; other errors may be retried.
	SubmitManifest(ctx context.Context, name string, file []byte) error
}

// CustomsEntry is the import declaration an importer files with a customs
// broker: the decision Crossdock made (regime, incoterm, duties, taxes,
// form), the goods line by line, the importer and its tax ids.
type CustomsEntry struct {
	Reference string                    `json:"reference"` // the order id
	Decision  logistics.CustomsDecision `json:"decision"`
	Items     []logistics.Item          `json:"items"`
	Importer  logistics.Address         `json:"importer"`
	TaxIDs    logistics.TaxIDs          `json:"tax_ids"`
}

// CustomsBroker is implemented by carriers whose channels clear import
// customs through their broker (Capabilities.Customs = broker): the broker
// holds the parcel at import customs until the entry is filed. A channel
// that pre-clears electronically takes the declaration with the booking,
// and a postal channel takes a printed CN22/CN23 with the parcel.
type CustomsBroker interface {
	// FileCustomsEntry files the entry for trackingNumber. It is
	// idempotent: filing again replaces nothing and succeeds. An entry the
	// broker will never accept wraps ErrRefused; other errors may be
	// retried.
	FileCustomsEntry(ctx context.Context, trackingNumber string, entry CustomsEntry) error
}

// PickupRequest asks a carrier to collect parcels from a warehouse.
// Reference is the idempotency key: asking again returns the first pickup.
type PickupRequest struct {
	Reference       string            `json:"reference"`
	Address         logistics.Address `json:"address"`
	ReadyAt         time.Time         `json:"ready_at"`
	TrackingNumbers []string          `json:"tracking_numbers"`
	WeightGrams     int               `json:"weight_grams"`
}

// Pickup is a carrier's confirmation of a collection.
type Pickup struct {
	Confirmation string    `json:"confirmation"`
	WindowStart  time.Time `json:"window_start"`
	WindowEnd    time.Time `json:"window_end"`
}

// PickupScheduler is implemented by carriers whose channels collect on
// request (Capabilities.Pickup); the others collect on a standing round or
// take parcels at their depot.
type PickupScheduler interface {
	// SchedulePickup books a collection. It is idempotent on
	// req.Reference. A collection the carrier will not make (an address it
	// does not serve) wraps ErrRefused; other errors may be retried.
	SchedulePickup(ctx context.Context, req PickupRequest) (Pickup, error)
}

// Voider is implemented by carriers whose channels can cancel a label
// (Capabilities.VoidWindow > 0), so a cancelled order is neither collected
// nor billed.
type Voider interface {
	// Void cancels the label of trackingNumber; the carrier plays no more
	// of its journey. It is idempotent: voiding a voided label succeeds.
	// A label outside its channel's void window, or a parcel the carrier
	// has already collected, returns an error wrapping ErrRefused; a
	// channel that cannot void wraps ErrUnsupported. Other errors may be
	// retried.
	Void(ctx context.Context, trackingNumber string) error
}

// AddressChanger is implemented by carriers whose channels can redirect a
// parcel in transit (Capabilities.AddressChange).
type AddressChanger interface {
	// ChangeAddress redirects trackingNumber to the address to; later scans
	// show the new destination. It is idempotent. A parcel already out for
	// delivery, delivered, returning, voided, or a change the carrier will
	// not make (e.g. to another country) returns an error wrapping
	// ErrRefused; a channel without address change wraps ErrUnsupported.
	// Other errors may be retried.
	ChangeAddress(ctx context.Context, trackingNumber string, to logistics.Address) error
}

// Interceptor is implemented by carriers that can stop a parcel in transit
// and return it to the sender.
type Interceptor interface {
	// Intercept stops trackingNumber and sends it back: the carrier then
	// reports return_to_sender scans and finally delivers it to the
	// shipper. It is idempotent: intercepting a returning parcel succeeds.
	// A parcel out for delivery, delivered, voided or not yet in the
	// carrier's hands returns an error wrapping ErrRefused; a channel that
	// cannot intercept wraps ErrUnsupported. Other errors may be retried.
	Intercept(ctx context.Context, trackingNumber string) error
}
