package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/carriers/paper"
	"github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/logistics"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// delivery is one webhook the fake Crossdock received and verified.
type delivery struct {
	id     string
	events []logistics.TrackingEvent
}

// crossdock is a fake Crossdock API that verifies carrier pushes with the
// adapters, as the real API does, and records them.
type crossdock struct {
	mu       sync.Mutex
	adapters map[string]*sandbox.Client
	got      []delivery
	rejected int
	// fail answers 500 to the first n deliveries.
	fail int
}

func (c *crossdock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.adapters[r.PathValue("carrier")]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if c.fail > 0 {
		c.fail--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	id, events, err := a.ParseWebhook(r.Header, body)
	if err != nil {
		c.rejected++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	c.got = append(c.got, delivery{id: id, events: events})
	w.WriteHeader(http.StatusOK)
}

func (c *crossdock) deliveries() []delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func (c *crossdock) codes() []string {
	var out []string
	for _, d := range c.deliveries() {
		for _, ev := range d.events {
			out = append(out, ev.RawCode)
		}
	}
	return out
}

// world is a sandbox network and a fake Crossdock, both on loopback.
type world struct {
	server    *sandbox.Server
	url       string
	crossdock *crossdock
	adapters  map[string]*sandbox.Client
}

func newWorld(t *testing.T, speedup float64) *world {
	t.Helper()
	cd := &crossdock{}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/webhooks/carriers/{carrier}", cd)
	cdSrv := httptest.NewServer(mux)
	t.Cleanup(cdSrv.Close)

	srv := sandbox.NewServer(sandbox.Options{CallbackURL: cdSrv.URL, WebhookSecret: secret, Speedup: speedup,
		SlowDelay: 2 * time.Second})
	smux := http.NewServeMux()
	srv.Register(smux)
	sbx := httptest.NewServer(smux)
	t.Cleanup(sbx.Close)
	t.Cleanup(srv.Close) // runs before sbx.Close: no pushes to a closed fake

	w := &world{server: srv, url: sbx.URL, crossdock: cd, adapters: map[string]*sandbox.Client{}}
	cs, err := sandbox.Carriers(sbx.URL, secret, nil)
	require.NoError(t, err)
	require.Len(t, cs, 4)
	for _, c := range cs {
		w.adapters[c.Code()] = c.(*sandbox.Client)
	}
	cd.adapters = w.adapters
	return w
}

func (w *world) fault(t *testing.T, carrier, kind string, seconds int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"carrier": carrier, "kind": kind, "duration_s": seconds})
	resp, err := http.Post(w.url+"/admin/faults", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
}

func (w *world) clearFaults(t *testing.T) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, w.url+"/admin/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func bookRequest(key, from, to string) carriers.BookRequest {
	return carriers.BookRequest{
		IdempotencyKey: key, MerchantID: "m_demo", OrderID: "TT-" + key, ShipmentNumber: 1,
		ShipFrom: logistics.Address{Name: "Sandbox Fulfilment", Line1: "8 Pingxin North Road", City: "Shenzhen", PostalCode: "518000", Country: from},
		ShipTo:   logistics.Address{Name: "Ada Lovelace", Line1: "12 Example Street", City: "London", PostalCode: "N1 9GU", Country: to},
		Parcel:   logistics.Parcel{WeightGrams: 460, LengthMM: 250, WidthMM: 180, HeightMM: 50},
		Items: []logistics.Item{{SKU: "TSHIRT-RED-M", Description: "Cotton T-shirt", Quantity: 2,
			UnitPrice: logistics.Money{Amount: decimal.RequireFromString("12.50"), Currency: "GBP"},
			HSCode:    "610910", OriginCountry: "CN", WeightGrams: 180, DangerousGoods: logistics.DGNone}},
	}
}

func finalStatus(events []logistics.TrackingEvent) logistics.Status {
	status := logistics.StatusPending
	for _, ev := range events {
		status, _ = logistics.Advance(status, ev.Status)
	}
	return status
}

