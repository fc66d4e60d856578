package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

// Compile-time checks: the fakes and the real Temporal client satisfy the
// interfaces the API declares.
var (
	_ Store                  = (*fakeStore)(nil)
	_ TemporalClient         = (*fakeTemporal)(nil)
	_ TemporalClient         = client.Client(nil)
	_ carriers.Carrier       = (*fakeCarrier)(nil)
	_ carriers.WebhookParser = (*fakeCarrier)(nil)
	_ carriers.Carrier       = (*pollOnlyCarrier)(nil)
	_ warehouses.Warehouse   = (*fakeWarehouse)(nil)
)

// fakeStore is an in-memory Store. calls counts every method call so tests
// can assert that a rejected request touched nothing.
type fakeStore struct {
	mu        sync.Mutex
	calls     int
	merchants map[string]logistics.Merchant
	keys      map[string]string // key hash -> merchant id
	webhooks  map[string]store.WebhookRecord
	orders    map[string]store.OrderView
	events    map[string][]logistics.TrackingEvent
	refs      map[string]store.ShipmentRef
	shipments []logistics.Shipment
	stuck     []store.OrderView
	documents []store.Document
	public    map[string]store.PublicTrackingView // by tracking number
	intakes   map[string]fakeIntake               // merchant/order -> claim
	handoffs  []fakeHandoff
	handoffID int64

	// writes logs every change the API made, so a test can assert that a
	// refused request changed nothing.
	writes []string
	// badText collects strings the API handed the store that Postgres
	// would refuse in a text column (invalid UTF-8, NUL): each would be a
	// 503 the client retries for ever instead of a clear 4xx.
	badText []string
	// resolveAny makes every tracking number known (a running shipment of
	// m_demo), so fuzzing reaches past the lookup.
	resolveAny bool

	// err, when set, fails every call but Ping (the database is down).
	err       error
	recordErr error
	listErr   error // ListShipments and ListStuckOrders only
	pingErr   error

	// keyLookups counts MerchantByKeyHash calls (the key cache's misses).
	keyLookups int
	// hideFromFind makes FindWebhook miss, as when a concurrent delivery
	// records between our lookup and our insert.
	hideFromFind bool
	panicOnGet   bool
	lastFilter   store.ShipmentFilter
	lastLimit    int
	lastCursor   string
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		merchants: map[string]logistics.Merchant{},
		keys:      map[string]string{},
		webhooks:  map[string]store.WebhookRecord{},
		orders:    map[string]store.OrderView{},
		events:    map[string][]logistics.TrackingEvent{},
		refs:      map[string]store.ShipmentRef{},
		public:    map[string]store.PublicTrackingView{},
		intakes:   map[string]fakeIntake{},
	}
}

// checkText notes strings Postgres would refuse; the caller holds f.mu.
func (f *fakeStore) checkText(values ...string) {
	for _, v := range values {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			f.badText = append(f.badText, strconv.Quote(v))
		}
	}
}

// changes returns the writes and the refused strings seen so far.
func (f *fakeStore) changes() (writes, badText []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...), append([]string(nil), f.badText...)
}

func (f *fakeStore) addMerchant(id, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.merchants[id] = logistics.Merchant{ID: id, Name: id}
	if key != "" {
		f.keys[store.HashAPIKey(key)] = id
	}
}

func (f *fakeStore) keyLookupCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keyLookups
}

// dropKey forgets an API key, as `crossdock merchant rotate-key` does.
func (f *fakeStore) dropKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keys, store.HashAPIKey(key))
}

func (f *fakeStore) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeStore) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeStore) records() []store.WebhookRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.WebhookRecord
	for _, r := range f.webhooks {
		out = append(out, r)
	}
	return out
}

func (f *fakeStore) enter() error {
	f.mu.Lock()
	f.calls++
	return f.err
}

func (f *fakeStore) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pingErr
}

func (f *fakeStore) GetMerchant(_ context.Context, id string) (logistics.Merchant, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(id)
	if err != nil {
		return logistics.Merchant{}, err
	}
	m, ok := f.merchants[id]
	if !ok {
		return logistics.Merchant{}, logistics.ErrNotFound
	}
	return m, nil
}

