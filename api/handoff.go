package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// HandoffStore is what the hand-off relay needs from the store;
// *store.Store satisfies it.
type HandoffStore interface {
	// ClaimTrackingHandoffs leases due hand-offs, oldest first.
	ClaimTrackingHandoffs(ctx context.Context, at time.Time, lease time.Duration, limit int) ([]store.TrackingHandoff, error)
	// CompleteTrackingHandoffs deletes delivered hand-offs.
	CompleteTrackingHandoffs(ctx context.Context, ids []int64) error
	// RetryTrackingHandoffs postpones hand-offs to next.
	RetryTrackingHandoffs(ctx context.Context, ids []int64, next time.Time, reason string) error
	// ShipmentByTrackingNumber tells whether a shipment has finished.
	ShipmentByTrackingNumber(ctx context.Context, trackingNumber string) (store.ShipmentRef, error)
}

// Signaller signals a running workflow; *client.Client satisfies it.
type Signaller interface {
	SignalWorkflow(ctx context.Context, workflowID string, runID string, signalName string, arg interface{}) error
}

// Relay defaults.
const (
	DefaultRelayPoll        = time.Second
	DefaultRelayLease       = 15 * time.Second
	DefaultRelayBatch       = 500
	DefaultRelayConcurrency = 8
	DefaultRelayLinger      = 250 * time.Millisecond
	// relayMaxSignalEvents bounds the events of one signal (a few hundred
	// bytes each as JSON), well inside Temporal's payload limits; a single
	// hand-off larger than this (an import's share) still goes whole.
	relayMaxSignalEvents = 1000
	// relayMaxBackoff caps the wait between attempts at one hand-off: a
	// shipment workflow that is not running yet, or Temporal being down.
	relayMaxBackoff = 5 * time.Minute
)

// RelayOptions configures a Relay; zero values take the defaults.
type RelayOptions struct {
	// Poll is the pause between passes when nothing woke the relay
	// (default 1s): it picks up what another process accepted or a failed
	// attempt left for later.
	Poll time.Duration
	// Lease is how long a claimed hand-off is reserved for this relay
	// before another may take it (default 15s): what a relay that died
	// mid-pass delays. A pass that outlives it may signal twice, which the
	// workflow absorbs.
	Lease time.Duration
	// Batch bounds the hand-offs claimed per pass (default 500) and
	// Concurrency the signals in flight (default 8).
	Batch       int
	Concurrency int
	// Linger is how long a woken relay waits for more to arrive before it
	// claims (default 250ms; negative: not at all). Under a stream of
	// webhooks a shipment's submissions then go in one signal and one
	// workflow task per linger instead of one per webhook.
	Linger time.Duration
	// Logger receives the relay's logs (default slog.Default()).
	Logger *slog.Logger
	// Metrics, if set, receives the relay's counters
	// (crossdock_tracking_handoffs_total by outcome, and the events
	// signalled).
	Metrics prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Relay hands accepted tracking events to their shipment workflows. The
// API acknowledges a carrier webhook or an ops import once its events and
// their hand-off are committed (AcceptTracking), without waiting for
// Temporal; the relay then signals each shipment's workflow, one signal
// for all of its waiting submissions (each kept as its own part), and
// deletes the hand-offs. A signal
// that fails is retried with backoff, so nothing acknowledged is lost while
// Temporal is away; hand-offs of a finished shipment are dropped (its
// tracking can no longer change). Delivery is at least once: the workflow
// stores events deduplicated and its status only moves forward.
type Relay struct {
	st       HandoffStore
	tc       Signaller
	opts     RelayOptions
	log      *slog.Logger
	wake     chan struct{}
	outcomes *prometheus.CounterVec
	events   prometheus.Counter
}

// NewRelay returns a relay; start it with Run.
func NewRelay(st HandoffStore, tc Signaller, opts RelayOptions) *Relay {
	if opts.Poll <= 0 {
		opts.Poll = DefaultRelayPoll
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultRelayLease
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultRelayBatch
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultRelayConcurrency
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultRelayLinger
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Relay{st: st, tc: tc, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crossdock_tracking_handoffs_total",
			Help: "Tracking hand-offs settled by the relay, by outcome: delivered, retried (to be tried again) or dropped (shipment finished)."},
			[]string{"outcome"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "crossdock_tracking_handoff_events_total",
			Help: "Tracking events the relay signalled to shipment workflows."}),
	}
	if opts.Metrics != nil {
		opts.Metrics.MustRegister(r.outcomes, r.events)
	}
	return r
}

// Notify wakes the relay: something was just accepted. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends. A pass that fails (the database is away) is
// logged and tried again after Poll.
func (r *Relay) Run(ctx context.Context) error {
	r.log.Info("tracking hand-off relay started")
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			r.log.Info("tracking hand-off relay stopped")
			return nil
		case <-r.wake:
			if r.opts.Linger > 0 {
				select {
				case <-ctx.Done():
					continue
				case <-time.After(r.opts.Linger):
				}
			}
		case <-timer.C:
		}
		for {
			n, err := r.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("tracking hand-off pass failed; will try again", "error", err)
			}
			if err != nil || n < r.opts.Batch {
				break
			}
		}
		timer.Reset(r.opts.Poll)
	}
}

