package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
)

var _ Store = (*store.Store)(nil)

// fakeClock is the sender's scheduling clock, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// received is one request as the receiver saw it.
type received struct {
	id         string
	timestamp  string
	body       []byte
	signatures []string
	verifyErr  error
	status     int
}

// receiver is a merchant's endpoint on loopback. respond decides each
// answer from the request's number (0-based); every request's signature is
// checked with the library's Verify against the receiver's secrets, any of
// which may match (as during a rotation).
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	conns   atomic.Int32
	mu      sync.Mutex
	secrets []string
	log     []received
	respond func(n int) int
}

func newReceiver(t *testing.T, respond func(n int) int) *receiver {
	r := &receiver{t: t, respond: respond}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setSecrets(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = secrets
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	require.NoError(r.t, err)
	r.mu.Lock()
	n := len(r.log)
	status := r.respond(n)
	rec := received{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"), body: body, status: status,
		signatures: strings.Fields(req.Header.Get("webhook-signature"))}
	rec.verifyErr = fmt.Errorf("no secret verifies")
	for _, secret := range r.secrets {
		hook, err := standardwebhooks.NewWebhook(secret)
		require.NoError(r.t, err)
		if err := hook.Verify(body, req.Header); err == nil {
			rec.verifyErr = nil
			break
		}
	}
	r.log = append(r.log, rec)
	r.mu.Unlock()
	if status == 0 { // drop the connection without an answer
		hj, ok := w.(http.Hijacker)
		require.True(r.t, ok)
		conn, _, err := hj.Hijack()
		require.NoError(r.t, err)
		conn.Close()
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte("receiver says " + http.StatusText(status)))
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.log...)
}

// senderFor builds a sender over st whose guard lets it reach the loopback
// receiver (development mode), on the fake clock, without jitter.
func senderFor(t *testing.T, st Store, clock *fakeClock, edit ...func(*Options)) *Sender {
	t.Helper()
	opts := Options{Guard: NewGuard(GuardOptions{AllowPrivate: true}), Now: clock.Now, Timeout: 2 * time.Second,
		Jitter: func(time.Duration) time.Duration { return 0 }, Logger: slog.New(slog.DiscardHandler)}
	for _, e := range edit {
		e(&opts)
	}
	s, err := NewSender(st, opts)
	require.NoError(t, err)
	return s
}

func subscribe(t *testing.T, st *store.Store, merchantID, url string) (store.WebhookEndpoint, string) {
	t.Helper()
	ep, secret, err := st.CreateWebhookEndpoint(t.Context(), store.NewWebhookEndpoint{MerchantID: merchantID, URL: url,
		Events: logistics.EventTypes})
	require.NoError(t, err)
	return ep, secret
}

func addMerchant(t *testing.T, st *store.Store, id string) {
	t.Helper()
	require.NoError(t, st.CreateMerchant(t.Context(), logistics.Merchant{ID: id, Name: id}, store.HashAPIKey("key-"+id)))
}

// emit appends the n-th event of an order, as a workflow would.
func emit(t *testing.T, st *store.Store, merchantID, orderID string, n int) string {
	t.Helper()
	types := logistics.EventTypes
	typ := types[n%len(types)]
	id := fmt.Sprintf("order/%s/%s/v%d/%s", merchantID, orderID, n, typ)
	_, err := st.AppendEvent(t.Context(), store.OutboundEvent{ID: id, MerchantID: merchantID, OrderID: orderID,
		Type: string(typ), Payload: json.RawMessage(fmt.Sprintf(`{"n":%d,"stage":"picking"}`, n)), OccurredAt: time.Now()})
	require.NoError(t, err)
	return id
}

func deliveries(t *testing.T, st *store.Store, merchantID, endpointID string) []store.WebhookDelivery {
	t.Helper()
	list, _, err := st.ListWebhookDeliveries(t.Context(), merchantID, endpointID, store.DeliveryFilter{Limit: 200})
	require.NoError(t, err)
	return list
}

