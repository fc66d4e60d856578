package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

// fakeStore records every projection write in memory.
type fakeStore struct {
	mu        sync.Mutex
	orders    []store.OrderRecord
	shipments []store.ShipmentRecord
	customs   []logistics.CustomsDecision
	events    map[string]bool
	outbox    []store.OutboundEvent
	documents []store.Document
	manifest  []store.ManifestEntry

	// trackingWrites counts AddTrackingEvents calls.
	trackingWrites int
}

func (s *fakeStore) SaveDocument(_ context.Context, d store.Document) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.documents {
		if x.TrackingNumber == d.TrackingNumber && x.Kind == d.Kind {
			return nil
		}
	}
	s.documents = append(s.documents, d)
	return nil
}

func (s *fakeStore) AddManifestEntry(_ context.Context, e store.ManifestEntry) (store.ManifestEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.manifest {
		if x.Carrier == e.Carrier && x.TrackingNumber == e.TrackingNumber {
			return x, nil
		}
	}
	s.manifest = append(s.manifest, e)
	return e, nil
}

func (s *fakeStore) ManifestEntries(_ context.Context, carrier, day string) ([]store.ManifestEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.ManifestEntry
	for _, x := range s.manifest {
		if x.Carrier == carrier && x.Day == day {
			out = append(out, x)
		}
	}
	return out, nil
}

func (s *fakeStore) MarkManifestSubmitted(_ context.Context, carrier, file string, numbers []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.manifest {
		if x.Carrier == carrier && x.SubmittedIn == "" && slices.Contains(numbers, x.TrackingNumber) {
			s.manifest[i].SubmittedIn = file
		}
	}
	return nil
}

func (s *fakeStore) AppendEvent(_ context.Context, e store.OutboundEvent) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.outbox {
		if x.ID == e.ID {
			return false, nil
		}
	}
	s.outbox = append(s.outbox, e)
	return true, nil
}

func (s *fakeStore) eventTypes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.outbox {
		out = append(out, e.Type)
	}
	return out
}

var _ activities.Store = (*fakeStore)(nil)

func (s *fakeStore) SaveOrder(_ context.Context, rec store.OrderRecord) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orders = append(s.orders, rec)
	return true, nil
}

func (s *fakeStore) SaveShipment(_ context.Context, rec store.ShipmentRecord) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shipments = append(s.shipments, rec)
	return true, nil
}

func (s *fakeStore) SaveCustomsDecision(_ context.Context, _, _ string, d logistics.CustomsDecision, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customs = append(s.customs, d)
	return nil
}

func (s *fakeStore) AddTrackingEvents(_ context.Context, _, _ string, _ int, events []logistics.TrackingEvent) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.events == nil {
		s.events = map[string]bool{}
	}
	s.trackingWrites++
	n := 0
	for _, e := range events {
		if !s.events[e.DedupKey()] {
			s.events[e.DedupKey()] = true
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) stages() []logistics.Stage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logistics.Stage
	for _, o := range s.orders {
		if len(out) == 0 || out[len(out)-1] != o.Stage {
			out = append(out, o.Stage)
		}
	}
	return out
}

func (s *fakeStore) lastOrder() store.OrderRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orders[len(s.orders)-1]
}

// fakeCarrier books on one channel; refuse makes it refuse every booking.
type fakeCarrier struct {
	code     string
	days     int
	tracking logistics.TrackingMode
	refuse   bool
	down     bool // every booking fails as a 503 would (retryable)
	// retryAfter, with down, is the Retry-After of each failure.
	retryAfter time.Duration
	attempts   int // Book calls, failed ones included
	// revealAll makes Track answer the whole journey at once.
	revealAll bool
	// label is the channel's label mode ("": api); a batch_manifest
	// channel has a 17:00 UTC cut-off.
	label     logistics.LabelMode
	manifests map[string]string // file name -> CSV, as submitted
	// customsPath is the channel's customs path ("": electronic); entries
	// are the customs entries filed with its broker.
	customsPath logistics.CustomsPath
	entries     []carriers.CustomsEntry
	// pickup: the channel collects on request; pickupReqs are the
	// collections asked for.
	pickup     bool
	pickupReqs []carriers.PickupRequest

	// Answers of the compensation operations (nil: it works).
	voidErr, interceptErr, redirectErr error

	mu       sync.Mutex
	bookings map[string]string // idempotency key -> tracking number
	journey  []logistics.TrackingEvent
	polls    int
	calls    []string // void, intercept, redirect:<city>
}

