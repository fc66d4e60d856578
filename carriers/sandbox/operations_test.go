package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/logistics"
)

// trackedCodes polls the carrier for trackingNumber's raw codes.
func trackedCodes(t *testing.T, c *sandbox.Client, trackingNumber string) []string {
	t.Helper()
	evs, err := c.Track(context.Background(), trackingNumber)
	require.NoError(t, err)
	var out []string
	for _, ev := range evs {
		out = append(out, ev.RawCode)
	}
	return out
}

// waitForCode waits until the carrier has scanned code for trackingNumber.
func waitForCode(t *testing.T, c *sandbox.Client, trackingNumber, code string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return slices.Contains(trackedCodes(t, c, trackingNumber), code)
	}, 10*time.Second, 2*time.Millisecond, "waiting for %s", code)
}

// refusalCode returns the carrier's error code of a refusal.
func refusalCode(t *testing.T, err error) string {
	t.Helper()
	require.ErrorIs(t, err, carriers.ErrRefused)
	require.NotErrorIs(t, err, carriers.ErrUnsupported)
	var apiErr *sandbox.APIError
	require.ErrorAs(t, err, &apiErr)
	return apiErr.Code
}

func manchester() logistics.Address {
	return logistics.Address{Name: "Ada Lovelace", Line1: "1 Piccadilly", City: "Manchester", PostalCode: "M1 1AA", Country: "GB"}
}

func TestChannelsDeclareWhatTheAdaptersDo(t *testing.T) {
	for _, code := range sandbox.Codes {
		c, err := sandbox.NewClient("http://127.0.0.1:1", code, "", nil)
		require.NoError(t, err)
		for _, ch := range c.Channels() {
			t.Run(code+"/"+ch.Service, func(t *testing.T) {
				// The client answers ErrUnsupported from the channel data
				// alone, before any call (nothing listens on port 1).
				ctx := context.Background()
				if ch.Capabilities.VoidWindow == 0 {
					assert.ErrorIs(t, c.Void(ctx, "X"), carriers.ErrUnsupported)
				} else {
					assert.NotErrorIs(t, c.Void(ctx, "X"), carriers.ErrUnsupported)
				}
				if !ch.Capabilities.AddressChange {
					assert.ErrorIs(t, c.ChangeAddress(ctx, "X", manchester()), carriers.ErrUnsupported)
				} else {
					assert.NotErrorIs(t, c.ChangeAddress(ctx, "X", manchester()), carriers.ErrUnsupported)
				}
			})
		}
	}
	caps := func(code string) logistics.Capabilities { return sandbox.Channels(code)[0].Capabilities }
	assert.Equal(t, 24*time.Hour, caps(sandbox.Express).VoidWindow)
	assert.True(t, caps(sandbox.Express).AddressChange)
	assert.Zero(t, caps(sandbox.Post).VoidWindow, "a posted item is never voided")
	assert.False(t, caps(sandbox.Post).AddressChange)
	assert.Positive(t, caps(sandbox.Consol).VoidWindow, "the consolidator voids until its line haul departs")
	assert.False(t, caps(sandbox.Consol).AddressChange)
	assert.Zero(t, caps(sandbox.Local).VoidWindow)
	assert.False(t, caps(sandbox.Local).AddressChange)

	ctx := context.Background()
	for code, want := range map[string]bool{sandbox.Express: true, sandbox.Post: true, sandbox.Consol: false, sandbox.Local: false} {
		c, err := sandbox.NewClient("http://127.0.0.1:1", code, "", &http.Client{Timeout: time.Second})
		require.NoError(t, err)
		err = c.Intercept(ctx, "X")
		if want {
			assert.NotErrorIs(t, err, carriers.ErrUnsupported, code)
		} else {
			assert.ErrorIs(t, err, carriers.ErrUnsupported, code)
			assert.NotErrorIs(t, err, carriers.ErrRefused, code)
		}
	}
}