// TestFailingReceiverThatRecovers is the test: a receiver that fails
// (5xx, then a dropped connection) and recovers gets every event, each
// order's events in order, every request verifiably signed.
func TestFailingReceiverThatRecovers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const failures = 6
		recv := newReceiver(t, func(n int) int {
			switch {
			case n < failures-1:
				return http.StatusInternalServerError
			case n == failures-1:
				return 0 // connection dropped
			}
			return http.StatusNoContent
		})
		addMerchant(t, st, "m_a")
		ep, secret := subscribe(t, st, "m_a", recv.srv.URL+"/hooks?src=crossdock")
		recv.setSecrets(secret)

		// Three orders, four events each, interleaved as workflows would.
		const orders, perOrder = 3, 4
		want := map[string][]string{}
		for n := range perOrder {
			for o := range orders {
				order := fmt.Sprintf("TT-%d", o)
				want[order] = append(want[order], emit(t, st, "m_a", order, n))
			}
		}

		clock := newFakeClock()
		sender := senderFor(t, st, clock)
		for i := 0; i < 100 && len(acked(recv.requests())) < orders*perOrder; i++ {
			_, err := sender.RunOnce(t.Context())
			require.NoError(t, err)
			clock.Advance(time.Minute)
		}

		reqs := recv.requests()
		require.Len(t, acked(reqs), orders*perOrder, "nothing lost")
		assert.Equal(t, orders*perOrder+failures, len(reqs), "each failure was retried, each event acknowledged once")

		// Per order: an event is only ever sent once every earlier event of
		// its order was acknowledged.
		for order, ids := range want {
			done := 0 // events of the order acknowledged so far
			for _, r := range reqs {
				idx := indexOf(ids, r.id)
				if idx < 0 {
					continue
				}
				require.Equal(t, done, idx, "order %s: %s sent before the earlier events were acknowledged", order, r.id)
				if r.status >= 200 && r.status < 300 {
					done++
				}
			}
			assert.Equal(t, len(ids), done, order)
		}

		for _, r := range reqs {
			require.NoError(t, r.verifyErr, "request for %s", r.id)
			var body struct {
				ID         string          `json:"id"`
				Type       string          `json:"type"`
				OccurredAt time.Time       `json:"occurred_at"`
				Data       json.RawMessage `json:"data"`
			}
			require.NoError(t, json.Unmarshal(r.body, &body))
			assert.Equal(t, r.id, body.ID, "webhook-id is the event id")
			assert.True(t, logistics.EventType(body.Type).Valid())
			assert.False(t, body.OccurredAt.IsZero())
			var data map[string]any
			require.NoError(t, json.Unmarshal(body.Data, &data))
			assert.Equal(t, "picking", data["stage"])
			assert.Contains(t, []string{"TT-0", "TT-1", "TT-2"}, data["order_id"])
		}

		log := deliveries(t, st, "m_a", ep.ID)
		require.Len(t, log, orders*perOrder)
		attempts := 0
		for _, d := range log {
			assert.Equal(t, store.DeliveryDelivered, d.State, d.EventID)
			attempts += len(d.AttemptLog)
		}
		assert.Equal(t, len(reqs), attempts, "the log holds every attempt")
		var dropped []store.WebhookAttempt
		for _, d := range log {
			for _, a := range d.AttemptLog {
				if a.Outcome == store.DeliveryFailed && a.StatusCode == 0 {
					dropped = append(dropped, a)
				}
			}
		}
		require.Len(t, dropped, 1)
		assert.Contains(t, dropped[0].Error, "connection failed")
	})
}

func acked(reqs []received) map[string]bool {
	out := map[string]bool{}
	for _, r := range reqs {
		if r.status >= 200 && r.status < 300 {
			out[r.id] = true
		}
	}
	return out
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// TestBackoffSchedule drives a receiver that always fails with the fake
// clock: each retry comes exactly its wait after the last attempt (jitter
// off), not a moment earlier, and after the ninth attempt, more than a day
// after the first, the delivery is dead.
func TestBackoffSchedule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		recv := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
		addMerchant(t, st, "m_a")
		ep, secret := subscribe(t, st, "m_a", recv.srv.URL)
		recv.setSecrets(secret)
		emit(t, st, "m_a", "TT-1", 0)
		clock := newFakeClock()
		sender := senderFor(t, st, clock)
		start := clock.Now()

		for i := 0; i <= len(DefaultSchedule); i++ {
			pass, err := sender.RunOnce(t.Context())
			require.NoError(t, err)
			require.Equal(t, 1, pass.Attempts, "attempt %d", i+1)
			d := deliveries(t, st, "m_a", ep.ID)[0]
			require.Len(t, d.AttemptLog, i+1)
			if i == len(DefaultSchedule) {
				assert.Equal(t, store.DeliveryDead, d.State)
				assert.Nil(t, d.NextAttemptAt)
				break
			}
			assert.Equal(t, store.DeliveryFailed, d.State)
			require.NotNil(t, d.NextAttemptAt)
			assert.Equal(t, DefaultSchedule[i], d.NextAttemptAt.Sub(*d.LastAttemptAt), "wait after attempt %d", i+1)

			// Just before it is due, nothing is sent.
			clock.Set(d.NextAttemptAt.Add(-time.Millisecond))
			pass, err = sender.RunOnce(t.Context())
			require.NoError(t, err)
			require.Zero(t, pass.Attempts)
			clock.Set(*d.NextAttemptAt)
		}
		assert.Len(t, recv.requests(), len(DefaultSchedule)+1)
		assert.GreaterOrEqual(t, clock.Now().Sub(start), 24*time.Hour, "retries span more than a day")
		for _, r := range recv.requests() {
			assert.NoError(t, r.verifyErr)
		}
	})
}

