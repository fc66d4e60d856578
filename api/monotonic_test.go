package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

// A journey's events in the order they happened. Carriers deliver them in
// any order, late and more than once.
var monotonicJourney = []struct {
	status logistics.Status
	phase  logistics.Phase
}{
	{logistics.StatusInfoReceived, logistics.PhaseOrigin},
	{logistics.StatusPickedUp, logistics.PhaseOrigin},
	{logistics.StatusInTransit, logistics.PhaseExportCustoms},
	{logistics.StatusInTransit, logistics.PhaseLineHaul},
	{logistics.StatusException, logistics.PhaseImportCustoms},
	{logistics.StatusInTransit, logistics.PhaseImportCustoms},
	{logistics.StatusOutForDelivery, logistics.PhaseLastMile},
	{logistics.StatusAttemptFail, logistics.PhaseLastMile},
	{logistics.StatusOutForDelivery, logistics.PhaseLastMile},
	{logistics.StatusDelivered, logistics.PhaseLastMile},
}

// projection is one version of a shipment's projection, as the shipment
// workflow writes it.
type projection struct {
	version int64
	status  logistics.Status
	phase   logistics.Phase
	updated time.Time
	events  []logistics.TrackingEvent // stored just before this version
}

// followJourney plays the shipment workflow's part: the journey's events
// arrive shuffled, in random batches, with some delivered twice; each batch
// is applied oldest first through logistics.Advance, and every change of
// status or phase becomes the next projection version.
func followJourney(rng *rand.Rand, number int, tn string, base time.Time) []projection {
	events := make([]logistics.TrackingEvent, len(monotonicJourney))
	for i, j := range monotonicJourney {
		events[i] = logistics.TrackingEvent{Status: j.status, Phase: j.phase, OccurredAt: base.Add(time.Duration(i) * time.Hour),
			Carrier: "sbx_express", TrackingNumber: tn, RawCode: fmt.Sprintf("C%d", i), Source: logistics.SourceWebhook}
	}
	arrivals := append([]logistics.TrackingEvent(nil), events...)
	for range 3 { // redeliveries
		arrivals = append(arrivals, events[rng.IntN(len(events))])
	}
	rng.Shuffle(len(arrivals), func(i, j int) { arrivals[i], arrivals[j] = arrivals[j], arrivals[i] })

	// Version 1 is the booking's record of the shipment.
	status, phase := logistics.StatusInfoReceived, logistics.PhaseOrigin
	out := []projection{{version: 1, status: status, phase: phase, updated: base}}
	var last time.Time
	var stored []logistics.TrackingEvent
	clock := base // workflow.Now of each apply: shipments' clocks interleave
	for len(arrivals) > 0 {
		n := min(len(arrivals), 1+rng.IntN(3))
		batch := append([]logistics.TrackingEvent(nil), arrivals[:n]...)
		arrivals = arrivals[n:]
		sort.SliceStable(batch, func(i, j int) bool { return batch[i].OccurredAt.Before(batch[j].OccurredAt) })
		before := struct {
			s logistics.Status
			p logistics.Phase
		}{status, phase}
		for _, e := range batch {
			next, changed := logistics.Advance(status, e.Status)
			if changed {
				status = next
			}
			if (changed || e.Status == status) && !e.OccurredAt.Before(last) {
				phase = e.Phase
			}
			if e.OccurredAt.After(last) {
				last = e.OccurredAt
			}
		}
		clock = clock.Add(time.Duration(1+rng.IntN(10)) * time.Second)
		stored = append(stored, batch...) // every event is stored, changes or not
		if status == before.s && phase == before.p {
			continue
		}
		out = append(out, projection{version: int64(len(out) + 1), status: status, phase: phase, updated: clock, events: stored})
		stored = nil
	}
	return out
}

type monoWrite struct {
	shipment int // index
	version  int64
}

type monoOrderWrite struct{ version int64 }