func TestVoidBeforePickupStopsTheJourney(t *testing.T) {
	w := newWorld(t, 36000) // express picks up 600 ms after booking
	ctx := context.Background()
	express := w.adapters[sandbox.Express]
	b, err := express.Book(ctx, bookRequest("void", "CN", "GB"))
	require.NoError(t, err)
	kept, err := express.Book(ctx, bookRequest("kept", "CN", "GB"))
	require.NoError(t, err)

	require.NoError(t, express.Void(ctx, b.TrackingNumber))
	require.NoError(t, express.Void(ctx, b.TrackingNumber), "a void is idempotent")

	waitForCode(t, express, kept.TrackingNumber, "PU")
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, []string{"MAN"}, trackedCodes(t, express, b.TrackingNumber), "no scan is served after the void")
	var pushed []string
	for _, d := range w.crossdock.deliveries() {
		for _, ev := range d.events {
			if ev.TrackingNumber == b.TrackingNumber {
				pushed = append(pushed, ev.RawCode)
			}
		}
	}
	assert.Equal(t, []string{"MAN"}, pushed, "no scan is pushed after the void")

	resp, err := http.Get(b.LabelURL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusGone, resp.StatusCode, "a voided label is no longer served")

	assert.Equal(t, "voided", refusalCode(t, express.ChangeAddress(ctx, b.TrackingNumber, manchester())))
	assert.Equal(t, "voided", refusalCode(t, express.Intercept(ctx, b.TrackingNumber)))
	assert.Equal(t, "not_found", refusalCode(t, express.Void(ctx, "SBX0000000000")), "an unknown label is final")
}

func TestVoidAfterPickupIsRefused(t *testing.T) {
	w := newWorld(t, 1e5) // express picks up 216 ms after booking
	ctx := context.Background()
	express := w.adapters[sandbox.Express]
	b, err := express.Book(ctx, bookRequest("late-void", "CN", "GB"))
	require.NoError(t, err)
	waitForCode(t, express, b.TrackingNumber, "PU")

	assert.Equal(t, "already_collected", refusalCode(t, express.Void(ctx, b.TrackingNumber)))
	waitForCode(t, express, b.TrackingNumber, "EXP_CLR") // the journey goes on
}

func TestVoidWindowFollowsTheSandboxClock(t *testing.T) {
	w := newWorld(t, 1e5) // express's 24 h void window lasts 864 ms
	ctx := context.Background()
	express := w.adapters[sandbox.Express]
	w.fault(t, sandbox.Express, sandbox.FaultStall, 3) // the parcel is never collected meanwhile
	b, err := express.Book(ctx, bookRequest("window", "CN", "GB"))
	require.NoError(t, err)
	time.Sleep(time.Second)
	assert.Empty(t, trackedCodes(t, express, b.TrackingNumber), "stalled before the first scan")
	assert.Equal(t, "void_window_closed", refusalCode(t, express.Void(ctx, b.TrackingNumber)))
}

func TestConsolVoidsUntilTheLineHaulDeparts(t *testing.T) {
	w := newWorld(t, 1e5) // inbound at 360 ms, line haul departs at 1.44 s
	ctx := context.Background()
	consol := w.adapters[sandbox.Consol]
	early, err := consol.Book(ctx, bookRequest("consol-early", "CN", "GB"))
	require.NoError(t, err)
	late, err := consol.Book(ctx, bookRequest("consol-late", "CN", "GB"))
	require.NoError(t, err)

	waitForCode(t, consol, early.TrackingNumber, "SC_INBOUND_SUCCESS")
	require.NoError(t, consol.Void(ctx, early.TrackingNumber), "collected but the line haul has not left")

	waitForCode(t, consol, late.TrackingNumber, "LH_DEPART")
	assert.Equal(t, "already_collected", refusalCode(t, consol.Void(ctx, late.TrackingNumber)))
	assert.Equal(t, []string{"GWMS_ACCEPT", "SC_INBOUND_SUCCESS"}, trackedCodes(t, consol, early.TrackingNumber),
		"the voided booking's line haul never departs")

	// The partner's parcel is the post's: it neither voids nor intercepts
	// before the hand-over.
	post := w.adapters[sandbox.Post]
	assert.ErrorIs(t, post.Void(ctx, late.Legs[1].TrackingNumber), carriers.ErrUnsupported)
	assert.Equal(t, "not_in_custody", refusalCode(t, post.Intercept(ctx, late.Legs[1].TrackingNumber)))
	assert.ErrorIs(t, consol.Intercept(ctx, late.TrackingNumber), carriers.ErrUnsupported)
	assert.ErrorIs(t, consol.ChangeAddress(ctx, late.TrackingNumber, manchester()), carriers.ErrUnsupported)
}