func (f *fakeStore) MerchantByKeyHash(_ context.Context, hash string) (logistics.Merchant, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.keyLookups++
	if err != nil {
		return logistics.Merchant{}, err
	}
	id, ok := f.keys[hash]
	if !ok {
		return logistics.Merchant{}, logistics.ErrNotFound
	}
	return f.merchants[id], nil
}

func webhookKey(source, id string) string { return source + "\x00" + id }

func (f *fakeStore) FindWebhook(_ context.Context, source, id string) (store.WebhookRecord, bool, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(source, id)
	if err != nil {
		return store.WebhookRecord{}, false, err
	}
	if f.hideFromFind {
		return store.WebhookRecord{}, false, nil
	}
	rec, ok := f.webhooks[webhookKey(source, id)]
	return rec, ok, nil
}

func (f *fakeStore) RecordWebhook(_ context.Context, rec store.WebhookRecord) (store.WebhookRecord, bool, error) {
	err := f.enter()
	defer f.mu.Unlock()
	return f.recordLocked(rec, err)
}

// recordLocked records rec unless it is recorded already, as RecordWebhook
// does; the caller holds f.mu and passes enter's error.
func (f *fakeStore) recordLocked(rec store.WebhookRecord, err error) (store.WebhookRecord, bool, error) {
	f.checkText(rec.Source, rec.ID, rec.EventType, rec.MerchantID, rec.OrderID)
	if err == nil {
		err = f.recordErr
	}
	if err != nil {
		return store.WebhookRecord{}, false, err
	}
	if first, ok := f.webhooks[webhookKey(rec.Source, rec.ID)]; ok {
		return first, false, nil
	}
	rec.Response = bytes.Clone(rec.Response)
	f.webhooks[webhookKey(rec.Source, rec.ID)] = rec
	f.writes = append(f.writes, "record webhook "+rec.Source+" "+rec.ID)
	return rec, true, nil
}

// fakeIntake is an order's intake claim in the fake store.
type fakeIntake struct {
	webhookID string
	claim     string
	claimedAt time.Time
}

// started reports whether the intake's holder recorded a 2xx answer.
func (f *fakeStore) started(in fakeIntake) bool {
	rec, ok := f.webhooks[webhookKey(store.WebhookSourceOrders, in.webhookID)]
	return ok && rec.StatusCode >= 200 && rec.StatusCode < 300
}

// ClaimOrderIntake follows the real store's rules (store.ClaimOrderIntake)
// under the fake's one lock.
func (f *fakeStore) ClaimOrderIntake(_ context.Context, c store.OrderIntakeClaim) (store.IntakeDecision, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(c.MerchantID, c.OrderID, c.WebhookID, c.Claim)
	if err != nil {
		return store.IntakeDecision{}, err
	}
	key := c.MerchantID + "/" + c.OrderID
	cur, ok := f.intakes[key]
	switch {
	case !ok:
	case f.started(cur):
		return store.IntakeDecision{Outcome: store.IntakeDuplicate, WebhookID: cur.webhookID}, nil
	case cur.claim == c.Claim:
		return store.IntakeDecision{Outcome: store.IntakeFirst, WebhookID: c.WebhookID}, nil
	case cur.claimedAt.After(c.At.Add(-c.Lease)):
		return store.IntakeDecision{Outcome: store.IntakePending, WebhookID: cur.webhookID}, nil
	}
	f.intakes[key] = fakeIntake{webhookID: c.WebhookID, claim: c.Claim, claimedAt: c.At}
	f.writes = append(f.writes, "claim intake "+key+" for "+c.WebhookID)
	return store.IntakeDecision{Outcome: store.IntakeFirst, WebhookID: c.WebhookID, TookOver: ok}, nil
}

