package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

type memStore struct {
	shipments []store.ShipmentRecord
	events    []logistics.TrackingEvent
	seen      map[string]bool
	documents []store.Document
	manifest  []store.ManifestEntry
}

var _ activities.Store = (*memStore)(nil)

func (m *memStore) SaveDocument(_ context.Context, d store.Document) error {
	m.documents = append(m.documents, d)
	return nil
}
func (m *memStore) AddManifestEntry(_ context.Context, e store.ManifestEntry) (store.ManifestEntry, error) {
	for _, x := range m.manifest {
		if x.Carrier == e.Carrier && x.TrackingNumber == e.TrackingNumber {
			return x, nil
		}
	}
	m.manifest = append(m.manifest, e)
	return e, nil
}
func (m *memStore) ManifestEntries(_ context.Context, carrier, day string) ([]store.ManifestEntry, error) {
	var out []store.ManifestEntry
	for _, x := range m.manifest {
		if x.Carrier == carrier && x.Day == day {
			out = append(out, x)
		}
	}
	return out, nil
}
func (m *memStore) MarkManifestSubmitted(_ context.Context, carrier, file string, numbers []string) error {
	for i, x := range m.manifest {
		if x.Carrier == carrier && x.SubmittedIn == "" && slices.Contains(numbers, x.TrackingNumber) {
			m.manifest[i].SubmittedIn = file
		}
	}
	return nil
}
func (m *memStore) SaveOrder(context.Context, store.OrderRecord) (bool, error) { return true, nil }
func (m *memStore) AppendEvent(context.Context, store.OutboundEvent) (bool, error) {
	return true, nil
}
func (m *memStore) SaveShipment(_ context.Context, r store.ShipmentRecord) (bool, error) {
	m.shipments = append(m.shipments, r)
	return true, nil
}
func (m *memStore) SaveCustomsDecision(context.Context, string, string, logistics.CustomsDecision, time.Time) error {
	return nil
}
func (m *memStore) AddTrackingEvents(_ context.Context, _, _ string, _ int, evs []logistics.TrackingEvent) (int, error) {
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	n := 0
	for _, e := range evs {
		if !m.seen[e.DedupKey()] {
			m.seen[e.DedupKey()] = true
			m.events = append(m.events, e)
			n++
		}
	}
	return n, nil
}

// scriptedCarrier answers Book with err (if set) and Track with events.
type scriptedCarrier struct {
	err    error
	events []logistics.TrackingEvent
	last   carriers.BookRequest
}

var (
	_ carriers.Carrier = (*scriptedCarrier)(nil)
	_ carriers.Tracker = (*scriptedCarrier)(nil)
)

func (c *scriptedCarrier) Code() string                  { return "scripted" }
func (c *scriptedCarrier) Channels() []logistics.Channel { return nil }
func (c *scriptedCarrier) Book(_ context.Context, req carriers.BookRequest) (carriers.Booking, error) {
	c.last = req
	if c.err != nil {
		return carriers.Booking{}, c.err
	}
	return carriers.Booking{TrackingNumber: "SCR1", LabelURL: "http://label.invalid/SCR1"}, nil
}
func (c *scriptedCarrier) Track(context.Context, string) ([]logistics.TrackingEvent, error) {
	return c.events, c.err
}

// bookOnly has no tracking API.
type bookOnly struct{}

var _ carriers.Carrier = (*bookOnly)(nil)

func (*bookOnly) Code() string                  { return "book_only" }
func (*bookOnly) Channels() []logistics.Channel { return nil }
func (*bookOnly) Book(context.Context, carriers.BookRequest) (carriers.Booking, error) {
	return carriers.Booking{TrackingNumber: "B1"}, nil
}

type noWarehouse struct{}

func (noWarehouse) ID() string                 { return "wh_x" }
func (noWarehouse) Address() logistics.Address { return logistics.Address{Country: "CN"} }
func (noWarehouse) RequestPick(context.Context, warehouses.PickRequest) error {
	return warehouses.ErrRefused
}
func (noWarehouse) ParseWebhook(http.Header, []byte) (logistics.WarehouseEvent, error) {
	return logistics.WarehouseEvent{}, warehouses.ErrBadSignature
}