func TestDefaultJitterOnlyAdds(t *testing.T) {
	for _, d := range DefaultSchedule {
		for range 50 {
			j := defaultJitter(d)
			assert.GreaterOrEqual(t, j, time.Duration(0))
			assert.Less(t, j, d/5+1)
		}
	}
	assert.Zero(t, defaultJitter(0))
}

// TestEndpointDisabledAfterFailingFor72h: a receiver that never answers 2xx
// is disabled once every attempt has failed for 72 hours; after that it
// gets nothing, and enabling it sends what it still held.
func TestEndpointDisabledAfterFailingFor72h(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		var healthy atomic.Bool
		recv := newReceiver(t, func(int) int {
			if healthy.Load() {
				return http.StatusOK
			}
			return http.StatusBadGateway
		})
		addMerchant(t, st, "m_a")
		ep, secret := subscribe(t, st, "m_a", recv.srv.URL)
		recv.setSecrets(secret)
		clock := newFakeClock()
		sender := senderFor(t, st, clock)
		start := clock.Now()

		var disabledAt time.Time
		for hour := 0; hour < 100; hour++ {
			if hour%10 == 0 {
				emit(t, st, "m_a", fmt.Sprintf("TT-%d", hour), 0)
			}
			_, err := sender.RunOnce(t.Context())
			require.NoError(t, err)
			got, err := st.GetWebhookEndpoint(t.Context(), "m_a", ep.ID)
			require.NoError(t, err)
			if !got.Enabled {
				disabledAt = clock.Now()
				assert.Contains(t, got.DisabledReason, "every delivery attempt failed for 72h")
				assert.Contains(t, got.DisabledReason, "HTTP 502")
				break
			}
			clock.Advance(time.Hour)
		}
		require.False(t, disabledAt.IsZero(), "the endpoint was never disabled")
		assert.GreaterOrEqual(t, disabledAt.Sub(start), 72*time.Hour)
		assert.Less(t, disabledAt.Sub(start), 84*time.Hour, "disabled at the first failed attempt after 72h")

		before := len(recv.requests())
		emit(t, st, "m_a", "TT-late", 0)
		clock.Advance(24 * time.Hour)
		pass, err := sender.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, pass.Attempts)
		assert.Zero(t, pass.Deliveries, "events are not queued for a disabled endpoint")
		assert.Len(t, recv.requests(), before)

		healthy.Store(true)
		_, err = st.EnableWebhookEndpoint(t.Context(), "m_a", ep.ID)
		require.NoError(t, err)
		clock.Set(time.Now())
		pass, err = sender.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Positive(t, pass.Delivered, "held deliveries go out once enabled")
		for _, d := range deliveries(t, st, "m_a", ep.ID) {
			assert.Contains(t, []store.DeliveryState{store.DeliveryDelivered, store.DeliveryDead}, d.State)
		}
	})
}