func (f *fakeStore) ReleaseOrderIntake(_ context.Context, merchantID, orderID, claim string) error {
	err := f.enter()
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	key := merchantID + "/" + orderID
	if cur, ok := f.intakes[key]; ok && cur.claim == claim && !f.started(cur) {
		delete(f.intakes, key)
		f.writes = append(f.writes, "release intake "+key)
	}
	return nil
}

func (f *fakeStore) intakeOf(merchantID, orderID string) (fakeIntake, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.intakes[merchantID+"/"+orderID]
	return in, ok
}

func (f *fakeStore) GetOrder(_ context.Context, merchantID, orderID string) (store.OrderView, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(merchantID, orderID)
	if f.panicOnGet {
		panic("fake store exploded")
	}
	if err != nil {
		return store.OrderView{}, err
	}
	v, ok := f.orders[merchantID+"/"+orderID]
	if !ok {
		return store.OrderView{}, logistics.ErrNotFound
	}
	return v, nil
}

func (f *fakeStore) OrderTrackingView(_ context.Context, merchantID, orderID string) (store.OrderTrackingView, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(merchantID, orderID)
	if err != nil {
		return store.OrderTrackingView{}, err
	}
	v, ok := f.orders[merchantID+"/"+orderID]
	if !ok {
		return store.OrderTrackingView{}, logistics.ErrNotFound
	}
	return trackingView(v, f.events[merchantID+"/"+orderID]), nil
}

func (f *fakeStore) ShipmentByTrackingNumber(_ context.Context, tn string) (store.ShipmentRef, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(tn)
	if err != nil {
		return store.ShipmentRef{}, err
	}
	ref, ok := f.refs[tn]
	if !ok && f.resolveAny && tn != "" {
		return store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-ANY", Number: 1, WorkflowID: "shipment/m_demo/TT-ANY/1",
			Status: logistics.StatusInTransit}, nil
	}
	if !ok {
		return store.ShipmentRef{}, logistics.ErrNotFound
	}
	return ref, nil
}

// fakeHandoff is a queued hand-off and when it is next due.
type fakeHandoff struct {
	h   store.TrackingHandoff
	due time.Time
}

func (f *fakeStore) ShipmentsByTrackingNumbers(_ context.Context, numbers []string) (map[string]store.ShipmentRef, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(numbers...)
	if err != nil {
		return nil, err
	}
	out := map[string]store.ShipmentRef{}
	for _, tn := range numbers {
		if ref, ok := f.refs[tn]; ok {
			// The store reads the countries off the shipment row.
			for _, sh := range f.shipments {
				if sh.MerchantID == ref.MerchantID && sh.OrderID == ref.OrderID && sh.Number == ref.Number && ref.Origin == "" {
					ref.Origin, ref.Destination = sh.Origin, sh.Destination
				}
			}
			out[tn] = ref
		} else if f.resolveAny && tn != "" {
			out[tn] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-ANY", Number: 1, WorkflowID: "shipment/m_demo/TT-ANY/1",
				Status: logistics.StatusInTransit}
		}
	}
	return out, nil
}

func (f *fakeStore) AcceptTracking(_ context.Context, a store.TrackingAcceptance) (store.WebhookRecord, bool, error) {
	err := f.enter()
	defer f.mu.Unlock()
	rec, inserted, err := f.recordLocked(a.Record, err)
	if err != nil || !inserted {
		return rec, inserted, err
	}
	for _, sh := range a.Shipments {
		for _, e := range sh.Events {
			f.checkText(e.TrackingNumber, e.RawCode, e.RawDescription, e.Location.City, e.RecordedBy)
		}
		key := sh.Ref.MerchantID + "/" + sh.Ref.OrderID
		f.events[key] = append(f.events[key], sh.Events...)
		f.handoffID++
		f.handoffs = append(f.handoffs, fakeHandoff{h: store.TrackingHandoff{ID: f.handoffID, WorkflowID: sh.Ref.WorkflowID,
			TrackingNumber: sh.TrackingNumber, WebhookID: rec.ID, Events: sh.Events}})
		f.writes = append(f.writes, "hand off "+sh.TrackingNumber)
	}
	return rec, true, nil
}

