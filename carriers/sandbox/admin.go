package sandbox

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// The admin side of the network tells the truth about what the carriers
// did, so a test (or a curious operator) can compare Crossdock's timeline
// with it: every booking with the scans the carrier emitted, and how hard
// Crossdock called each carrier's API.

// rateWindow is the span a published rate limit counts over: a real
// minute, whatever the speedup, because Crossdock schedules its calls on
// the real clock.
const rateWindow = time.Minute

// traffic counts one carrier's API calls. Only the calls of the last
// rateWindow are kept, so memory stays bounded however long the network runs.
type traffic struct {
	total  int
	recent []time.Time // calls within the last rateWindow, oldest first
	peak   int         // most calls seen within any rateWindow
}

// trafficLog holds the traffic of every carrier. Safe for concurrent use.
type trafficLog struct {
	mu        sync.Mutex
	byCarrier map[string]*traffic
}

func newTrafficLog() *trafficLog { return &trafficLog{byCarrier: map[string]*traffic{}} }

// record counts one call to carrier at now.
func (l *trafficLog) record(carrier string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.byCarrier[carrier]
	if t == nil {
		t = &traffic{}
		l.byCarrier[carrier] = t
	}
	t.total++
	cut := 0
	for cut < len(t.recent) && !t.recent[cut].After(now.Add(-rateWindow)) {
		cut++
	}
	t.recent = append(t.recent[cut:], now)
	t.peak = max(t.peak, len(t.recent))
}

// view returns carrier's counts.
func (l *trafficLog) view(carrier string) trafficView {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := trafficView{Carrier: carrier, RateLimitPerMinute: rateLimitPerMinute(carrier)}
	if t := l.byCarrier[carrier]; t != nil {
		v.Requests, v.PeakPerMinute = t.total, t.peak
	}
	return v
}

// trafficView is one carrier's line of GET /admin/requests.
type trafficView struct {
	Carrier string `json:"carrier"`
	// RateLimitPerMinute is the carrier's published limit (0: none).
	RateLimitPerMinute int `json:"rate_limit_per_minute"`
	// Requests counts every call to the carrier's API, refused ones included.
	Requests int `json:"requests"`
	// PeakPerMinute is the most calls received within any 60 seconds of
	// real time.
	PeakPerMinute int `json:"peak_per_minute"`
}

// bookingView is one booking as GET /admin/shipments shows it.
type bookingView struct {
	parcelView
	IdempotencyKey string    `json:"idempotency_key"`
	MerchantID     string    `json:"merchant_id"`
	OrderID        string    `json:"order_id"`
	BookedAt       time.Time `json:"booked_at"`
	// Replays counts bookings answered from this one because they carried
	// the same idempotency key.
	Replays int `json:"replays"`
	// Partner is the last-mile partner's parcel a consolidator hands over to.
	Partner *parcelView `json:"partner,omitempty"`
}

// parcelView is a parcel and the scans its carrier emitted so far, oldest
// first, whether or not they were pushed.
type parcelView struct {
	Carrier        string      `json:"carrier"`
	Service        string      `json:"service"`
	TrackingNumber string      `json:"tracking_number"`
	State          string      `json:"state"`
	Scans          []wireEvent `json:"scans"`
}

// parcel is sh's view. Callers hold s.mu.
func (sh *shipment) parcel() parcelView {
	return parcelView{Carrier: sh.carrier, Service: sh.service, TrackingNumber: sh.number, State: sh.state(),
		Scans: append([]wireEvent{}, sh.events...)}
}

// listShipments handles GET /admin/shipments[?carrier=]: every booking the
// carriers took (of one carrier, when asked), oldest first.
func (s *Server) listShipments(w http.ResponseWriter, r *http.Request) {
	carrier := r.URL.Query().Get("carrier")
	if carrier != "" && !knownCarrier(carrier) {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the query is invalid",
			[]logistics.FieldProblem{{Field: "carrier", Problem: "must be one of " + strings.Join(Codes, ", ")}})
		return
	}
	s.mu.Lock()
	out := []bookingView{}
	for _, sh := range s.byKey {
		if carrier != "" && sh.carrier != carrier {
			continue
		}
		v := bookingView{parcelView: sh.parcel(), IdempotencyKey: sh.key, MerchantID: sh.merchantID,
			OrderID: sh.orderID, BookedAt: sh.bookedAt, Replays: sh.replays}
		if sh.partner != nil {
			p := sh.partner.parcel()
			v.Partner = &p
		}
		out = append(out, v)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b bookingView) int {
		if c := a.BookedAt.Compare(b.BookedAt); c != 0 {
			return c
		}
		return strings.Compare(a.TrackingNumber, b.TrackingNumber)
	})
	writeJSON(w, http.StatusOK, map[string][]bookingView{"shipments": out})
}

// listRequests handles GET /admin/requests: how many calls each carrier's
// API took from Crossdock, and the busiest minute against its published
// rate limit.
func (s *Server) listRequests(w http.ResponseWriter, _ *http.Request) {
	out := make([]trafficView, 0, len(Codes))
	for _, code := range Codes {
		out = append(out, s.traffic.view(code))
	}
	writeJSON(w, http.StatusOK, map[string][]trafficView{"carriers": out})
}