func TestUnsupportedOnTheWireIsNotARefusal(t *testing.T) {
	w := newWorld(t, 1)
	b, err := w.adapters[sandbox.Post].Book(context.Background(), bookRequest("post-void", "CN", "GB"))
	require.NoError(t, err)
	for _, action := range []string{"void", "address"} {
		body := `{}`
		if action == "address" {
			raw, _ := json.Marshal(map[string]any{"ship_to": manchester()})
			body = string(raw)
		}
		resp, err := http.Post(w.url+"/carriers/sbx_post/shipments/"+b.TrackingNumber+"/"+action, "application/json", bytes.NewBufferString(body))
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, action)
		assert.Contains(t, string(raw), `"code":"unsupported"`, action)
	}

	// An adapter hearing "unsupported" from a carrier reports ErrUnsupported.
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"error":{"code":"unsupported","message":"not on this service"}}`)
	}))
	defer fake.Close()
	express, err := sandbox.NewClient(fake.URL, sandbox.Express, "", nil)
	require.NoError(t, err)
	err = express.Void(context.Background(), "SBX1")
	assert.ErrorIs(t, err, carriers.ErrUnsupported)
	assert.NotErrorIs(t, err, carriers.ErrRefused)
}

func TestChangeAddressRedirectsLaterScans(t *testing.T) {
	w := newWorld(t, 2e5) // the express journey takes about 1.7 s
	ctx := context.Background()
	express := w.adapters[sandbox.Express]
	b, err := express.Book(ctx, bookRequest("redirect", "CN", "GB"))
	require.NoError(t, err)

	require.NoError(t, express.ChangeAddress(ctx, b.TrackingNumber, manchester()))
	require.NoError(t, express.ChangeAddress(ctx, b.TrackingNumber, manchester()), "an address change is idempotent")
	paris := manchester()
	paris.City, paris.PostalCode, paris.Country = "Paris", "75001", "FR"
	assert.Equal(t, "country_change", refusalCode(t, express.ChangeAddress(ctx, b.TrackingNumber, paris)))
	assert.Equal(t, "invalid_request", refusalCode(t, express.ChangeAddress(ctx, b.TrackingNumber, logistics.Address{Country: "GB"})))

	resp, err := http.Get(b.LabelURL)
	require.NoError(t, err)
	label, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(label), "Manchester")

	waitForCode(t, express, b.TrackingNumber, "DLV")
	evs, err := express.Track(ctx, b.TrackingNumber)
	require.NoError(t, err)
	for _, ev := range evs {
		if ev.Location.Country == "GB" {
			assert.Equal(t, "Manchester", ev.Location.City, ev.RawCode)
		}
	}
	assert.Equal(t, logistics.StatusDelivered, finalStatus(evs))
	assert.Equal(t, "completed", refusalCode(t, express.ChangeAddress(ctx, b.TrackingNumber, manchester())))
	assert.Equal(t, "completed", refusalCode(t, express.Intercept(ctx, b.TrackingNumber)))
}

func TestOutForDeliveryCannotBeRedirectedNorIntercepted(t *testing.T) {
	w := newWorld(t, 1e6)
	// Failed attempts keep the parcel out for delivery for about 200 ms.
	w.fault(t, sandbox.Express, sandbox.FaultFailedAttempt, 30)
	ctx := context.Background()
	express := w.adapters[sandbox.Express]
	b, err := express.Book(ctx, bookRequest("ofd", "CN", "GB"))
	require.NoError(t, err)
	waitForCode(t, express, b.TrackingNumber, "OFD")
	assert.Equal(t, "out_for_delivery", refusalCode(t, express.ChangeAddress(ctx, b.TrackingNumber, manchester())))
	assert.Equal(t, "out_for_delivery", refusalCode(t, express.Intercept(ctx, b.TrackingNumber)))
}

func TestInterceptReturnsTheParcelToTheShipper(t *testing.T) {
	w := newWorld(t, 2e5) // departs at 540 ms; the return takes 860 ms
	ctx := context.Background()
	express := w.adapters[sandbox.Express]
	b, err := express.Book(ctx, bookRequest("intercept", "CN", "GB"))
	require.NoError(t, err)
	waitForCode(t, express, b.TrackingNumber, "DEP")

	require.NoError(t, express.Intercept(ctx, b.TrackingNumber))
	require.NoError(t, express.Intercept(ctx, b.TrackingNumber), "an intercept is idempotent")
	assert.Equal(t, "returning", refusalCode(t, express.ChangeAddress(ctx, b.TrackingNumber, manchester())))
	assert.Equal(t, "returning", refusalCode(t, express.Void(ctx, b.TrackingNumber)))

	waitForCode(t, express, b.TrackingNumber, "DLV")
	evs, err := express.Track(ctx, b.TrackingNumber)
	require.NoError(t, err)
	var codes []string
	for _, ev := range evs {
		codes = append(codes, ev.RawCode)
	}
	assert.Equal(t, []string{"MAN", "PU", "EXP_CLR", "DEP", "RTS", "DLV"}, codes, "the journey switched to the return")
	rts, back := evs[4], evs[5]
	assert.Equal(t, logistics.StatusReturnToSender, rts.Status)
	assert.Equal(t, logistics.PhaseReturn, rts.Phase)
	assert.Equal(t, logistics.Location{City: "Shenzhen", Country: "CN"}, rts.Location, "turned back where it was last scanned")
	assert.Equal(t, logistics.StatusDelivered, back.Status)
	assert.GreaterOrEqual(t, back.OccurredAt.Sub(rts.OccurredAt), 40*time.Hour/2e5, // 47 h, less timer slack
		"the return plays on the sandbox clock, not on the forward journey's timers")
	assert.Equal(t, logistics.Location{City: "Shenzhen", Country: "CN"}, back.Location, "delivered back to the shipper")
	assert.Equal(t, logistics.StatusDelivered, finalStatus(evs))

	require.Eventually(t, func() bool { return slices.Contains(w.crossdock.codes(), "RTS") }, 5*time.Second, 5*time.Millisecond,
		"the return is pushed like any scan")
	time.Sleep(100 * time.Millisecond)
	assert.NotContains(t, w.crossdock.codes(), "ARR", "the forward journey stopped")
	require.NoError(t, express.Intercept(ctx, b.TrackingNumber), "a returned parcel stays intercepted")
}

func TestPostInterceptsInTransit(t *testing.T) {
	w := newWorld(t, 1e5)
	ctx := context.Background()
	post := w.adapters[sandbox.Post]
	b, err := post.Book(ctx, bookRequest("post-intercept", "CN", "GB"))
	require.NoError(t, err)
	waitForCode(t, post, b.TrackingNumber, "EMA")
	require.NoError(t, post.Intercept(ctx, b.TrackingNumber))
	waitForCode(t, post, b.TrackingNumber, "RTN")
	assert.NotContains(t, trackedCodes(t, post, b.TrackingNumber), "EMC")
}

func TestCloseAfterCompensationsLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv := sandbox.NewServer(sandbox.Options{Speedup: 1e5})
		mux := http.NewServeMux()
		srv.Register(mux)
		network := httptest.NewServer(mux)
		defer network.Close()
		defer srv.Close()
		transport := http.DefaultTransport.(*http.Transport).Clone()
		defer transport.CloseIdleConnections()
		hc := &http.Client{Timeout: 5 * time.Second, Transport: transport}
		express, err := sandbox.NewClient(network.URL, sandbox.Express, "", hc)
		require.NoError(t, err)
		ctx := context.Background()
		var numbers []string
		for _, key := range []string{"c1", "c2", "c3"} {
			b, err := express.Book(ctx, bookRequest(key, "CN", "GB"))
			require.NoError(t, err)
			numbers = append(numbers, b.TrackingNumber)
		}
		require.NoError(t, express.Void(ctx, numbers[0]))
		require.NoError(t, express.ChangeAddress(ctx, numbers[1], manchester()))
		require.NoError(t, express.Intercept(ctx, numbers[2]))
	}()
	// Polled by hand: assert.Eventually runs its condition on a goroutine of its own.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "no goroutine outlives Close")
	time.Sleep(100 * time.Millisecond) // the return journey's first scan was due at 36 ms
	assert.LessOrEqual(t, runtime.NumGoroutine(), before, "no timer wakes up after Close")
}

func TestSchedulePickup(t *testing.T) {
	w := newWorld(t, 3600)
	ctx := context.Background()
	express := w.adapters[sandbox.Express]
	b, err := express.Book(ctx, bookRequest("pickup", "CN", "GB"))
	require.NoError(t, err)
	req := carriers.PickupRequest{Reference: "order/m/o-1/sbx_express",
		Address: logistics.Address{Name: "Shenzhen DC", Line1: "1 Bao'an Rd", City: "Shenzhen", Country: "CN"},
		ReadyAt: time.Now(), TrackingNumbers: []string{b.TrackingNumber}, WeightGrams: 400}
	p, err := express.SchedulePickup(ctx, req)
	require.NoError(t, err)
	assert.Regexp(t, `^PU[0-9]{8}$`, p.Confirmation)
	assert.True(t, p.WindowEnd.After(p.WindowStart))
	again, err := express.SchedulePickup(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, p, again, "idempotent on the reference")

	unknown := req
	unknown.Reference, unknown.TrackingNumbers = "other", []string{"SBX0000000000"}
	_, err = express.SchedulePickup(ctx, unknown)
	assert.ErrorIs(t, err, carriers.ErrRefused, "a parcel the carrier does not know")
	_, err = w.adapters[sandbox.Post].SchedulePickup(ctx, req)
	assert.ErrorIs(t, err, carriers.ErrUnsupported, "the post collects on its round")
}
