// Package activities is the thin glue between the workflows and the world:
// each activity calls one port (a carrier, a warehouse, the customs engine)
// or the store, is idempotent, and classifies its errors as retryable or not
// so the workflow knows whether to try again, fall back or ask ops.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

// Error type names the workflows branch on (temporal.ApplicationError.Type).
const (
	// ErrTypeCarrierRefused: the carrier will never accept this booking on
	// this channel (try the next channel), or will never make this void,
	// redirect or intercept (take the saga's next branch).
	ErrTypeCarrierRefused = "CarrierRefused"
	// ErrTypeCarrierUnavailable: the carrier's circuit breaker is open (it
	// kept failing lately); the booking should go to the next-best channel.
	ErrTypeCarrierUnavailable = "CarrierUnavailable"
	// ErrTypeCarrierBusy: the carrier asked to be called again later (429 or
	// 503 with Retry-After); the next attempt waits at least that long.
	ErrTypeCarrierBusy = "CarrierBusy"
	// ErrTypeWarehouseRefused: the warehouse refused the pick request.
	ErrTypeWarehouseRefused = "WarehouseRefused"
	// ErrTypeInvalid: the input can never succeed (unknown carrier, bad data).
	ErrTypeInvalid = "InvalidInput"
	// ErrTypeUnsupported: the partner cannot do this at all (a carrier
	// channel without void, address change or intercept; a warehouse that
	// cannot release picks); take the next branch of the saga or ask ops.
	ErrTypeUnsupported = "Unsupported"
)

// Store is what the activities need from the projection store.
type Store interface {
	SaveOrder(ctx context.Context, rec store.OrderRecord) (bool, error)
	SaveShipment(ctx context.Context, rec store.ShipmentRecord) (bool, error)
	SaveCustomsDecision(ctx context.Context, merchantID, orderID string, d logistics.CustomsDecision, at time.Time) error
	AddTrackingEvents(ctx context.Context, merchantID, orderID string, shipmentNumber int, events []logistics.TrackingEvent) (int, error)
	AppendEvent(ctx context.Context, e store.OutboundEvent) (bool, error)
	SaveDocument(ctx context.Context, d store.Document) error
	AddManifestEntry(ctx context.Context, e store.ManifestEntry) (store.ManifestEntry, error)
	ManifestEntries(ctx context.Context, carrier, day string) ([]store.ManifestEntry, error)
	MarkManifestSubmitted(ctx context.Context, carrier, file string, trackingNumbers []string) error
}

// CustomsEngine decides the customs regime and landed cost of an order.
type CustomsEngine interface {
	Decide(in customs.Input) (logistics.CustomsDecision, error)
	Convert(m logistics.Money, to string) (logistics.Money, error)
}

// Settings are the worker's tunables that workflows read once through the
// Settings local activity, so a replay sees the values the run saw.
type Settings struct {
	// PickTimeout is how long to wait for a warehouse's confirmation before
	// the order is marked stuck.
	PickTimeout time.Duration `json:"pick_timeout"`
	// PollInterval is the pause between tracking polls on poll-only
	// channels; a push channel silent for four of them is polled too.
	PollInterval time.Duration `json:"poll_interval"`
	// CarrierAttempts bounds the tries of a carrier call (booking) before
	// the order is marked stuck for ops; 0 means the workflow's default.
	CarrierAttempts int32 `json:"carrier_attempts"`
	// CarrierMaxInterval caps the back-off between those tries.
	CarrierMaxInterval time.Duration `json:"carrier_max_interval"`
	// SLA are the alert thresholds while shipments travel; SLALanes
	// overrides them per lane ("CN-GB"), field by field.
	SLA      SLA            `json:"sla"`
	SLALanes map[string]SLA `json:"sla_lanes,omitempty"`
	// ManifestEvery, when positive, sends batch-only carriers' manifests
	// every that often instead of at each channel's daily cut-off (dev
	// mode and tests, whose parcels cannot wait for tomorrow).
	ManifestEvery time.Duration `json:"manifest_every,omitempty"`
}

// ForLane is the SLA of a lane: the lane's non-zero values over the defaults.
func (s Settings) ForLane(lane string) SLA {
	sla := s.SLA
	o, ok := s.SLALanes[lane]
	if !ok {
		return sla
	}
	for _, f := range []struct{ dst, src *time.Duration }{
		{&sla.NoMovement, &o.NoMovement}, {&sla.ImportCustoms, &o.ImportCustoms}, {&sla.PickupWait, &o.PickupWait},
		{&sla.HoldReminder, &o.HoldReminder}, {&sla.HoldEscalation, &o.HoldEscalation},
	} {
		if *f.src > 0 {
			*f.dst = *f.src
		}
	}
	return sla
}

// SLA are the durations after which a travelling shipment needs attention
// (action_required with the reason); zero turns a check off.
type SLA struct {
	// NoMovement: picked up or in transit with no status or phase change.
	NoMovement time.Duration `json:"no_movement"`
	// ImportCustoms: in import customs.
	ImportCustoms time.Duration `json:"import_customs"`
	// PickupWait: available for pickup and not collected.
	PickupWait time.Duration `json:"pickup_wait"`
	// HoldReminder: how often a customs hold without documents is raised again.
	HoldReminder time.Duration `json:"hold_reminder"`
	// HoldEscalation: a customs hold without documents this long makes the order stuck.
	HoldEscalation time.Duration `json:"hold_escalation"`
}