func env(a *activities.Activities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	a.Register(e)
	return e
}

func bookInput() activities.BookShipmentInput {
	return activities.BookShipmentInput{IdempotencyKey: "k", WorkflowID: "shipment/m/o/1",
		Order:  logistics.Order{MerchantID: "m", OrderID: "o", ShipTo: logistics.Address{Country: "GB"}},
		Number: 1, Origin: logistics.Address{Country: "CN"},
		Channel: logistics.Channel{Carrier: "scripted", Service: "std"}}
}

func appErrType(err error) (string, bool) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type(), appErr.NonRetryable()
	}
	return "", false
}

func TestBookShipmentClassifiesCarrierErrors(t *testing.T) {
	for _, tc := range []struct {
		name         string
		err          error
		wantType     string
		nonRetryable bool
	}{
		{"refusal is final", fmt.Errorf("%w: no service to GB", carriers.ErrRefused), activities.ErrTypeCarrierRefused, true},
		{"outage is retried", errors.New("503 service unavailable"), "", false},
		{"rate limit is retried after the carrier's delay", busy{wait: 7 * time.Second}, activities.ErrTypeCarrierBusy, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &memStore{}
			e := env(&activities.Activities{Store: st, Carriers: carriers.NewRegistry(&scriptedCarrier{err: tc.err})})
			_, err := e.ExecuteActivity(activities.NameBookShipment, bookInput())
			require.Error(t, err)
			typ, final := appErrType(err)
			if tc.wantType != "" {
				assert.Equal(t, tc.wantType, typ)
			}
			assert.Equal(t, tc.nonRetryable, final)
			assert.Empty(t, st.shipments, "a failed booking records nothing")
			if b, ok := tc.err.(busy); ok {
				var appErr *temporal.ApplicationError
				require.ErrorAs(t, err, &appErr)
				assert.Equal(t, b.wait, appErr.NextRetryDelay(), "the next attempt waits as long as the carrier asked")
			}
		})
	}
}

// busy is a carrier's 429 with Retry-After.
type busy struct{ wait time.Duration }

func (b busy) Error() string             { return "429 too many requests" }
func (b busy) RetryAfter() time.Duration { return b.wait }

var _ carriers.RetryAfterError = busy{}

func TestBookingThroughAnOpenCircuitIsUnavailableNotRetried(t *testing.T) {
	sc := &scriptedCarrier{err: errors.New("502 bad gateway")}
	reg := carriers.NewRegistry(sc).WithBreakers(carriers.NewBreakers(carriers.BreakerSettings{ConsecutiveFailures: 2, OpenFor: time.Hour}))
	e := env(&activities.Activities{Store: &memStore{}, Carriers: reg})
	for range 2 {
		_, err := e.ExecuteActivity(activities.NameBookShipment, bookInput())
		typ, final := appErrType(err)
		require.False(t, final, typ)
	}
	sc.err = nil
	sc.last = carriers.BookRequest{}
	_, err := e.ExecuteActivity(activities.NameBookShipment, bookInput())
	typ, final := appErrType(err)
	assert.Equal(t, activities.ErrTypeCarrierUnavailable, typ)
	assert.True(t, final, "the workflow moves to the next channel instead of retrying here")
	assert.Empty(t, sc.last.IdempotencyKey, "the carrier was not called")
}

func TestBookShipmentRecordsTheShipmentForWebhookRouting(t *testing.T) {
	st := &memStore{}
	e := env(&activities.Activities{Store: st, Carriers: carriers.NewRegistry(&scriptedCarrier{})})
	val, err := e.ExecuteActivity(activities.NameBookShipment, bookInput())
	require.NoError(t, err)
	var sh logistics.Shipment
	require.NoError(t, val.Get(&sh))
	assert.Equal(t, "SCR1", sh.TrackingNumber)
	require.Len(t, sh.Legs, 1)
	assert.Equal(t, logistics.LegDoorToDoor, sh.Legs[0].Kind)
	require.Len(t, st.shipments, 1)
	assert.Equal(t, "shipment/m/o/1", st.shipments[0].WorkflowID)
	assert.EqualValues(t, 1, st.shipments[0].Version)
}