var (
	_ carriers.Carrier        = (*fakeCarrier)(nil)
	_ carriers.Tracker        = (*fakeCarrier)(nil)
	_ carriers.Voider         = (*fakeCarrier)(nil)
	_ carriers.Interceptor    = (*fakeCarrier)(nil)
	_ carriers.AddressChanger = (*fakeCarrier)(nil)
)

func (c *fakeCarrier) record(call string, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
	return err
}

func (c *fakeCarrier) Void(context.Context, string) error { return c.record("void", c.voidErr) }

func (c *fakeCarrier) Intercept(context.Context, string) error {
	return c.record("intercept", c.interceptErr)
}

func (c *fakeCarrier) ChangeAddress(_ context.Context, _ string, to logistics.Address) error {
	return c.record("redirect:"+to.City, c.redirectErr)
}

func (c *fakeCarrier) callLog() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func (c *fakeCarrier) Code() string { return c.code }

func (c *fakeCarrier) Channels() []logistics.Channel {
	ch := logistics.Channel{Carrier: c.code, Service: "std", Type: logistics.ChannelCourier,
		Destinations: []string{"*"}, EstimatedDays: c.days,
		Capabilities: logistics.Capabilities{Label: logistics.LabelAPI, Tracking: c.tracking,
			Customs: logistics.CustomsElectronic, LastMile: logistics.LastMileOwn, DDP: true, MaxWeightGrams: 30000}}
	if c.label != "" {
		ch.Capabilities.Label = c.label
	}
	if c.label == logistics.LabelBatchManifest {
		ch.Capabilities.Cutoff, ch.Capabilities.CutoffZone = "17:00", "UTC"
	}
	if c.customsPath != "" {
		ch.Capabilities.Customs = c.customsPath
	}
	ch.Capabilities.Pickup = c.pickup
	return []logistics.Channel{ch}
}

var (
	_ carriers.Manifester    = (*fakeCarrier)(nil)
	_ carriers.CustomsBroker = (*fakeCarrier)(nil)
)

func (c *fakeCarrier) FileCustomsEntry(_ context.Context, tn string, e carriers.CustomsEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = append(c.entries, e)
	return nil
}

var _ carriers.PickupScheduler = (*fakeCarrier)(nil)

func (c *fakeCarrier) SchedulePickup(_ context.Context, req carriers.PickupRequest) (carriers.Pickup, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pickupReqs = append(c.pickupReqs, req)
	return carriers.Pickup{Confirmation: "PU1", WindowStart: req.ReadyAt, WindowEnd: req.ReadyAt.Add(3 * time.Hour)}, nil
}

func (c *fakeCarrier) pickupRequests() []carriers.PickupRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.pickupReqs)
}

func (c *fakeCarrier) filedEntries() []carriers.CustomsEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.entries)
}

func (c *fakeCarrier) SubmitManifest(_ context.Context, name string, file []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.manifests == nil {
		c.manifests = map[string]string{}
	}
	c.manifests[name] = string(file)
	return nil
}

func (c *fakeCarrier) submitted() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.manifests)
}

func (c *fakeCarrier) Book(_ context.Context, req carriers.BookRequest) (carriers.Booking, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	if c.refuse {
		return carriers.Booking{}, fmt.Errorf("%w: destination not served", carriers.ErrRefused)
	}
	if c.down && c.retryAfter > 0 {
		return carriers.Booking{}, unavailableFor{c.retryAfter}
	}
	if c.down {
		return carriers.Booking{}, fmt.Errorf("503 service unavailable")
	}
	if c.bookings == nil {
		c.bookings = map[string]string{}
	}
	tn, ok := c.bookings[req.IdempotencyKey]
	if !ok {
		tn = fmt.Sprintf("%s-%d", c.code, len(c.bookings)+1)
		c.bookings[req.IdempotencyKey] = tn
	}
	if c.label != "" && c.label != logistics.LabelAPI {
		return carriers.Booking{TrackingNumber: tn}, nil // no label API: Crossdock prints it
	}
	return carriers.Booking{TrackingNumber: tn, LabelURL: "http://labels.invalid/" + tn}, nil
}