func (f *fakeStore) ClaimTrackingHandoffs(_ context.Context, at time.Time, lease time.Duration, limit int) ([]store.TrackingHandoff, error) {
	err := f.enter()
	defer f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []store.TrackingHandoff
	for i := range f.handoffs {
		if len(out) == limit {
			break
		}
		if fh := &f.handoffs[i]; !fh.due.After(at) {
			fh.due = at.Add(lease)
			fh.h.Attempts++
			out = append(out, fh.h)
		}
	}
	return out, nil
}

func (f *fakeStore) CompleteTrackingHandoffs(_ context.Context, ids []int64) error {
	err := f.enter()
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	f.handoffs = slices.DeleteFunc(f.handoffs, func(fh fakeHandoff) bool { return slices.Contains(ids, fh.h.ID) })
	return nil
}

func (f *fakeStore) RetryTrackingHandoffs(_ context.Context, ids []int64, next time.Time, _ string) error {
	err := f.enter()
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	for i := range f.handoffs {
		if slices.Contains(ids, f.handoffs[i].h.ID) {
			f.handoffs[i].due = next
		}
	}
	return nil
}

// pendingHandoffs is how many hand-offs wait for their workflow.
func (f *fakeStore) pendingHandoffs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.handoffs)
}

// inlineRelay runs a relay pass as soon as it is woken, so a test sees the
// signals as soon as the API has answered.
type inlineRelay struct{ r *Relay }

func (i inlineRelay) Notify() {
	if _, err := i.r.RunOnce(context.Background()); err != nil {
		panic(err)
	}
}

func (f *fakeStore) GetDocument(_ context.Context, merchantID, tn, kind string) (store.Document, error) {
	err := f.enter()
	defer f.mu.Unlock()
	if err != nil {
		return store.Document{}, err
	}
	for _, d := range f.documents {
		if d.MerchantID == merchantID && d.TrackingNumber == tn && d.Kind == kind {
			return d, nil
		}
	}
	return store.Document{}, logistics.ErrNotFound
}

func (f *fakeStore) MerchantShipmentByTrackingNumber(_ context.Context, merchantID, tn string) (logistics.Shipment, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(merchantID, tn)
	if err != nil {
		return logistics.Shipment{}, err
	}
	for _, sh := range f.shipments {
		if sh.MerchantID != merchantID {
			continue
		}
		if sh.TrackingNumber == tn {
			return sh, nil
		}
		for _, l := range sh.Legs {
			if l.TrackingNumber == tn {
				return sh, nil
			}
		}
	}
	return logistics.Shipment{}, logistics.ErrNotFound
}

func (f *fakeStore) ListShipments(_ context.Context, merchantID string, filter store.ShipmentFilter) ([]logistics.Shipment, string, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(merchantID, string(filter.Status), string(filter.Phase), filter.Carrier, filter.Destination, filter.Cursor)
	f.lastFilter = filter
	if err == nil {
		err = f.listErr
	}
	if err != nil {
		return nil, "", err
	}
	var out []logistics.Shipment
	for _, sh := range f.shipments {
		// Filters other than the merchant are the real store's business.
		if sh.MerchantID == merchantID {
			out = append(out, sh)
		}
	}
	next := ""
	if len(out) > filter.Limit {
		out, next = out[:filter.Limit], "next-page"
	}
	return out, next, nil
}

func (f *fakeStore) ListStuckOrders(_ context.Context, limit int, cursor string) ([]store.OrderView, string, error) {
	err := f.enter()
	defer f.mu.Unlock()
	f.checkText(cursor)
	f.lastLimit, f.lastCursor = limit, cursor
	if err == nil {
		err = f.listErr
	}
	if err != nil {
		return nil, "", err
	}
	return f.stuck, "", nil
}

func (f *fakeStore) PublicTracking(_ context.Context, tn string) (store.PublicTrackingView, error) {
	err := f.enter()
	defer f.mu.Unlock()
	if err != nil {
		return store.PublicTrackingView{}, err
	}
	v, ok := f.public[tn]
	if !ok {
		return store.PublicTrackingView{}, logistics.ErrNotFound
	}
	return v, nil
}