// RunOnce claims the due hand-offs (at most Batch), signals each workflow
// its hand-offs (see deliver) and settles every claimed hand-off. It
// returns how many hand-offs it claimed.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	claimed, err := r.st.ClaimTrackingHandoffs(ctx, r.opts.Now(), r.opts.Lease, r.opts.Batch)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, batch := range groupHandoffs(claimed) {
		g.Go(func() error { return r.deliver(gctx, batch) })
	}
	return len(claimed), g.Wait()
}

// deliver signals one workflow its hand-offs, oldest first, as few signals
// as the size bound allows: each signal carries its hand-offs as separate
// parts (TrackingUpdate.Parts), so the workflow applies every submission on
// its own and publishes each status change the carrier reported, as it
// would have had each been signalled on arrival, for one signal (and one
// workflow task) instead of one per submission. Delivered hand-offs are
// deleted; from the first signal that fails on, the rest are postponed (or
// dropped if the shipment finished).
func (r *Relay) deliver(ctx context.Context, batch []store.TrackingHandoff) error {
	first := batch[0]
	log := r.log.With("workflow_id", first.WorkflowID, "tracking_number", first.TrackingNumber)
	var done []int64
	var err error
	events := 0
	for start := 0; start < len(batch); {
		end, n := start+1, len(batch[start].Events)
		for end < len(batch) && n+len(batch[end].Events) <= relayMaxSignalEvents {
			n += len(batch[end].Events)
			end++
		}
		if err = r.tc.SignalWorkflow(ctx, first.WorkflowID, "", logistics.SignalTrackingEvent, handoffUpdate(batch[start:end])); err != nil {
			break
		}
		for _, h := range batch[start:end] {
			done = append(done, h.ID)
		}
		events += n
		start = end
	}
	r.outcomes.WithLabelValues("delivered").Add(float64(len(done)))
	r.events.Add(float64(events))
	if err := r.st.CompleteTrackingHandoffs(ctx, done); err != nil {
		return err
	}
	if err == nil {
		return nil
	}
	rest := make([]int64, 0, len(batch)-len(done))
	attempts := 0
	for _, h := range batch[len(done):] {
		rest = append(rest, h.ID)
		attempts = max(attempts, h.Attempts)
	}
	if isWorkflowNotFound(err) {
		ref, lerr := r.st.ShipmentByTrackingNumber(ctx, first.TrackingNumber)
		if lerr == nil && ref.Status.Terminal() {
			// A late scan of a finished shipment: its timeline keeps it,
			// its status can no longer change.
			log.Info("tracking hand-off for a finished shipment dropped", "status", string(ref.Status), "handoffs", len(rest))
			r.outcomes.WithLabelValues("dropped").Add(float64(len(rest)))
			return r.st.CompleteTrackingHandoffs(ctx, rest)
		}
	}
	next := r.opts.Now().Add(relayBackoff(attempts))
	log.Warn("tracking hand-off not delivered; will retry", "handoffs", len(rest), "attempts", attempts, "next_attempt_at", next, "error", err)
	r.outcomes.WithLabelValues("retried").Add(float64(len(rest)))
	return r.st.RetryTrackingHandoffs(ctx, rest, next, err.Error())
}

// handoffUpdate is the signal that hands over hs (one workflow's, oldest
// first): a single hand-off as it was accepted, several as the parts of one
// update.
func handoffUpdate(hs []store.TrackingHandoff) logistics.TrackingUpdate {
	if len(hs) == 1 {
		return logistics.TrackingUpdate{WebhookID: hs[0].WebhookID, Events: hs[0].Events, Stored: true}
	}
	u := logistics.TrackingUpdate{WebhookID: hs[0].WebhookID, Stored: true, Parts: make([]logistics.TrackingPart, len(hs))}
	for i, h := range hs {
		u.Events = append(u.Events, h.Events...)
		u.Parts[i] = logistics.TrackingPart{WebhookID: h.WebhookID, Events: len(h.Events)}
	}
	return u
}

// relayBackoff is the wait after the attempts-th failed attempt: 1s
// doubling to relayMaxBackoff.
func relayBackoff(attempts int) time.Duration {
	d := time.Second << min(max(attempts-1, 0), 16)
	return min(d, relayMaxBackoff)
}

// groupHandoffs groups claimed hand-offs by workflow, each group in the
// order they were accepted, the groups in the order of their first.
func groupHandoffs(claimed []store.TrackingHandoff) [][]store.TrackingHandoff {
	var order []string
	byWorkflow := map[string][]store.TrackingHandoff{}
	for _, h := range claimed {
		if _, seen := byWorkflow[h.WorkflowID]; !seen {
			order = append(order, h.WorkflowID)
		}
		byWorkflow[h.WorkflowID] = append(byWorkflow[h.WorkflowID], h)
	}
	out := make([][]store.TrackingHandoff, len(order))
	for i, id := range order {
		out[i] = byWorkflow[id]
	}
	return out
}