// TestRotationSignsWithBothSecrets: during the overlap every request carries
// two signatures, each verifiable with one secret; afterwards only the new.
func TestRotationSignsWithBothSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		recv := newReceiver(t, func(int) int { return http.StatusOK })
		addMerchant(t, st, "m_a")
		ep, oldSecret := subscribe(t, st, "m_a", recv.srv.URL)
		_, newSecret, err := st.RotateWebhookSecret(t.Context(), "m_a", ep.ID, 24*time.Hour)
		require.NoError(t, err)
		clock := newFakeClock()
		sender := senderFor(t, st, clock)

		emit(t, st, "m_a", "TT-1", 0)
		_, err = sender.RunOnce(t.Context())
		require.NoError(t, err)
		reqs := recv.requests()
		require.Len(t, reqs, 1)
		require.Len(t, reqs[0].signatures, 2)
		// Each secret verifies exactly one of the two signatures.
		for _, secret := range []string{newSecret, oldSecret} {
			hook, err := standardwebhooks.NewWebhook(secret)
			require.NoError(t, err)
			matches := 0
			for _, sig := range reqs[0].signatures {
				h := http.Header{}
				h.Set("webhook-id", reqs[0].id)
				h.Set("webhook-timestamp", reqs[0].timestamp)
				h.Set("webhook-signature", sig)
				if hook.Verify(reqs[0].body, h) == nil {
					matches++
				}
			}
			assert.Equal(t, 1, matches)
		}

		// A receiver that still has only the old secret, then one that has
		// switched to the new, both accept.
		recv.setSecrets(oldSecret)
		emit(t, st, "m_a", "TT-2", 0)
		_, err = sender.RunOnce(t.Context())
		require.NoError(t, err)
		recv.setSecrets(newSecret)
		emit(t, st, "m_a", "TT-3", 0)
		_, err = sender.RunOnce(t.Context())
		require.NoError(t, err)
		reqs = recv.requests()
		require.Len(t, reqs, 3)
		assert.NoError(t, reqs[1].verifyErr, "the old secret still verifies during the overlap")
		assert.NoError(t, reqs[2].verifyErr, "the new secret verifies")

		clock.Advance(25 * time.Hour)
		recv.setSecrets(oldSecret)
		emit(t, st, "m_a", "TT-4", 0)
		_, err = sender.RunOnce(t.Context())
		require.NoError(t, err)
		reqs = recv.requests()
		require.Len(t, reqs, 4)
		assert.Len(t, reqs[3].signatures, 1, "after the overlap only the new secret signs")
		assert.Error(t, reqs[3].verifyErr, "the old secret no longer verifies")
	})
}

// TestRedeliverySendsTheSameEventAgain.
func TestRedeliverySendsTheSameEventAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		recv := newReceiver(t, func(int) int { return http.StatusAccepted })
		addMerchant(t, st, "m_a")
		ep, secret := subscribe(t, st, "m_a", recv.srv.URL)
		recv.setSecrets(secret)
		id := emit(t, st, "m_a", "TT-1", 0)
		clock := newFakeClock()
		sender := senderFor(t, st, clock)
		_, err := sender.RunOnce(t.Context())
		require.NoError(t, err)

		d := deliveries(t, st, "m_a", ep.ID)[0]
		require.Equal(t, store.DeliveryDelivered, d.State)
		_, err = st.RedeliverWebhook(t.Context(), "m_a", ep.ID, d.ID)
		require.NoError(t, err)
		clock.Set(time.Now())
		pass, err := sender.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, pass.Delivered)

		reqs := recv.requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, id, reqs[0].id)
		assert.Equal(t, id, reqs[1].id, "the same webhook-id, so the receiver can dedupe")
		assert.NoError(t, reqs[1].verifyErr)
		d = deliveries(t, st, "m_a", ep.ID)[0]
		assert.Equal(t, store.DeliveryDelivered, d.State)
		assert.Len(t, d.AttemptLog, 2)
	})
}

// TestSenderRefusesInternalAddressesWithoutConnecting: an endpoint that
// points at loopback (say it was subscribed in development) is refused by
// the production guard at connect time; the receiver never sees a
// connection, and the log says why.
func TestSenderRefusesInternalAddressesWithoutConnecting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		recv := newReceiver(t, func(int) int { return http.StatusOK })
		addMerchant(t, st, "m_a")
		ep, _ := subscribe(t, st, "m_a", recv.srv.URL)
		emit(t, st, "m_a", "TT-1", 0)
		clock := newFakeClock()
		sender := senderFor(t, st, clock, func(o *Options) {
			o.Guard = NewGuard(GuardOptions{Dial: noDial(t)})
		})
		pass, err := sender.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, pass.Attempts)
		assert.Zero(t, pass.Delivered)
		assert.Empty(t, recv.requests())
		assert.Zero(t, recv.conns.Load(), "no connection reached the receiver")

		d := deliveries(t, st, "m_a", ep.ID)[0]
		assert.Equal(t, store.DeliveryFailed, d.State)
		assert.Contains(t, d.LastError, "127.0.0.1 is a loopback address")
	})
}