// temporalCall is one call the API made to Temporal.
type temporalCall struct {
	Method     string // "SignalWithStartWorkflow" or "SignalWorkflow"
	WorkflowID string
	Signal     string
	Arg        any
	Options    client.StartWorkflowOptions
	Workflow   any
	Args       []any
}

// fakeTemporal records calls and answers with the configured errors.
type fakeTemporal struct {
	mu        sync.Mutex
	calls     []temporalCall
	err       error // returned by both signal methods
	healthErr error
	// delay makes SignalWithStartWorkflow take that long, as a real call
	// over the network does, so concurrent requests overlap it.
	delay time.Duration
	// failAfter, when positive, makes SignalWorkflow fail once it has
	// succeeded that many times.
	failAfter int
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	delay := f.delay
	f.mu.Unlock()
	time.Sleep(delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.calls = append(f.calls, temporalCall{Method: "SignalWithStartWorkflow", WorkflowID: workflowID, Signal: signalName,
		Arg: signalArg, Options: options, Workflow: workflow, Args: workflowArgs})
	return fakeRun{id: workflowID}, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, workflowID, _ string, signalName string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.failAfter > 0 && len(f.calls) >= f.failAfter {
		return errors.New("rpc error: code = Unavailable")
	}
	f.calls = append(f.calls, temporalCall{Method: "SignalWorkflow", WorkflowID: workflowID, Signal: signalName, Arg: arg})
	return nil
}

func (f *fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.healthErr != nil {
		return nil, f.healthErr
	}
	return &client.CheckHealthResponse{}, nil
}

func (f *fakeTemporal) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeTemporal) recorded() []temporalCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]temporalCall(nil), f.calls...)
}

// fakeRun is the run SignalWithStartWorkflow returns; only its ids are used.
type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-1" }

// partnerWebhook is the body the fake carrier and warehouse parse. They
// accept it when the header X-Test-Signature is "good".
type partnerWebhook struct {
	ID     string                    `json:"id"`
	Events []logistics.TrackingEvent `json:"events"`
	Event  logistics.WarehouseEvent  `json:"event"`
}

type fakeCarrier struct {
	code string
}

func (c *fakeCarrier) Code() string                  { return c.code }
func (c *fakeCarrier) Channels() []logistics.Channel { return nil }
func (c *fakeCarrier) Book(context.Context, carriers.BookRequest) (carriers.Booking, error) {
	return carriers.Booking{}, carriers.ErrUnsupported
}

func (c *fakeCarrier) ParseWebhook(h http.Header, body []byte) (string, []logistics.TrackingEvent, error) {
	if h.Get("X-Test-Signature") != "good" {
		return "", nil, carriers.ErrBadSignature
	}
	var w partnerWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return "", nil, err
	}
	return w.ID, w.Events, nil
}

// pollOnlyCarrier does not push webhooks: it is not a WebhookParser.
type pollOnlyCarrier struct{ code string }

func (c *pollOnlyCarrier) Code() string                  { return c.code }
func (c *pollOnlyCarrier) Channels() []logistics.Channel { return nil }
func (c *pollOnlyCarrier) Book(context.Context, carriers.BookRequest) (carriers.Booking, error) {
	return carriers.Booking{}, carriers.ErrUnsupported
}

type fakeWarehouse struct {
	id string
}

func (w *fakeWarehouse) ID() string                                                { return w.id }
func (w *fakeWarehouse) Address() logistics.Address                                { return logistics.Address{Country: "CN"} }
func (w *fakeWarehouse) RequestPick(context.Context, warehouses.PickRequest) error { return nil }
func (w *fakeWarehouse) ParseWebhook(h http.Header, body []byte) (logistics.WarehouseEvent, error) {
	if h.Get("X-Test-Signature") != "good" {
		return logistics.WarehouseEvent{}, warehouses.ErrBadSignature
	}
	var pw partnerWebhook
	if err := json.Unmarshal(body, &pw); err != nil {
		return logistics.WarehouseEvent{}, err
	}
	return pw.Event, nil
}