// monoState is the model's state: the projection versions in force.
type monoState struct {
	order int64
	ships [2]int64
}

type monoRead struct{}

type monoAnswer struct {
	status logistics.Status
	phase  logistics.Phase
}

// TestOrderStatusNeverGoesBackwards writes shipment projections the way
// workflows and their retried activities do (every version more than once,
// late attempts of old versions racing new ones) while merchants read
// GET /v1/orders/{id}/tracking. Porcupine checks that every read is
// explained by some order of the writes (the projection is a linearizable
// max-version register), and each reader's statuses only move forward along
// logistics.Advance.
func TestOrderStatusNeverGoesBackwards(t *testing.T) {
	for _, tc := range []struct {
		name      string
		shipments int
	}{{"one shipment", 1}, {"two shipments", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				checkMonotonicReads(t, st, tc.shipments)
			})
		})
	}
}

func checkMonotonicReads(t *testing.T, st *store.Store, shipments int) {
	ctx := context.Background()
	// Polling merchants well beyond the per-key limit: the limiter is not
	// what this test is about.
	h := newStoreHarness(t, st, func(c *Config) { c.RateLimit, c.RateBurst = rate.Inf, 1 })
	const merchant, orderID = "m_demo", "MONO-1"
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 8))
	base := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	// The order workflow's projection: booking until every parcel is
	// booked, then following the parcels.
	orderStages := []logistics.Stage{logistics.StageBooking, logistics.StageLineHaul}
	orderRecord := func(version int64) store.OrderRecord {
		return store.OrderRecord{MerchantID: merchant, OrderID: orderID,
			WorkflowID: logistics.OrderWorkflowID(merchant, orderID), Stage: orderStages[version-1], Version: version, At: base,
			Order: logistics.Order{MerchantID: merchant, OrderID: orderID, ShipTo: logistics.Address{Country: "GB"}}}
	}
	_, err := st.SaveOrder(ctx, orderRecord(1))
	require.NoError(t, err)

	journeys := make([][]projection, shipments)
	numbers := make([]string, shipments)
	for i := range journeys {
		numbers[i] = fmt.Sprintf("SBXMONO%d", i+1)
		journeys[i] = followJourney(rng, i+1, numbers[i], base)
	}
	record := func(i int, p projection) store.ShipmentRecord {
		return store.ShipmentRecord{WorkflowID: logistics.ShipmentWorkflowID(merchant, orderID, i+1), Version: p.version,
			Shipment: logistics.Shipment{MerchantID: merchant, OrderID: orderID, Number: i + 1, Carrier: "sbx_express",
				Service: "express", TrackingNumber: numbers[i], Status: p.status, Phase: p.phase, Origin: "CN",
				Destination: "GB", UpdatedAt: p.updated}}
	}

	start := time.Now()
	clock := func() int64 { return int64(time.Since(start)) }
	var mu sync.Mutex
	var ops []porcupine.Operation
	add := func(op porcupine.Operation) {
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
	}

	// Writers: one goroutine per shipment workflow, each version's activity
	// run as two or three concurrent attempts that land in any order, the
	// stragglers after newer versions were written.
	var writers, booked sync.WaitGroup
	var writesDone atomic.Bool
	booked.Add(shipments)
	writers.Go(func() {
		booked.Wait()
		call := clock()
		applied, err := st.SaveOrder(ctx, orderRecord(2))
		ret := clock()
		if assert.NoError(t, err) {
			add(porcupine.Operation{ClientId: 99, Input: monoOrderWrite{version: 2}, Output: applied, Call: call, Return: ret})
		}
	})
	for i, journey := range journeys {
		writers.Go(func() {
			wrng := rand.New(rand.NewPCG(uint64(seed)+uint64(i), 16))
			var attempts sync.WaitGroup
			for _, p := range journey {
				// The workflow stores the events, then projects.
				_, err := st.AddTrackingEvents(ctx, merchant, orderID, i+1, p.events)
				assert.NoError(t, err)
				for a := range 2 + wrng.IntN(2) {
					delay := time.Duration(wrng.IntN(4000)) * time.Microsecond
					if a == 0 {
						delay = 0 // the workflow waits for one attempt to succeed
					}
					attempts.Go(func() {
						time.Sleep(delay)
						call := clock()
						applied, err := st.SaveShipment(ctx, record(i, p))
						ret := clock()
						if assert.NoError(t, err) {
							add(porcupine.Operation{ClientId: 100 + i, Input: monoWrite{shipment: i, version: p.version},
								Output: applied, Call: call, Return: ret})
						}
					})
					if a == 0 {
						attempts.Wait()
						if p.version == 1 {
							booked.Done()
						}
					}
				}
				// Give readers time to see each state (scans arrive minutes apart).
				time.Sleep(time.Duration(2000+wrng.IntN(6000)) * time.Microsecond)
			}
			attempts.Wait()
		})
	}
	go func() { writers.Wait(); writesDone.Store(true) }()

	// Readers: merchants polling the order's tracking through the API.
	const readers, maxReads = 4, 1000
	sessions := make([][]monoAnswer, readers)
	var reading sync.WaitGroup
	for r := range readers {
		reading.Go(func() {
			for n := 0; n < maxReads; n++ {
				done := writesDone.Load()
				call := clock()
				rec := h.do(http.MethodGet, "/v1/orders/"+orderID+"/tracking", nil, bearer(merchantKeyDemo))
				ret := clock()
				if !assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String()) {
					return
				}
				var body struct {
					Status logistics.Status `json:"status"`
					Phase  logistics.Phase  `json:"phase"`
				}
				if !assert.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body)) {
					return
				}
				a := monoAnswer{status: body.Status, phase: body.Phase}
				sessions[r] = append(sessions[r], a)
				add(porcupine.Operation{ClientId: r, Input: monoRead{}, Output: a, Call: call, Return: ret})
				if done {
					return // one read after the last write
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	writers.Wait()
	reading.Wait()

	// Each reader sees statuses only move forward.
	for r, s := range sessions {
		for i := 1; i < len(s); i++ {
			assert.True(t, reachable(s[i-1].status, s[i].status),
				"reader %d: read %d saw %s after %s: the status went backwards", r, i, s[i].status, s[i-1].status)
		}
	}

	// The reads are linearizable against the writes: the model is the
	// projection's version per shipment, and a read must answer what the
	// API derives from the versions in force at some instant within it.
	expected := func(state monoState) monoAnswer {
		view := store.OrderView{Stage: orderStages[state.order-1]}
		for i, v := range state.ships[:shipments] {
			if v == 0 {
				continue
			}
			p := journeys[i][v-1]
			view.Shipments = append(view.Shipments, record(i, p).Shipment)
		}
		dto := toOrderTracking(trackingView(view, nil))
		return monoAnswer{status: dto.Status, phase: dto.Phase}
	}
	model := porcupine.Model{
		Init: func() any { return monoState{order: 1} },
		Step: func(state, input, output any) (bool, any) {
			s := state.(monoState)
			switch in := input.(type) {
			case monoWrite:
				applied := in.version > s.ships[in.shipment]
				if applied {
					s.ships[in.shipment] = in.version
				}
				return output.(bool) == applied, s
			case monoOrderWrite:
				applied := in.version > s.order
				if applied {
					s.order = in.version
				}
				return output.(bool) == applied, s
			default:
				return output.(monoAnswer) == expected(s), s
			}
		},
		DescribeOperation: func(input, output any) string { return fmt.Sprintf("%+v -> %+v", input, output) },
	}
	res := porcupine.CheckOperationsTimeout(model, ops, 30*time.Second)
	require.Equal(t, porcupine.Ok, res, "%d operations are not linearizable", len(ops))
	last := expected(monoState{order: 2, ships: [2]int64{int64(len(journeys[0])), int64(len(journeys[len(journeys)-1]))}})
	assert.Equal(t, logistics.StatusDelivered, last.status)
	for r, s := range sessions {
		require.NotEmpty(t, s)
		assert.Equal(t, last, s[len(s)-1], "reader %d ends on the final state", r)
	}
}

// reachable reports whether a shipment in status from can come to status to
// through moves logistics.Advance allows (including none).
func reachable(from, to logistics.Status) bool {
	seen := map[logistics.Status]bool{from: true}
	queue := []logistics.Status{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, next := range logistics.Statuses {
			if n, ok := logistics.Advance(s, next); ok && !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return seen[to]
}

// TestOrderStatusAcrossParcels pins the rule the concurrent test found
// missing: with two parcels, the order's status is the least advanced
// one's, so a late update of the slower parcel cannot undo "delivered", and
// it stays at info_received while parcels are still being booked.
func TestOrderStatusAcrossParcels(t *testing.T) {
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	ship := func(n int, s logistics.Status, p logistics.Phase, updated time.Time) logistics.Shipment {
		return logistics.Shipment{Number: n, Status: s, Phase: p, UpdatedAt: updated}
	}
	steps := []struct {
		name   string
		view   store.OrderView
		status logistics.Status
		phase  logistics.Phase
	}{
		{"nothing booked", store.OrderView{Stage: logistics.StagePicking}, logistics.StatusPending, logistics.PhaseOrigin},
		{"first parcel moves while the second is booked", store.OrderView{Stage: logistics.StageBooking, Shipments: []logistics.Shipment{
			ship(1, logistics.StatusPickedUp, logistics.PhaseOrigin, at.Add(time.Minute))}},
			logistics.StatusInfoReceived, logistics.PhaseOrigin},
		{"both booked", store.OrderView{Stage: logistics.StageBooking, Shipments: []logistics.Shipment{
			ship(1, logistics.StatusPickedUp, logistics.PhaseOrigin, at.Add(time.Minute)),
			ship(2, logistics.StatusInfoReceived, logistics.PhaseOrigin, at.Add(2*time.Minute))}},
			logistics.StatusInfoReceived, logistics.PhaseOrigin},
		{"following, first delivered", store.OrderView{Stage: logistics.StageLastMile, Shipments: []logistics.Shipment{
			ship(1, logistics.StatusDelivered, logistics.PhaseLastMile, at.Add(3*time.Minute)),
			ship(2, logistics.StatusInTransit, logistics.PhaseLineHaul, at.Add(2*time.Minute))}},
			logistics.StatusInTransit, logistics.PhaseLineHaul},
		{"second updated later", store.OrderView{Stage: logistics.StageLastMile, Shipments: []logistics.Shipment{
			ship(1, logistics.StatusDelivered, logistics.PhaseLastMile, at.Add(3*time.Minute)),
			ship(2, logistics.StatusOutForDelivery, logistics.PhaseLastMile, at.Add(4*time.Minute))}},
			logistics.StatusOutForDelivery, logistics.PhaseLastMile},
		{"both delivered", store.OrderView{Stage: logistics.StageDelivered, Shipments: []logistics.Shipment{
			ship(1, logistics.StatusDelivered, logistics.PhaseLastMile, at.Add(3*time.Minute)),
			ship(2, logistics.StatusDelivered, logistics.PhaseLastMile, at.Add(5*time.Minute))}},
			logistics.StatusDelivered, logistics.PhaseLastMile},
	}
	previous := logistics.StatusPending
	for _, s := range steps {
		got := toOrderTracking(trackingView(s.view, nil))
		assert.Equal(t, s.status, got.Status, s.name)
		assert.Equal(t, s.phase, got.Phase, s.name)
		assert.True(t, reachable(previous, got.Status), "%s: %s after %s", s.name, got.Status, previous)
		previous = got.Status
	}
}