func TestUnknownPartnersAreFinal(t *testing.T) {
	a := &activities.Activities{Store: &memStore{}, Carriers: carriers.NewRegistry(&bookOnly{}),
		Warehouses: warehouses.NewRegistry(noWarehouse{})}
	e := env(a)

	in := bookInput()
	in.Channel.Carrier = "nobody"
	_, err := e.ExecuteActivity(activities.NameBookShipment, in)
	typ, final := appErrType(err)
	assert.Equal(t, activities.ErrTypeInvalid, typ)
	assert.True(t, final)

	_, err = e.ExecuteActivity(activities.NamePollTracking, activities.PollTrackingInput{Carrier: "book_only", TrackingNumber: "X"})
	typ, final = appErrType(err)
	assert.Equal(t, activities.ErrTypeInvalid, typ, "polling a carrier without a tracking API cannot succeed")
	assert.True(t, final)

	_, err = e.ExecuteActivity(activities.NameRequestPick, activities.RequestPickInput{Order: logistics.Order{WarehouseID: "wh_x"}})
	typ, final = appErrType(err)
	assert.Equal(t, activities.ErrTypeWarehouseRefused, typ)
	assert.True(t, final)
}

func TestPollTrackingStoresEverythingAndReturnsOnlyNews(t *testing.T) {
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	c := &scriptedCarrier{events: []logistics.TrackingEvent{
		{Status: logistics.StatusInTransit, Carrier: "scripted", TrackingNumber: "SCR1", RawCode: "B", OccurredAt: at.Add(time.Hour)},
		{Status: logistics.StatusPickedUp, Carrier: "scripted", TrackingNumber: "SCR1", RawCode: "A", OccurredAt: at},
		{Status: "", Substatus: "unmapped", Carrier: "scripted", TrackingNumber: "SCR1", RawCode: "ZZ", OccurredAt: at.Add(2 * time.Hour)},
	}}
	st := &memStore{}
	e := env(&activities.Activities{Store: st, Carriers: carriers.NewRegistry(c)})
	in := activities.PollTrackingInput{MerchantID: "m", OrderID: "o", Number: 1, Carrier: "scripted", TrackingNumber: "SCR1"}

	val, err := e.ExecuteActivity(activities.NamePollTracking, in)
	require.NoError(t, err)
	var res activities.PollTrackingResult
	require.NoError(t, val.Get(&res))
	assert.Equal(t, 3, res.Inserted, "every scan is stored, unmapped ones too")
	require.Len(t, res.Events, 2, "only mapped events go to the workflow")
	assert.Equal(t, "A", res.Events[0].RawCode, "oldest first")

	val, err = e.ExecuteActivity(activities.NamePollTracking, in)
	require.NoError(t, err)
	require.NoError(t, val.Get(&res))
	assert.Zero(t, res.Inserted)
	assert.Empty(t, res.Events, "nothing new, nothing for the history")
}

func TestPollTrackingFollowsEveryLegWithItsOwnCarrier(t *testing.T) {
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	lineHaul := &scriptedCarrier{events: []logistics.TrackingEvent{
		{Status: logistics.StatusInTransit, Carrier: "scripted", TrackingNumber: "SCR1", RawCode: "HANDOVER", OccurredAt: at}}}
	st := &memStore{}
	e := env(&activities.Activities{Store: st, Carriers: carriers.NewRegistry(lineHaul, &bookOnly{})})
	val, err := e.ExecuteActivity(activities.NamePollTracking, activities.PollTrackingInput{MerchantID: "m", OrderID: "o", Number: 1,
		Legs: []logistics.Leg{{Sequence: 1, Carrier: "scripted", TrackingNumber: "SCR1"}, {Sequence: 2, Carrier: "book_only", TrackingNumber: "B1"}}})
	require.NoError(t, err, "a leg without a tracking API is left to pushes and scans")
	var res activities.PollTrackingResult
	require.NoError(t, val.Get(&res))
	assert.Equal(t, 1, res.Inserted)

	_, err = e.ExecuteActivity(activities.NamePollTracking, activities.PollTrackingInput{
		Legs: []logistics.Leg{{Carrier: "book_only", TrackingNumber: "B1"}}})
	typ, final := appErrType(err)
	assert.Equal(t, activities.ErrTypeInvalid, typ, "no pollable leg at all cannot succeed")
	assert.True(t, final)
}