// Test secrets: two so rotation can be tested, one the server does not know.
var (
	secretOld   = "whsec_" + base64.StdEncoding.EncodeToString([]byte("crossdock-test-secret-number-one"))
	secretNew   = "whsec_" + base64.StdEncoding.EncodeToString([]byte("crossdock-test-secret-number-two"))
	secretWrong = "whsec_" + base64.StdEncoding.EncodeToString([]byte("not-a-secret-the-server-knows!!!"))
)

const (
	merchantKeyDemo  = "cdk_demo_key"
	merchantKeyOther = "cdk_other_key"
	opsTokenTest     = "ops-token-for-tests"
)

// fixedNow is the test clock.
var fixedNow = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

// harness is a server over fakes.
type harness struct {
	t        *testing.T
	srv      *Server
	store    *fakeStore
	temporal *fakeTemporal
	logs     *syncBuffer
	now      time.Time
	relay    *Relay
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, store: newFakeStore(), temporal: &fakeTemporal{}, logs: &syncBuffer{}, now: fixedNow}
	h.store.addMerchant("m_demo", merchantKeyDemo)
	h.store.addMerchant("m_other", merchantKeyOther)
	cfg := Config{
		Store:               h.store,
		Temporal:            h.temporal,
		Carriers:            carriers.NewRegistry(&fakeCarrier{code: "sbx_express"}, &pollOnlyCarrier{code: "sbx_post"}),
		Warehouses:          warehouses.NewRegistry(&fakeWarehouse{id: "wh_szx"}),
		OrderWebhookSecrets: []string{secretOld, secretNew},
		OpsToken:            opsTokenTest,
		Logger:              slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:                 func() time.Time { return h.now },
	}
	h.relay = NewRelay(h.store, h.temporal, RelayOptions{Concurrency: 1, Logger: cfg.Logger, Now: func() time.Time { return h.now }})
	cfg.Handoffs = inlineRelay{h.relay}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	h.srv = srv
	return h
}

// do sends a request and returns the recorded response.
func (h *harness) do(method, target string, body []byte, header http.Header) *httptest.ResponseRecorder {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// signed returns Standard Webhooks headers for body, signed with secret at ts.
func signed(t *testing.T, secret, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	hook, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	sig, err := hook.Sign(id, ts, body)
	require.NoError(t, err)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	h.Set("Content-Type", "application/json")
	return h
}

// postOrder posts an order webhook signed with the first secret, now.
func (h *harness) postOrder(id string, body []byte) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/webhooks/orders", body, signed(h.t, secretOld, id, h.now, body))
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// errorResponse is the contract's error shape, decoded.
type errorResponse struct {
	Error struct {
		Code    string                   `json:"code"`
		Message string                   `json:"message"`
		Details []logistics.FieldProblem `json:"details"`
	} `json:"error"`
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorResponse {
	t.Helper()
	var e errorResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "body: %s", rec.Body.String())
	require.NotEmpty(t, e.Error.Code, "body: %s", rec.Body.String())
	require.NotNil(t, e.Error.Details, "details must be [] rather than absent: %s", rec.Body.String())
	return e
}

func fields(e errorResponse) []string {
	var out []string
	for _, d := range e.Error.Details {
		out = append(out, d.Field)
	}
	return out
}

var errDatabaseDown = errors.New("dial tcp 127.0.0.1:5432: connection refused")

func recordOf(source, id string, status int, body string) store.WebhookRecord {
	return store.WebhookRecord{Source: source, ID: id, StatusCode: status, Response: []byte(body), CreatedAt: fixedNow}
}

// newChunkedRequest builds a request whose length is not declared, so only
// reading the body can find it too large.
func newChunkedRequest(method, target string, body []byte, header http.Header) *http.Request {
	req := httptest.NewRequest(method, target, io.NopCloser(bytes.NewReader(body)))
	req.ContentLength = -1
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req
}

func serve(srv *Server, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec
}