// Track reveals one more event of the journey per poll.
func (c *fakeCarrier) Track(_ context.Context, tn string) ([]logistics.TrackingEvent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.polls++
	n := min(c.polls, len(c.journey))
	if c.revealAll {
		n = len(c.journey)
	}
	out := append([]logistics.TrackingEvent(nil), c.journey[:n]...)
	for i := range out {
		out[i].TrackingNumber, out[i].Source = tn, logistics.SourcePoll
	}
	return out, nil
}

func (c *fakeCarrier) pollCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.polls
}

// unavailableFor is a carrier's 503 with Retry-After.
type unavailableFor struct{ wait time.Duration }

var _ carriers.RetryAfterError = unavailableFor{}

func (u unavailableFor) Error() string             { return "503 service unavailable" }
func (u unavailableFor) RetryAfter() time.Duration { return u.wait }

func (c *fakeCarrier) attemptCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts
}

func (c *fakeCarrier) bookingCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bookings)
}

// fakeWarehouse records pick requests and releases.
type fakeWarehouse struct {
	mu       sync.Mutex
	picks    []string
	released []string
}

var (
	_ warehouses.Warehouse = (*fakeWarehouse)(nil)
	_ warehouses.Releaser  = (*fakeWarehouse)(nil)
)

func (w *fakeWarehouse) ReleasePick(_ context.Context, req warehouses.ReleaseRequest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.released = append(w.released, req.IdempotencyKey)
	return nil
}

func (w *fakeWarehouse) ID() string { return "wh_szx" }

func (w *fakeWarehouse) Address() logistics.Address {
	return logistics.Address{Name: "SZX", Line1: "1 Dock Road", City: "Shenzhen", Country: "CN"}
}

func (w *fakeWarehouse) RequestPick(_ context.Context, req warehouses.PickRequest) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.picks = append(w.picks, req.IdempotencyKey)
	return nil
}

func (w *fakeWarehouse) ParseWebhook(http.Header, []byte) (logistics.WarehouseEvent, error) {
	return logistics.WarehouseEvent{}, warehouses.ErrBadSignature
}

func (w *fakeWarehouse) pickKeys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.picks...)
}

// fakeCustoms returns a fixed decision, blocked by the given reasons.
type fakeCustoms struct{ reasons []string }

const deniedParty = "denied_party_match: ACME PROLIFERATION TRADING CO (SDN 1234)"

func (f fakeCustoms) Decide(in customs.Input) (logistics.CustomsDecision, error) {
	d := logistics.CustomsDecision{Regime: "decided_for_" + in.Destination, Incoterm: in.Incoterm, RulesAsOf: in.Date.Format("2006-01-02")}
	if len(f.reasons) > 0 {
		d.Blocked, d.BlockReasons = true, append([]string(nil), f.reasons...)
	}
	return d, nil
}

// Convert converts only a currency into itself: fake decisions carry no
// amounts, so every channel is ranked without a landed cost.
func (f fakeCustoms) Convert(m logistics.Money, to string) (logistics.Money, error) {
	if m.Currency != to {
		return logistics.Money{}, errors.New("fakeCustoms converts no currency")
	}
	return m, nil
}

// untrackable declares a poll channel but has no tracking API: a carrier
// configuration mistake the workflow must survive.
type untrackable struct{ inner *fakeCarrier }

var _ carriers.Carrier = untrackable{}

func (u untrackable) Code() string                  { return u.inner.Code() }
func (u untrackable) Channels() []logistics.Channel { return u.inner.Channels() }
func (u untrackable) Book(ctx context.Context, req carriers.BookRequest) (carriers.Booking, error) {
	return u.inner.Book(ctx, req)
}