func TestBookIsIdempotent(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	express := w.adapters[sandbox.Express]

	first, err := express.Book(ctx, bookRequest("k1", "CN", "GB"))
	require.NoError(t, err)
	again, err := express.Book(ctx, bookRequest("k1", "CN", "GB"))
	require.NoError(t, err)
	other, err := express.Book(ctx, bookRequest("k2", "CN", "GB"))
	require.NoError(t, err)

	assert.Regexp(t, `^SBX[0-9]{10}$`, first.TrackingNumber)
	assert.Equal(t, first, again, "a retried booking returns the first booking")
	assert.NotEqual(t, first.TrackingNumber, other.TrackingNumber)
	require.NotNil(t, first.EstimatedDelivery)
	assert.WithinDuration(t, time.Now().Add(96*time.Hour), *first.EstimatedDelivery, time.Minute)
	require.Len(t, first.Legs, 1)
	assert.Equal(t, logistics.Leg{Sequence: 1, Kind: logistics.LegDoorToDoor, Carrier: sandbox.Express,
		Service: "express", TrackingNumber: first.TrackingNumber, Status: logistics.StatusPending}, first.Legs[0])

	// The wire answers 201 for a new booking and 200 for a repeat.
	body, _ := json.Marshal(bookRequest("k3", "CN", "GB"))
	for _, want := range []int{http.StatusCreated, http.StatusOK} {
		resp, err := http.Post(w.url+"/carriers/sbx_express/shipments", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode)
	}

	// The label is served where the booking says.
	resp, err := http.Get(first.LabelURL)
	require.NoError(t, err)
	label, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(label), first.TrackingNumber)
	assert.Contains(t, string(label), "London")
}

func TestBookRefusals(t *testing.T) {
	w := newWorld(t, 1)
	tests := []struct {
		name    string
		carrier string
		mod     func(*carriers.BookRequest)
		code    string
	}{
		{"post does not serve PH", sandbox.Post, func(r *carriers.BookRequest) { r.ShipTo.Country = "PH" }, "destination_not_served"},
		{"consol only from CN", sandbox.Consol, func(r *carriers.BookRequest) { r.ShipFrom.Country = "NL" }, "destination_not_served"},
		{"unknown service", sandbox.Express, func(r *carriers.BookRequest) { r.Service = "overnight" }, "destination_not_served"},
		{"missing idempotency key", sandbox.Express, func(r *carriers.BookRequest) { r.IdempotencyKey = "" }, "invalid_request"},
		{"post weight limit", sandbox.Post, func(r *carriers.BookRequest) { r.Parcel.WeightGrams = 2500 }, "too_heavy"},
		{"post refuses batteries", sandbox.Post, func(r *carriers.BookRequest) {
			r.Items[0].DangerousGoods = logistics.DGLithiumInEquipment
		}, "dangerous_goods_refused"},
		{"express refuses standalone batteries", sandbox.Express, func(r *carriers.BookRequest) {
			r.Items[0].DangerousGoods = logistics.DGLithiumStandalone
		}, "dangerous_goods_refused"},
		{"EU consol needs IOSS", sandbox.Consol, func(r *carriers.BookRequest) { r.ShipTo.Country = "DE" }, "tax_id_required"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := bookRequest("refuse-"+strconv.Itoa(i), "CN", "GB")
			tt.mod(&req)
			_, err := w.adapters[tt.carrier].Book(context.Background(), req)
			require.Error(t, err)
			assert.ErrorIs(t, err, carriers.ErrRefused)
			var apiErr *sandbox.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.code, apiErr.Code)
			assert.False(t, apiErr.Retryable())
		})
	}

	t.Run("EU consol with IOSS books two legs", func(t *testing.T) {
		req := bookRequest("ioss", "CN", "DE")
		req.TaxIDs.IOSS = "IM2760000001"
		b, err := w.adapters[sandbox.Consol].Book(context.Background(), req)
		require.NoError(t, err)
		require.Len(t, b.Legs, 2)
		assert.Equal(t, "eu_ioss", b.Legs[0].Service)
	})
}