// TestRedirectsAreNotFollowed: a 3xx is a failed attempt, and the redirect
// target is never contacted.
func TestRedirectsAreNotFollowed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		target := newReceiver(t, func(int) int { return http.StatusOK })
		redirector := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
		t.Cleanup(redirector.Close)
		addMerchant(t, st, "m_a")
		ep, _ := subscribe(t, st, "m_a", redirector.URL)
		emit(t, st, "m_a", "TT-1", 0)
		sender := senderFor(t, st, newFakeClock())
		_, err := sender.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Empty(t, target.requests())
		d := deliveries(t, st, "m_a", ep.ID)[0]
		assert.Equal(t, 307, d.LastStatusCode)
		assert.Contains(t, d.LastError, "redirects are not followed")
	})
}

// TestReplicasDoNotSendTwice runs two senders on one database at once:
// every event reaches the receiver exactly once.
func TestReplicasDoNotSendTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		recv := newReceiver(t, func(int) int { return http.StatusOK })
		addMerchant(t, st, "m_a")
		_, secret := subscribe(t, st, "m_a", recv.srv.URL)
		recv.setSecrets(secret)
		const events = 30
		for i := range events {
			emit(t, st, "m_a", fmt.Sprintf("TT-%d", i%10), i/10)
		}
		clock := newFakeClock()
		a, b := senderFor(t, st, clock), senderFor(t, st, clock)
		var wg sync.WaitGroup
		for _, s := range []*Sender{a, b} {
			wg.Go(func() {
				for range 5 {
					_, err := s.RunOnce(context.WithoutCancel(t.Context()))
					assert.NoError(t, err)
				}
			})
		}
		wg.Wait()
		reqs := recv.requests()
		seen := map[string]int{}
		for _, r := range reqs {
			seen[r.id]++
			assert.NoError(t, r.verifyErr)
		}
		assert.Len(t, seen, events)
		for id, n := range seen {
			assert.Equal(t, 1, n, id)
		}
	})
}

// TestRunDeliversAndStopsOnCancel runs the polling loop for real: an event
// appended while it runs is delivered, and cancelling stops it.
func TestRunDeliversAndStopsOnCancel(t *testing.T) {
	st := storetest.SQLite(t)
	got := make(chan struct{}, 1)
	recv := newReceiver(t, func(int) int {
		select {
		case got <- struct{}{}:
		default:
		}
		return http.StatusOK
	})
	addMerchant(t, st, "m_a")
	subscribe(t, st, "m_a", recv.srv.URL)
	sender, err := NewSender(st, Options{Guard: NewGuard(GuardOptions{AllowPrivate: true}), Poll: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sender.Run(ctx) }()
	emit(t, st, "m_a", "TT-1", 0)
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the running sender did not deliver the event")
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestNewSenderRefusesBadOptions(t *testing.T) {
	st := storetest.SQLite(t)
	g := NewGuard(GuardOptions{})
	for name, tc := range map[string]struct {
		opts Options
		want string
	}{
		"no guard":              {Options{}, "Guard is required"},
		"lease shorter than io": {Options{Guard: g, Timeout: time.Minute, Lease: 30 * time.Second}, "lease"},
		"zero wait":             {Options{Guard: g, Schedule: []time.Duration{time.Second, 0}}, "retry wait 2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewSender(st, tc.opts)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestBodyAndSign(t *testing.T) {
	at := time.Date(2026, 11, 25, 6, 0, 0, 0, time.FixedZone("CST", 8*3600))
	b, err := Body(store.OutboundEvent{ID: "e/1", OrderID: "TT-1", Type: "order.stage_changed",
		Payload: json.RawMessage(`{"stage":"picking"}`), OccurredAt: at})
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"e/1","type":"order.stage_changed","occurred_at":"2026-11-24T22:00:00Z",
		"data":{"stage":"picking","order_id":"TT-1"}}`, string(b))

	kept, err := Body(store.OutboundEvent{ID: "e/2", OrderID: "TT-1", Type: "t", Payload: json.RawMessage(`{"order_id":"own"}`), OccurredAt: at})
	require.NoError(t, err)
	assert.Contains(t, string(kept), `"order_id":"own"`, "a payload's own order_id wins")

	secret, err := store.NewWebhookSecret()
	require.NoError(t, err)
	sig, err := Sign([]string{secret}, "e/1", time.Now(), b)
	require.NoError(t, err)
	hook, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	h := http.Header{}
	h.Set("webhook-id", "e/1")
	h.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
	h.Set("webhook-signature", sig)
	require.NoError(t, hook.Verify(b, h))

	_, err = Sign(nil, "e/1", time.Now(), b)
	assert.Error(t, err)
	_, err = Sign([]string{"whsec_"}, "e/1", time.Now(), b)
	assert.ErrorContains(t, err, "empty")
}