func TestBookShipmentAttachesOnlyTheTaxIDsTheDestinationNeeds(t *testing.T) {
	c := &scriptedCarrier{}
	e := env(&activities.Activities{Store: &memStore{}, Carriers: carriers.NewRegistry(c)})
	in := bookInput()
	in.Order.TaxIDs = logistics.TaxIDs{IOSS: "IM2760000001", EORI: "DE123456789012345", UKVAT: "GB123456789"}
	in.Customs = logistics.CustomsDecision{Regime: "uk_low_value"}
	_, err := e.ExecuteActivity(activities.NameBookShipment, in)
	require.NoError(t, err)
	assert.Equal(t, logistics.TaxIDs{UKVAT: "GB123456789"}, c.last.TaxIDs)
	assert.Equal(t, "uk_low_value", c.last.Customs.Regime, "the decision goes to the carrier's customs path")
}

func TestSLAForLaneOverridesFieldByField(t *testing.T) {
	s := activities.Settings{SLA: activities.SLA{NoMovement: 72 * time.Hour, ImportCustoms: 96 * time.Hour},
		SLALanes: map[string]activities.SLA{"CN-GB": {NoMovement: 48 * time.Hour}}}
	assert.Equal(t, activities.SLA{NoMovement: 48 * time.Hour, ImportCustoms: 96 * time.Hour}, s.ForLane("CN-GB"))
	assert.Equal(t, s.SLA, s.ForLane("CN-US"))
}

// timedTracker records when it is polled.
type timedTracker struct {
	scriptedCarrier
	calls []time.Time
}

func (c *timedTracker) Track(ctx context.Context, tn string) ([]logistics.TrackingEvent, error) {
	c.calls = append(c.calls, time.Now())
	return c.scriptedCarrier.Track(ctx, tn)
}

func TestCarrierCallsKeepToThePublishedRateLimit(t *testing.T) {
	c := &timedTracker{}
	reg, err := carriers.NewConfiguredRegistry([]logistics.Channel{{Carrier: "scripted", Service: "std",
		Capabilities: logistics.Capabilities{RateLimitPerMinute: 60}}}, c)
	require.NoError(t, err)
	e := env(&activities.Activities{Store: &memStore{}, Carriers: reg})
	in := activities.PollTrackingInput{MerchantID: "m", OrderID: "o", Number: 1, Carrier: "scripted", TrackingNumber: "SCR1"}
	for range 2 {
		_, err := e.ExecuteActivity(activities.NamePollTracking, in)
		require.NoError(t, err)
	}
	require.Len(t, c.calls, 2)
	assert.GreaterOrEqual(t, c.calls[1].Sub(c.calls[0]), time.Second, "60 a minute: the second poll waits its turn")
}

func TestRetryAfterIsHonouredUpToTheLongestPause(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxPause time.Duration
		want     time.Duration
	}{
		{"within the longest pause", time.Minute, 7 * time.Second},
		{"an hour-long outage is retried at the longest pause", 5 * time.Second, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env(&activities.Activities{Store: &memStore{}, Carriers: carriers.NewRegistry(&scriptedCarrier{err: busy{wait: 7 * time.Second}}),
				Settings: activities.Settings{CarrierMaxInterval: tc.maxPause}})
			_, err := e.ExecuteActivity(activities.NameBookShipment, bookInput())
			var appErr *temporal.ApplicationError
			require.ErrorAs(t, err, &appErr)
			assert.Equal(t, activities.ErrTypeCarrierBusy, appErr.Type())
			assert.Equal(t, tc.want, appErr.NextRetryDelay())
		})
	}
}