func TestFaults(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	express := w.adapters[sandbox.Express]

	t.Run("outage is retryable", func(t *testing.T) {
		w.fault(t, sandbox.Express, sandbox.FaultOutage, 30)
		defer w.clearFaults(t)
		_, err := express.Book(ctx, bookRequest("outage", "CN", "GB"))
		require.Error(t, err)
		assert.NotErrorIs(t, err, carriers.ErrRefused)
		var apiErr *sandbox.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
		assert.True(t, apiErr.Retryable())
		assert.Equal(t, 10*time.Second, apiErr.Wait, "an outage asks for a short pause, not its whole length")
		// Other carriers are unaffected.
		_, err = w.adapters[sandbox.Post].Book(ctx, bookRequest("outage", "CN", "GB"))
		assert.NoError(t, err)
	})

	t.Run("rate limit is retryable with Retry-After", func(t *testing.T) {
		w.fault(t, "*", sandbox.FaultRateLimit, 5)
		defer w.clearFaults(t)
		_, err := w.adapters[sandbox.Post].Track(ctx, "LS000000000ZZ")
		var apiErr *sandbox.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.NotErrorIs(t, err, carriers.ErrRefused)
		assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
		assert.Equal(t, 5*time.Second, apiErr.Wait)
		wait, ok := carriers.RetryAfter(err)
		assert.True(t, ok, "the port exposes the delay to whoever retries")
		assert.Equal(t, 5*time.Second, wait)
	})

	t.Run("refuse is final", func(t *testing.T) {
		w.fault(t, sandbox.Express, sandbox.FaultRefuse, 30)
		defer w.clearFaults(t)
		_, err := express.Book(ctx, bookRequest("refuse", "CN", "GB"))
		assert.ErrorIs(t, err, carriers.ErrRefused)
	})

	t.Run("slow answers time out and are retryable", func(t *testing.T) {
		w.fault(t, sandbox.Express, sandbox.FaultSlow, 30)
		defer w.clearFaults(t)
		impatient, err := sandbox.NewClient(w.url, sandbox.Express, secret, &http.Client{Timeout: 100 * time.Millisecond})
		require.NoError(t, err)
		start := time.Now()
		_, err = impatient.Book(ctx, bookRequest("slow", "CN", "GB"))
		require.Error(t, err)
		assert.NotErrorIs(t, err, carriers.ErrRefused)
		assert.Less(t, time.Since(start), time.Second)
	})

	t.Run("cleared faults stop acting", func(t *testing.T) {
		w.fault(t, sandbox.Express, sandbox.FaultOutage, 30)
		w.clearFaults(t)
		_, err := express.Book(ctx, bookRequest("cleared", "CN", "GB"))
		assert.NoError(t, err)
	})

	t.Run("the switch lists and validates faults", func(t *testing.T) {
		w.fault(t, sandbox.Post, sandbox.FaultStall, 0)
		defer w.clearFaults(t)
		resp, err := http.Get(w.url + "/admin/faults")
		require.NoError(t, err)
		var list struct {
			Faults []struct {
				Carrier   string `json:"carrier"`
				Kind      string `json:"kind"`
				DurationS int    `json:"duration_s"`
			} `json:"faults"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
		resp.Body.Close()
		require.Len(t, list.Faults, 1)
		assert.Equal(t, 60, list.Faults[0].DurationS, "no duration means 60 s")

		for _, body := range []string{
			`{"carrier":"sbx_nope","kind":"outage","duration_s":10}`,
			`{"carrier":"sbx_post","kind":"meteor","duration_s":10}`,
			`{"carrier":"sbx_post","kind":"outage","duration_s":-1}`,
		} {
			resp, err := http.Post(w.url+"/admin/faults", "application/json", bytes.NewBufferString(body))
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		}
	})
}

func TestExpressJourneyPushesSignedWebhooks(t *testing.T) {
	w := newWorld(t, 1e6)
	b, err := w.adapters[sandbox.Express].Book(context.Background(), bookRequest("journey", "CN", "GB"))
	require.NoError(t, err)

	want := []string{"MAN", "PU", "EXP_CLR", "DEP", "ARR", "IMP_CLR", "CLR", "OFD", "DLV"}
	require.Eventually(t, func() bool { return len(w.crossdock.codes()) >= len(want) }, 5*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, want, w.crossdock.codes())

	var events []logistics.TrackingEvent
	ids := map[string]bool{}
	for _, d := range w.crossdock.deliveries() {
		assert.NotEmpty(t, d.id)
		assert.False(t, ids[d.id], "webhook ids are unique per delivery")
		ids[d.id] = true
		events = append(events, d.events...)
	}
	slices.SortFunc(events, func(a, b logistics.TrackingEvent) int { return a.OccurredAt.Compare(b.OccurredAt) })
	phases := map[string]logistics.Phase{}
	for _, ev := range events {
		assert.Equal(t, b.TrackingNumber, ev.TrackingNumber)
		assert.Equal(t, sandbox.Express, ev.Carrier)
		assert.Equal(t, logistics.SourceWebhook, ev.Source)
		assert.NotEmpty(t, ev.Status, "every sandbox code is mapped")
		phases[ev.RawCode] = ev.Phase
	}
	assert.Equal(t, logistics.StatusDelivered, finalStatus(events))
	assert.Equal(t, logistics.Location{City: "Shenzhen", Country: "CN"}, events[0].Location)
	assert.Equal(t, logistics.Location{City: "London", Country: "GB"}, events[len(events)-1].Location)
	assert.Equal(t, map[string]logistics.Phase{
		"MAN": logistics.PhaseOrigin, "PU": logistics.PhaseOrigin, "EXP_CLR": logistics.PhaseExportCustoms,
		"DEP": logistics.PhaseLineHaul, "ARR": logistics.PhaseImportCustoms, "IMP_CLR": logistics.PhaseImportCustoms,
		"CLR": logistics.PhaseLastMile, "OFD": logistics.PhaseLastMile, "DLV": logistics.PhaseLastMile,
	}, phases)
	assert.Zero(t, w.crossdock.rejected)

	// Express also answers polls, so dropped pushes can be recovered.
	polled, err := w.adapters[sandbox.Express].Track(context.Background(), b.TrackingNumber)
	require.NoError(t, err)
	assert.Len(t, polled, len(want))
}

func TestPushRetriesWithTheSameWebhookID(t *testing.T) {
	w := newWorld(t, 1e6)
	w.crossdock.mu.Lock()
	w.crossdock.fail = 2
	w.crossdock.mu.Unlock()
	_, err := w.adapters[sandbox.Express].Book(context.Background(), bookRequest("retry", "CN", "GB"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return slices.Contains(w.crossdock.codes(), "DLV") }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(w.crossdock.codes()) == 9 }, 10*time.Second, 10*time.Millisecond,
		"failed deliveries are retried until acknowledged")
}

func TestPollTracking(t *testing.T) {
	w := newWorld(t, 1e6)
	ctx := context.Background()
	post := w.adapters[sandbox.Post]
	b, err := post.Book(ctx, bookRequest("poll", "CN", "GB"))
	require.NoError(t, err)
	assert.Regexp(t, `^LS[0-9]{9}ZZ$`, b.TrackingNumber)

	var events []logistics.TrackingEvent
	require.Eventually(t, func() bool {
		events, err = post.Track(ctx, b.TrackingNumber)
		return err == nil && len(events) > 0 && events[len(events)-1].RawCode == "EMI"
	}, 5*time.Second, 20*time.Millisecond)
	var codes []string
	for _, ev := range events {
		codes = append(codes, ev.RawCode)
		assert.Equal(t, logistics.SourcePoll, ev.Source)
		assert.Equal(t, b.TrackingNumber, ev.TrackingNumber)
		assert.NotEmpty(t, ev.RawDescription)
	}
	assert.Equal(t, []string{"ITMATT", "EMA", "EXA", "EMC", "EMD", "EDB", "EDC", "EDD", "EDG", "EMI"}, codes)
	assert.Equal(t, logistics.StatusInfoReceived, events[0].Status)
	assert.Equal(t, logistics.PhaseExportCustoms, events[2].Phase)
	assert.Equal(t, logistics.PhaseImportCustoms, events[5].Phase)
	assert.Equal(t, logistics.StatusDelivered, finalStatus(events))
	assert.Empty(t, w.crossdock.deliveries(), "a poll carrier pushes nothing")

	_, err = post.Track(ctx, "LS999999999ZZ")
	assert.ErrorIs(t, err, carriers.ErrRefused, "an unknown number is final")
}

func TestPollRateLimit(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	post := w.adapters[sandbox.Post]
	b, err := post.Book(ctx, bookRequest("limit", "CN", "GB"))
	require.NoError(t, err)
	var limited *sandbox.APIError
	for range 200 {
		if _, err := post.Track(ctx, b.TrackingNumber); err != nil {
			require.ErrorAs(t, err, &limited)
			break
		}
	}
	require.NotNil(t, limited, "the post rate-limits tracking polls")
	assert.Equal(t, http.StatusTooManyRequests, limited.StatusCode)
	assert.GreaterOrEqual(t, limited.Wait, time.Second)
}

func TestConsolHandsOverToPost(t *testing.T) {
	w := newWorld(t, 1e6)
	ctx := context.Background()
	b, err := w.adapters[sandbox.Consol].Book(ctx, bookRequest("consol", "CN", "GB"))
	require.NoError(t, err)
	require.Len(t, b.Legs, 2)
	assert.Equal(t, logistics.LegLineHaul, b.Legs[0].Kind)
	assert.Equal(t, sandbox.Consol, b.Legs[0].Carrier)
	assert.Equal(t, b.TrackingNumber, b.Legs[0].TrackingNumber)
	assert.Equal(t, logistics.LegLastMile, b.Legs[1].Kind)
	assert.Equal(t, sandbox.Post, b.Legs[1].Carrier)
	assert.NotEqual(t, b.TrackingNumber, b.Legs[1].TrackingNumber)

	// The partner knows the number from the start, with no scans yet.
	early, err := w.adapters[sandbox.Post].Track(ctx, b.Legs[1].TrackingNumber)
	require.NoError(t, err)
	assert.Empty(t, early)

	// The consolidator's broker clears nothing without the importer's
	// entry: the parcel waits at import customs until it is filed.
	var held []logistics.TrackingEvent
	require.Eventually(t, func() bool {
		held, err = w.adapters[sandbox.Consol].Track(ctx, b.TrackingNumber)
		return err == nil && len(held) > 0 && held[len(held)-1].RawCode == "CC_HOLD"
	}, 5*time.Second, 20*time.Millisecond, "held at import customs")
	time.Sleep(50 * time.Millisecond) // hours at this speed-up: still held
	still, err := w.adapters[sandbox.Consol].Track(ctx, b.TrackingNumber)
	require.NoError(t, err)
	assert.Equal(t, "CC_HOLD", still[len(still)-1].RawCode)
	bad := w.adapters[sandbox.Consol].FileCustomsEntry(ctx, b.TrackingNumber, carriers.CustomsEntry{})
	assert.ErrorIs(t, bad, carriers.ErrRefused, "an empty entry is refused")
	entry := carriers.CustomsEntry{Reference: "o1", Decision: logistics.CustomsDecision{Regime: "uk_low_value"},
		Items:    []logistics.Item{{SKU: "T", Description: "Cotton T-shirt", Quantity: 1, HSCode: "610910", OriginCountry: "CN"}},
		Importer: logistics.Address{Name: "Ada", City: "London", Country: "GB"}}
	require.NoError(t, w.adapters[sandbox.Consol].FileCustomsEntry(ctx, b.TrackingNumber, entry))
	require.NoError(t, w.adapters[sandbox.Consol].FileCustomsEntry(ctx, b.TrackingNumber, entry), "idempotent")
	assert.ErrorIs(t, w.adapters[sandbox.Express].FileCustomsEntry(ctx, "x", entry), carriers.ErrUnsupported,
		"express pre-clears electronically")

	var lineHaul, lastMile []logistics.TrackingEvent
	require.Eventually(t, func() bool {
		lastMile, err = w.adapters[sandbox.Post].Track(ctx, b.Legs[1].TrackingNumber)
		return err == nil && len(lastMile) > 0 && lastMile[len(lastMile)-1].Status == logistics.StatusDelivered
	}, 5*time.Second, 20*time.Millisecond)
	lineHaul, err = w.adapters[sandbox.Consol].Track(ctx, b.TrackingNumber)
	require.NoError(t, err)
	require.NotEmpty(t, lineHaul)
	handover := lineHaul[len(lineHaul)-1]
	assert.Equal(t, "CW_HANDOVER", handover.RawCode)
	assert.Equal(t, "in_transit.handed_to_partner", handover.Substatus)
	assert.False(t, lastMile[0].OccurredAt.Before(handover.OccurredAt), "the last mile starts at the hand-over")
	assert.Equal(t, logistics.PhaseLastMile, lastMile[0].Phase)
}

func TestLocalCourierHasNoTrackingAPI(t *testing.T) {
	w := newWorld(t, 1e6)
	ctx := context.Background()
	local := w.adapters[sandbox.Local]
	req := bookRequest("local", "CN", "PH")
	req.ShipTo.City = "Manila"
	b, err := local.Book(ctx, req)
	require.NoError(t, err)
	again, err := local.Book(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, b.TrackingNumber, again.TrackingNumber, "a retried booking prints the same number")
	assert.Regexp(t, `^SL[0-9]{9}$`, b.TrackingNumber, "the number comes from the courier's range")
	assert.Empty(t, b.LabelURL, "no label API: Crossdock prints the label")
	_, err = local.Track(ctx, b.TrackingNumber)
	assert.ErrorIs(t, err, carriers.ErrUnsupported)

	resp, err := http.Post(w.url+"/carriers/sbx_local/shipments", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the courier has no booking API")
	resp, err = http.Get(w.url + "/carriers/sbx_local/tracking/" + b.TrackingNumber)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	// The parcel reaches the courier on the end-of-day manifest...
	m := paper.Manifest{Carrier: sandbox.Local, Date: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		Lines: []paper.ManifestLine{{TrackingNumber: b.TrackingNumber, Reference: req.OrderID, Service: "standard",
			RecipientName: "Juan Dela Cruz", Line1: "1 Rizal Ave", City: "Manila", PostalCode: "1000", Country: "PH",
			WeightGrams: 400, Pieces: 1, DeclaredValue: logistics.Money{Amount: decimal.RequireFromString("25.00"), Currency: "USD"},
			Contents: "Cotton T-shirt"}}}
	var file bytes.Buffer
	require.NoError(t, paper.WriteManifest(&file, m))
	var manifester carriers.Manifester = local
	name := paper.ManifestFileName(m)
	require.NoError(t, manifester.SubmitManifest(ctx, name, file.Bytes()))
	require.NoError(t, manifester.SubmitManifest(ctx, name, file.Bytes()), "re-sending a manifest is safe")

	// ... and its scans reach Crossdock only as the daily CSV file, once.
	var scans []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get(w.url + "/carriers/sbx_local/scans.csv")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		scans, _ = io.ReadAll(resp.Body)
		return bytes.Contains(scans, []byte(b.TrackingNumber+",DLV,Delivered,"))
	}, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, 1, bytes.Count(scans, []byte(b.TrackingNumber+",MNF,")), "one parcel, however often the file came")

	err = w.adapters[sandbox.Express].SubmitManifest(ctx, name, file.Bytes())
	assert.ErrorIs(t, err, carriers.ErrUnsupported, "an API carrier takes no manifest")
	bad := bytes.Replace(file.Bytes(), []byte(sandbox.Local), []byte(sandbox.Post), 1)
	err = manifester.SubmitManifest(ctx, "other.csv", bad)
	assert.ErrorIs(t, err, carriers.ErrRefused, "a manifest for another carrier is refused")
}

func TestParseWebhookRejects(t *testing.T) {
	express, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Express, secret, nil)
	require.NoError(t, err)
	body := []byte(`{"type":"tracking.updated","carrier":"sbx_express","tracking_number":"SBX1","origin_country":"CN","destination_country":"GB",` +
		`"events":[{"code":"PU","description":"Shipment picked up","occurred_at":"2026-11-25T08:00:00Z","location":{"city":"Shenzhen","country":"CN"}}]}`)
	signed := func(secret string, at time.Time, body []byte) http.Header {
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		sig, err := wh.Sign("msg_1", at, body)
		require.NoError(t, err)
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("webhook-signature", sig)
		return h
	}

	id, events, err := express.ParseWebhook(signed(secret, time.Now(), body), body)
	require.NoError(t, err)
	assert.Equal(t, "msg_1", id)
	require.Len(t, events, 1)
	assert.Equal(t, logistics.StatusPickedUp, events[0].Status)
	assert.Equal(t, logistics.PhaseOrigin, events[0].Phase)
	assert.Equal(t, logistics.SourceWebhook, events[0].Source)

	rotated := signed(secret, time.Now(), body)
	rotated.Set("webhook-signature", "v1,bm90IGl0 "+rotated.Get("webhook-signature"))
	_, _, err = express.ParseWebhook(rotated, body)
	assert.NoError(t, err, "one valid signature among several is enough")

	other := "whsec_" + "c2Vjb25kIHNlY3JldCBmb3IgdGVzdHM="
	tampered := bytes.Replace(body, []byte(`"PU"`), []byte(`"DLV"`), 1)
	noSig := signed(secret, time.Now(), body)
	noSig.Del("webhook-signature")
	tests := map[string]struct {
		header http.Header
		body   []byte
	}{
		"other secret":      {signed(other, time.Now(), body), body},
		"tampered body":     {signed(secret, time.Now(), body), tampered},
		"too old":           {signed(secret, time.Now().Add(-10*time.Minute), body), body},
		"from the future":   {signed(secret, time.Now().Add(10*time.Minute), body), body},
		"missing signature": {noSig, body},
		"no headers at all": {http.Header{}, body},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := express.ParseWebhook(tt.header, tt.body)
			assert.ErrorIs(t, err, carriers.ErrBadSignature)
		})
	}

	t.Run("no secret configured", func(t *testing.T) {
		open, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Express, "", nil)
		require.NoError(t, err)
		_, _, err = open.ParseWebhook(signed(secret, time.Now(), body), body)
		assert.ErrorIs(t, err, carriers.ErrBadSignature)
	})

	t.Run("another carrier's body", func(t *testing.T) {
		post, err := sandbox.NewClient("http://127.0.0.1:1", sandbox.Post, secret, nil)
		require.NoError(t, err)
		_, _, err = post.ParseWebhook(signed(secret, time.Now(), body), body)
		require.Error(t, err)
		assert.NotErrorIs(t, err, carriers.ErrBadSignature)
	})
}

func TestNewClientValidates(t *testing.T) {
	for name, args := range map[string][3]string{
		"unknown carrier": {"http://127.0.0.1:8090", "sbx_nope", secret},
		"relative url":    {"127.0.0.1:8090", sandbox.Express, secret},
		"bad secret":      {"http://127.0.0.1:8090", sandbox.Express, "whsec_!!!"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sandbox.NewClient(args[0], args[1], args[2], nil)
			assert.Error(t, err)
		})
	}
}

func TestJourneyFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("drop_webhooks loses pushes but polls still see scans", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 1e6)
		w.fault(t, sandbox.Express, sandbox.FaultDropWebhooks, 30)
		b, err := w.adapters[sandbox.Express].Book(ctx, bookRequest("drop", "CN", "GB"))
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			evs, err := w.adapters[sandbox.Express].Track(ctx, b.TrackingNumber)
			return err == nil && len(evs) == 9
		}, 5*time.Second, 20*time.Millisecond)
		time.Sleep(50 * time.Millisecond)
		assert.Empty(t, w.crossdock.deliveries())
	})

	t.Run("duplicate_webhooks sends each event twice under new ids", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 1e6)
		w.fault(t, sandbox.Express, sandbox.FaultDuplicateWebhooks, 30)
		_, err := w.adapters[sandbox.Express].Book(ctx, bookRequest("dup", "CN", "GB"))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return len(w.crossdock.deliveries()) == 18 }, 5*time.Second, 10*time.Millisecond)
		ids := map[string]bool{}
		keys := map[string]int{}
		for _, d := range w.crossdock.deliveries() {
			ids[d.id] = true
			keys[d.events[0].DedupKey()]++
		}
		assert.Len(t, ids, 18)
		assert.Len(t, keys, 9, "duplicates share the event's dedup key")
	})

	t.Run("reorder_webhooks delivers events out of order", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 1e6)
		w.fault(t, sandbox.Express, sandbox.FaultReorderWebhooks, 30)
		_, err := w.adapters[sandbox.Express].Book(ctx, bookRequest("reorder", "CN", "GB"))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return len(w.crossdock.codes()) == 9 }, 10*time.Second, 10*time.Millisecond)
		codes := w.crossdock.codes()
		assert.Equal(t, []string{"PU", "MAN"}, codes[:2], "the first scan is held back behind the second")
	})

	t.Run("customs_hold holds at import customs until the fault ends", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 1e6)
		w.fault(t, sandbox.Express, sandbox.FaultCustomsHold, 1)
		_, err := w.adapters[sandbox.Express].Book(ctx, bookRequest("hold", "CN", "GB"))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return slices.Contains(w.crossdock.codes(), "HLD") }, 2*time.Second, 5*time.Millisecond)
		assert.NotContains(t, w.crossdock.codes(), "IMP_CLR")
		require.Eventually(t, func() bool { return slices.Contains(w.crossdock.codes(), "DLV") }, 5*time.Second, 10*time.Millisecond)
		for _, d := range w.crossdock.deliveries() {
			if ev := d.events[0]; ev.RawCode == "HLD" {
				assert.Equal(t, logistics.StatusException, ev.Status)
				assert.Equal(t, logistics.PhaseImportCustoms, ev.Phase)
				assert.True(t, ev.ActionRequired)
			}
		}
	})

	t.Run("failed_attempt three times returns the parcel", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 1e6)
		w.fault(t, sandbox.Express, sandbox.FaultFailedAttempt, 30)
		_, err := w.adapters[sandbox.Express].Book(ctx, bookRequest("attempt", "CN", "GB"))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return slices.Contains(w.crossdock.codes(), "RTS") }, 5*time.Second, 10*time.Millisecond)
		codes := w.crossdock.codes()
		count := func(code string) int {
			n := 0
			for _, c := range codes {
				if c == code {
					n++
				}
			}
			return n
		}
		assert.Equal(t, 3, count("NA"))
		assert.Equal(t, 3, count("OFD"))
		assert.Zero(t, count("DLV"))
	})

	t.Run("stall stops the parcel until the fault ends", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, 1e6)
		w.fault(t, sandbox.Post, sandbox.FaultStall, 1)
		b, err := w.adapters[sandbox.Post].Book(ctx, bookRequest("stall", "CN", "GB"))
		require.NoError(t, err)
		time.Sleep(300 * time.Millisecond)
		evs, err := w.adapters[sandbox.Post].Track(ctx, b.TrackingNumber)
		require.NoError(t, err)
		assert.Empty(t, evs, "nothing moves while stalled")
		require.Eventually(t, func() bool {
			evs, err := w.adapters[sandbox.Post].Track(ctx, b.TrackingNumber)
			return err == nil && len(evs) == 10
		}, 5*time.Second, 20*time.Millisecond)
	})
}

func TestCloseStopsEverything(t *testing.T) {
	w := newWorld(t, 1e5) // the express journey takes about 3.5 s
	_, err := w.adapters[sandbox.Express].Book(context.Background(), bookRequest("close", "CN", "GB"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(w.crossdock.deliveries()) >= 1 }, 2*time.Second, 5*time.Millisecond)

	w.server.Close()
	after := len(w.crossdock.deliveries())
	time.Sleep(500 * time.Millisecond) // PU (216 ms) and EXP_CLR (720 ms) would have fired
	assert.Equal(t, after, len(w.crossdock.deliveries()), "nothing is sent after Close")
	assert.Less(t, after, 9)
	w.server.Close() // idempotent

	// A booking after Close is refused as unavailable, not accepted silently.
	_, err = w.adapters[sandbox.Express].Book(context.Background(), bookRequest("late", "CN", "GB"))
	var apiErr *sandbox.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
}

func TestCarriersChannels(t *testing.T) {
	cs, err := sandbox.Carriers("http://127.0.0.1:8090", secret, nil)
	require.NoError(t, err)
	reg := carriers.NewRegistry(cs...)
	assert.Equal(t, sandbox.Codes, reg.Codes())

	plan := func(from, to string, mod func(*carriers.PlanRequest)) []string {
		req := carriers.PlanRequest{Origin: from, Destination: to, WeightGrams: 500,
			ServiceLevel: logistics.ServiceStandard, Incoterm: logistics.IncotermDAP}
		if mod != nil {
			mod(&req)
		}
		opts, _ := reg.Plan(req)
		var out []string
		for _, o := range opts {
			out = append(out, o.Channel.Carrier+"/"+o.Channel.Service)
		}
		return out
	}
	assert.Equal(t, []string{"sbx_express/express", "sbx_post/tracked_packet", "sbx_consol/standard"}, plan("CN", "GB", nil))
	assert.Equal(t, []string{"sbx_express/express", "sbx_local/standard"}, plan("CN", "PH", nil))
	assert.Equal(t, []string{"sbx_express/express", "sbx_post/tracked_packet"}, plan("CN", "DE", nil))
	assert.Equal(t, []string{"sbx_express/express", "sbx_post/tracked_packet", "sbx_consol/eu_ioss"},
		plan("CN", "DE", func(r *carriers.PlanRequest) { r.TaxIDs.IOSS = "IM2760000001" }))
	assert.Equal(t, []string{"sbx_express/express"}, plan("NL", "US", func(r *carriers.PlanRequest) {
		r.DangerousGoods = []logistics.DangerousGoods{logistics.DGLithiumInEquipment}
	}))
	assert.Empty(t, plan("CN", "GB", func(r *carriers.PlanRequest) {
		r.DangerousGoods = []logistics.DangerousGoods{logistics.DGLithiumStandalone}
	}))
	assert.Equal(t, []string{"sbx_express/express", "sbx_consol/standard"}, plan("CN", "US", func(r *carriers.PlanRequest) {
		r.Incoterm = logistics.IncotermDDP
	}))
}

func ExampleNewServer() {
	srv := sandbox.NewServer(sandbox.Options{Speedup: 3600}) // no CallbackURL: nothing is pushed
	defer srv.Close()
	mux := http.NewServeMux()
	srv.Register(mux)
	network := httptest.NewServer(mux)
	defer network.Close()

	consol, err := sandbox.NewClient(network.URL, sandbox.Consol, "", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := consol.Book(context.Background(), bookRequest("example", "CN", "GB"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, leg := range b.Legs {
		fmt.Println(leg.Sequence, leg.Kind, leg.Carrier)
	}
	// Output:
	// 1 line_haul sbx_consol
	// 2 last_mile sbx_post
}

func TestCloseCancelsPushesInFlight(t *testing.T) {
	arrived := make(chan struct{}, 16)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // lets the server notice the client going away
		arrived <- struct{}{}
		<-r.Context().Done() // a Crossdock that never answers
	}))
	defer hung.Close()
	before := runtime.NumGoroutine()

	srv := sandbox.NewServer(sandbox.Options{CallbackURL: hung.URL, WebhookSecret: secret, Speedup: 1e6})
	mux := http.NewServeMux()
	srv.Register(mux)
	body, _ := json.Marshal(bookRequest("hung", "CN", "GB"))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/carriers/sbx_express/shipments", bytes.NewReader(body)))
	require.Equal(t, http.StatusCreated, rec.Code)
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no push reached the callback")
	}
	require.Greater(t, runtime.NumGoroutine(), before, "a push is in flight")

	start := time.Now()
	srv.Close()
	assert.Less(t, time.Since(start), 2*time.Second, "Close does not wait for a hung Crossdock")
	// Polled by hand: assert.Eventually runs its condition on a goroutine of its own.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "no goroutine outlives Close")
}