// Activities holds the dependencies of every activity. Workflows reference
// its methods through a nil pointer; the worker registers a real one.
type Activities struct {
	Store      Store
	Carriers   *carriers.Registry
	Warehouses *warehouses.Registry
	Customs    CustomsEngine
	Settings   Settings
}

// Name constants are the registered activity names, independent of Go
// identifiers so a rename never breaks running histories.
const (
	NameSettings        = "crossdock.Settings"
	NameEmitEvent       = "crossdock.EmitEvent"
	NameProjectOrder    = "crossdock.ProjectOrder"
	NameDecideCustoms   = "crossdock.DecideCustoms"
	NameSaveCustoms     = "crossdock.SaveCustoms"
	NameRequestPick     = "crossdock.RequestPick"
	NamePlanChannels    = "crossdock.PlanChannels"
	NameBookShipment    = "crossdock.BookShipment"
	NameProjectShipment = "crossdock.ProjectShipment"
	NameRecordTracking  = "crossdock.RecordTracking"
	NamePollTracking    = "crossdock.PollTracking"
	NameReleasePick     = "crossdock.ReleasePick"
	NameVoidLabel       = "crossdock.VoidLabel"
	NameChangeAddress   = "crossdock.ChangeAddressInTransit"
	NameIntercept       = "crossdock.Intercept"
	NamePrintDocuments  = "crossdock.PrintDocuments"
	NameAddToManifest   = "crossdock.AddToManifest"
	NameSubmitManifest  = "crossdock.SubmitManifest"
	NameFileCustoms     = "crossdock.FileCustomsEntry"
	NameSchedulePickup  = "crossdock.SchedulePickup"
)

// Register registers every activity under its stable name.
func (a *Activities) Register(r worker.ActivityRegistry) {
	for name, fn := range map[string]any{
		NameSettings:        a.GetSettings,
		NameEmitEvent:       a.EmitEvent,
		NameProjectOrder:    a.ProjectOrder,
		NameDecideCustoms:   a.DecideCustoms,
		NameSaveCustoms:     a.SaveCustoms,
		NameRequestPick:     a.RequestPick,
		NamePlanChannels:    a.PlanChannels,
		NameBookShipment:    a.BookShipment,
		NameProjectShipment: a.ProjectShipment,
		NameRecordTracking:  a.RecordTracking,
		NamePollTracking:    a.PollTracking,
		NameReleasePick:     a.ReleasePick,
		NameVoidLabel:       a.VoidLabel,
		NameChangeAddress:   a.ChangeAddressInTransit,
		NameIntercept:       a.Intercept,
		NamePrintDocuments:  a.PrintDocuments,
		NameAddToManifest:   a.AddToManifest,
		NameSubmitManifest:  a.SubmitManifest,
		NameFileCustoms:     a.FileCustomsEntry,
		NameSchedulePickup:  a.SchedulePickup,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// GetSettings returns the worker's settings (a local activity).
func (a *Activities) GetSettings(ctx context.Context) (Settings, error) {
	return a.Settings, nil
}

// nonRetryable wraps err as a final failure of the given type.
func nonRetryable(errType string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), errType, err)
}

// carrierRetryable wraps a carrier error that may succeed later. When the
// carrier said how long to wait (Retry-After), the next attempt is
// scheduled no sooner, whatever the retry policy's own back-off says, but
// no later than the longest pause between tries (see maxRetryDelay): a
// carrier announcing an hour-long outage is better counted as failing, so
// its circuit breaker opens and a booking moves to the next channel, than
// waited for while the order sits idle.
func (a *Activities) carrierRetryable(ctx context.Context, err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...) + ": " + err.Error()
	if d, ok := carriers.RetryAfter(err); ok {
		if limit := a.maxRetryDelay(ctx); limit > 0 {
			d = min(d, limit)
		}
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeCarrierBusy,
			temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}

// maxRetryDelay is the longest pause between tries of the running
// activity: its retry policy's MaximumInterval as the server reports it,
// else the worker's CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL (0: no limit).
func (a *Activities) maxRetryDelay(ctx context.Context) time.Duration {
	if activity.IsActivity(ctx) {
		if p := activity.GetInfo(ctx).RetryPolicy; p != nil && p.MaximumInterval > 0 {
			return p.MaximumInterval
		}
	}
	return a.Settings.CarrierMaxInterval
}

// throttle waits until a call to the carrier keeps within its published
// API rate limit (carriers.Limiters). A wait longer than the activity can
// afford is a retryable CarrierBusy carrying that wait, so the next attempt
// comes when the carrier can take it.
func (a *Activities) throttle(ctx context.Context, carrier string) error {
	if err := a.Carriers.Limiters().Wait(ctx, carrier); err != nil {
		return a.carrierRetryable(ctx, err, "call %s", carrier)
	}
	return nil
}

// classify turns a domain error into a final failure when retrying cannot
// help; anything else stays retryable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var le *logistics.Error
	if errors.As(err, &le) && (le.Code == logistics.CodeInvalid || le.Code == logistics.CodeNotFound) {
		return nonRetryable(ErrTypeInvalid, err)
	}
	return err
}
