package sandbox

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// Options configures the emulated carrier network.
type Options struct {
	// CallbackURL is the Crossdock API base, e.g. http://127.0.0.1:8080;
	// push carriers POST to {CallbackURL}/v1/webhooks/carriers/{carrier}.
	// Empty disables pushes (events stay available to polls).
	CallbackURL string
	// WebhookSecret ("whsec_...") signs pushes to Crossdock with the
	// Standard Webhooks scheme. Without a valid secret nothing is pushed.
	WebhookSecret string
	// Speedup is how many times faster than real time parcels move
	// (CROSSDOCK_SANDBOX_SPEEDUP); values below 1 mean 1.
	Speedup float64
	// Logger receives the network's logs; nil discards them.
	Logger *slog.Logger
	// HTTPClient sends the pushes; nil means a client of the server's own
	// with a 10 s timeout, whose idle connections Close drops.
	HTTPClient *http.Client
	// SlowDelay is how long the slow fault holds each answer; 0 means 5 s.
	SlowDelay time.Duration
}

// maxBody caps request bodies, as Crossdock's own API does.
const maxBody = 1 << 20

// Server is the emulated carrier network: the four sandbox carriers' HTTP
// APIs, the journeys they play after each booking and the fault switch.
// It is safe for concurrent use; state lives in memory only.
type Server struct {
	callbackURL string
	signer      *standardwebhooks.Webhook
	speedup     float64
	slowDelay   time.Duration
	log         *slog.Logger
	client      *http.Client
	ownClient   bool // client was made here and is closed with the server
	faults      *faultSwitch
	limiters    map[string]*rate.Limiter
	traffic     *trafficLog

	// ctx is cancelled by Close to stop slow answers and pushes in flight.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts push goroutines; Add only happens under mu while !closed.
	wg sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	byKey    map[string]*shipment // carrier "|" idempotency key
	byNumber map[string]*shipment // carrier "|" tracking number
	timers   map[*shipment]*time.Timer
	pickups  map[string]carriers.Pickup // carrier "|" reference
}

// NewServer returns a carrier network ready to Register on a mux. Call
// Close to stop its timers and pushes.
func NewServer(opts Options) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, ownClient := opts.HTTPClient, false
	if client == nil {
		// An own transport, so Close can drop its idle connections.
		client = &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
		ownClient = true
	}
	speedup := opts.Speedup
	if speedup < 1 || math.IsNaN(speedup) || math.IsInf(speedup, 0) {
		speedup = 1
	}
	slow := opts.SlowDelay
	if slow <= 0 {
		slow = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		callbackURL: strings.TrimRight(opts.CallbackURL, "/"),
		speedup:     speedup,
		slowDelay:   slow,
		log:         log,
		client:      client,
		ownClient:   ownClient,
		faults:      newFaultSwitch(time.Now),
		limiters:    map[string]*rate.Limiter{},
		traffic:     newTrafficLog(),
		ctx:         ctx,
		cancel:      cancel,
		byKey:       map[string]*shipment{},
		byNumber:    map[string]*shipment{},
		timers:      map[*shipment]*time.Timer{},
		pickups:     map[string]carriers.Pickup{},
	}
	if opts.WebhookSecret == "" {
		log.Warn("sandbox carrier webhook secret missing; pushes disabled")
	} else if wh, err := standardwebhooks.NewWebhook(opts.WebhookSecret); err != nil {
		log.Error("sandbox carrier webhook secret invalid; pushes disabled", "error", err)
	} else {
		s.signer = wh
	}
	for _, code := range Codes {
		if perMin := rateLimitPerMinute(code); perMin > 0 {
			// The limit holds per carrier minute, which the speedup shortens
			// like every other sandbox duration.
			s.limiters[code] = rate.NewLimiter(rate.Limit(float64(perMin)/60*speedup), max(1, perMin/4))
		}
	}
	return s
}

// Register mounts the network's routes on mux:
//
//	POST   /carriers/{carrier}/shipments          book (idempotent on idempotency_key)
//	POST   /carriers/{carrier}/shipments/{number}/void       void the label (idempotent)
//	POST   /carriers/{carrier}/shipments/{number}/address    redirect in transit, body {"ship_to": {...}}
//	POST   /carriers/{carrier}/shipments/{number}/intercept  return to sender (idempotent)
//	GET    /carriers/{carrier}/tracking/{number}  raw scans so far (not sbx_local)
//	GET    /carriers/{carrier}/labels/{number}    the label, text/plain
//	GET    /carriers/{carrier}/scans.csv          every scan as CSV (sbx_local's daily file)
//	PUT    /carriers/{carrier}/manifests/{name}   a batch-only carrier's end-of-day manifest (CSV)
//	POST   /carriers/{carrier}/pickups            schedule a collection (idempotent on its reference)
//	POST   /carriers/{carrier}/shipments/{number}/customs-entry  the importer's entry for the broker
//	POST   /admin/faults                          switch a fault on
//	GET    /admin/faults                          list active faults
//	DELETE /admin/faults[?carrier=]               clear faults
//	GET    /admin/shipments[?carrier=]            every booking with the scans emitted so far
//	GET    /admin/requests                        API calls per carrier and the busiest minute
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /carriers/{carrier}/shipments", s.carrierRoute(s.book))
	mux.HandleFunc("POST /carriers/{carrier}/shipments/{number}/void", s.carrierRoute(s.void))
	mux.HandleFunc("POST /carriers/{carrier}/shipments/{number}/address", s.carrierRoute(s.changeAddress))
	mux.HandleFunc("POST /carriers/{carrier}/shipments/{number}/intercept", s.carrierRoute(s.intercept))
	mux.HandleFunc("GET /carriers/{carrier}/tracking/{number}", s.carrierRoute(s.track))
	mux.HandleFunc("GET /carriers/{carrier}/labels/{number}", s.carrierRoute(s.label))
	mux.HandleFunc("GET /carriers/{carrier}/scans.csv", s.carrierRoute(s.scans))
	mux.HandleFunc("PUT /carriers/{carrier}/manifests/{name}", s.carrierRoute(s.manifest))
	mux.HandleFunc("POST /carriers/{carrier}/pickups", s.carrierRoute(s.schedulePickup))
	mux.HandleFunc("POST /carriers/{carrier}/shipments/{number}/customs-entry", s.carrierRoute(s.customsEntry))
	mux.HandleFunc("POST /admin/faults", s.setFault)
	mux.HandleFunc("GET /admin/faults", s.listFaults)
	mux.HandleFunc("DELETE /admin/faults", s.clearFaults)
	mux.HandleFunc("GET /admin/shipments", s.listShipments)
	mux.HandleFunc("GET /admin/requests", s.listRequests)
}

// Close stops every journey timer and cancels pushes in flight, then waits
// for them to end: nothing is sent after Close returns. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for sh, t := range s.timers {
		t.Stop()
		delete(s.timers, sh)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
}

// outageRetryHint caps the Retry-After of an outage's 503s.
const outageRetryHint = 10 * time.Second

// carrierRoute checks the carrier exists, counts the call against the
// carrier's rate limit (a refused call counts too, as with real carriers)
// and applies the faults that act on every API call (outage, rate_limit,
// slow) before calling h.
func (s *Server) carrierRoute(h func(w http.ResponseWriter, r *http.Request, carrier string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		carrier := r.PathValue("carrier")
		if !knownCarrier(carrier) {
			writeError(w, http.StatusNotFound, "not_found", "unknown carrier "+carrier, nil)
			return
		}
		s.traffic.record(carrier, time.Now())
		if end, ok := s.faults.until(carrier, FaultOutage); ok {
			// A carrier in an outage does not know when it ends: like
			// real ones it asks for a short pause, not the whole outage.
			w.Header().Set("Retry-After", retryAfter(min(time.Until(end), outageRetryHint)))
			writeError(w, http.StatusServiceUnavailable, "unavailable", carrier+" is unavailable (sandbox outage)", nil)
			return
		}
		if end, ok := s.faults.until(carrier, FaultRateLimit); ok {
			w.Header().Set("Retry-After", retryAfter(time.Until(end)))
			writeError(w, http.StatusTooManyRequests, "rate_limited", carrier+" rate limit exceeded (sandbox fault)", nil)
			return
		}
		if s.faults.is(carrier, FaultSlow) {
			t := time.NewTimer(s.slowDelay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-s.ctx.Done():
				t.Stop()
				writeError(w, http.StatusServiceUnavailable, "unavailable", "sandbox shutting down", nil)
				return
			}
		}
		h(w, r, carrier)
	}
}

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// book handles POST /carriers/{carrier}/shipments.
func (s *Server) book(w http.ResponseWriter, r *http.Request, carrier string) {
	if batchOnly(carrier) {
		writeError(w, http.StatusNotFound, codeUnsupported, carrier+" has no booking API: hand parcels over on the end-of-day manifest", nil)
		return
	}
	var req carriers.BookRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid booking: "+err.Error(), nil)
		return
	}
	var problems []logistics.FieldProblem
	if strings.TrimSpace(req.IdempotencyKey) == "" {
		problems = append(problems, logistics.FieldProblem{Field: "idempotency_key", Problem: "is required"})
	}
	if !countryPattern.MatchString(req.ShipFrom.Country) {
		problems = append(problems, logistics.FieldProblem{Field: "ship_from.country", Problem: "must be an ISO 3166-1 alpha-2 code"})
	}
	if !countryPattern.MatchString(req.ShipTo.Country) {
		problems = append(problems, logistics.FieldProblem{Field: "ship_to.country", Problem: "must be an ISO 3166-1 alpha-2 code"})
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the booking is invalid", problems)
		return
	}

	status, answer := s.register(r, carrier, req)
	writeJSON(w, status, answer)
}

// register books req with carrier, or finds the booking made under the same
// idempotency key, and returns the answer to send. The answer is built
// under s.mu and written after it is released.
func (s *Server) register(r *http.Request, carrier string, req carriers.BookRequest) (int, any) {
	return s.registerAs(r, carrier, req, "")
}

// registerAs is register with the tracking number given (a manifest line
// carries the number the shipper allocated from the carrier's range); ""
// mints a fresh one.
func (s *Server) registerAs(r *http.Request, carrier string, req carriers.BookRequest, number string) (int, any) {
	refusal := func(status int, code, message string) (int, any) {
		return status, errorResponse{Error: errorDetail{Code: code, Message: message}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return refusal(http.StatusServiceUnavailable, "unavailable", "sandbox shutting down")
	}
	if sh, ok := s.byKey[carrier+"|"+req.IdempotencyKey]; ok {
		sh.replays++
		return http.StatusOK, sh.resp
	}
	if s.faults.is(carrier, FaultRefuse) {
		return refusal(http.StatusUnprocessableEntity, "refused", carrier+" refused the shipment (sandbox fault)")
	}
	ch, code, reason := acceptance(carrier, req)
	if code != "" {
		return refusal(http.StatusUnprocessableEntity, code, reason)
	}
	now := s.now()
	sh := s.newShipment(carrier, ch.Service, req, number)
	sh.key, sh.merchantID, sh.orderID = req.IdempotencyKey, req.MerchantID, req.OrderID
	total := journeyLength(profiles[carrier].journey)
	if ch.Capabilities.LastMile == logistics.LastMilePartnerHandoff && ch.Capabilities.LastMilePartner != "" {
		partner := ch.Capabilities.LastMilePartner
		sh.partner = s.newShipment(partner, Channels(partner)[0].Service, req, "")
		total += journeyLength(profiles[partner].partnerJourney)
	}
	sh.resp = shipmentResponse{
		Carrier: carrier, Service: ch.Service, TrackingNumber: sh.number,
		LabelURL:          labelURL(r, carrier, sh.number),
		EstimatedDelivery: now.Add(s.scale(total)),
		CreatedAt:         now,
	}
	if sh.partner != nil {
		sh.resp.Partner = &partnerRef{Carrier: sh.partner.carrier, Service: sh.partner.service, TrackingNumber: sh.partner.number}
	}
	s.byKey[carrier+"|"+req.IdempotencyKey] = sh
	s.start(sh, now, profiles[carrier].journey)
	s.log.Info("sandbox shipment booked", "carrier", carrier, "service", ch.Service,
		"tracking_number", sh.number, "order_id", req.OrderID, "lane", logistics.Lane(req.ShipFrom.Country, req.ShipTo.Country))
	return http.StatusCreated, sh.resp
}

// acceptance picks the carrier's channel for a booking and checks what the
// carrier itself would check. It returns a refusal code and reason when the
// carrier will not take the parcel.
func acceptance(carrier string, req carriers.BookRequest) (logistics.Channel, string, string) {
	lane := logistics.Lane(req.ShipFrom.Country, req.ShipTo.Country)
	var ch logistics.Channel
	found := false
	for _, c := range Channels(carrier) {
		if req.Service != "" && c.Service != req.Service {
			continue
		}
		if c.Serves(req.ShipFrom.Country, req.ShipTo.Country) {
			ch, found = c, true
			break
		}
	}
	if !found {
		if req.Service != "" {
			return ch, "destination_not_served", fmt.Sprintf("%s service %q does not serve %s", carrier, req.Service, lane)
		}
		return ch, "destination_not_served", fmt.Sprintf("%s does not serve %s", carrier, lane)
	}
	weight := req.Parcel.WeightGrams
	if weight == 0 {
		for _, it := range req.Items {
			weight += it.WeightGrams * it.Quantity
		}
	}
	if limit := ch.Capabilities.MaxWeightGrams; limit > 0 && weight > limit {
		return ch, "too_heavy", fmt.Sprintf("parcel of %d g exceeds %s's limit of %d g", weight, carrier, limit)
	}
	for _, it := range req.Items {
		if !ch.Capabilities.Accepts(it.DangerousGoods) {
			return ch, "dangerous_goods_refused", fmt.Sprintf("%s does not carry %s (sku %s)", carrier, it.DangerousGoods, it.SKU)
		}
	}
	for _, id := range ch.Capabilities.TaxIDsRequired {
		if id == "ioss" && strings.TrimSpace(req.TaxIDs.IOSS) == "" ||
			id == "eori" && strings.TrimSpace(req.TaxIDs.EORI) == "" ||
			id == "uk_vat" && strings.TrimSpace(req.TaxIDs.UKVAT) == "" {
			return ch, "tax_id_required", fmt.Sprintf("%s service %s requires the %s number", carrier, ch.Service, id)
		}
	}
	return ch, "", ""
}

// track handles GET /carriers/{carrier}/tracking/{number}.
func (s *Server) track(w http.ResponseWriter, r *http.Request, carrier string) {
	if trackingMode(carrier) == logistics.TrackingNone {
		writeError(w, http.StatusNotFound, "not_found", carrier+" offers no tracking API", nil)
		return
	}
	if lim := s.limiters[carrier]; lim != nil {
		res := lim.Reserve()
		if d := res.Delay(); d > 0 {
			res.Cancel()
			w.Header().Set("Retry-After", retryAfter(d))
			writeError(w, http.StatusTooManyRequests, "rate_limited", carrier+" tracking rate limit exceeded", nil)
			return
		}
	}
	s.mu.Lock()
	sh, ok := s.byNumber[carrier+"|"+r.PathValue("number")]
	var body trackingResponse
	if ok {
		body = sh.view()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "unknown tracking number", nil)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// label handles GET /carriers/{carrier}/labels/{number}: a plain-text
// 4x6-style label, enough to print and to check by eye.
func (s *Server) label(w http.ResponseWriter, r *http.Request, carrier string) {
	s.mu.Lock()
	sh, ok := s.byNumber[carrier+"|"+r.PathValue("number")]
	var from, to logistics.Address
	var service string
	var voided bool
	if ok {
		from, to, service, voided = sh.from, sh.to, sh.service, sh.voided
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "unknown tracking number", nil)
		return
	}
	if voided {
		writeError(w, http.StatusGone, "voided", "the label was voided", nil)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%s  %s  (SANDBOX - NOT A REAL LABEL)\n\nFROM: %s\n      %s\n      %s %s %s\n\nTO:   %s\n      %s %s\n      %s %s %s\n      %s\n\n*%s*\n",
		strings.ToUpper(carrier), service,
		from.Name, from.Line1, from.PostalCode, from.City, from.Country,
		to.Name, to.Line1, to.Line2, to.PostalCode, to.City, to.Region, to.Country,
		r.PathValue("number"))
}

// scans handles GET /carriers/{carrier}/scans.csv: every scan the carrier
// made, oldest first per parcel. It stands in for the end-of-day scan file a
// courier with no API e-mails to its customers.
func (s *Server) scans(w http.ResponseWriter, _ *http.Request, carrier string) {
	s.mu.Lock()
	var rows [][]string
	for _, sh := range s.byNumber {
		if sh.carrier != carrier {
			continue
		}
		for _, ev := range sh.events {
			rows = append(rows, []string{sh.number, ev.Code, ev.Description,
				ev.OccurredAt.Format(time.RFC3339Nano), ev.Location.City, ev.Location.Country})
		}
	}
	s.mu.Unlock()
	sortRows(rows)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"tracking_number", "code", "description", "occurred_at", "city", "country"})
	_ = cw.WriteAll(rows) // a write error means the client went away
}

// setFault handles POST /admin/faults.
func (s *Server) setFault(w http.ResponseWriter, r *http.Request) {
	var req faultRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid fault: "+err.Error(), nil)
		return
	}
	var problems []logistics.FieldProblem
	if req.Carrier != allCarriers && !knownCarrier(req.Carrier) {
		problems = append(problems, logistics.FieldProblem{Field: "carrier", Problem: "must be one of " + strings.Join(Codes, ", ") + " or *"})
	}
	if !validFaultKind(req.Kind) {
		problems = append(problems, logistics.FieldProblem{Field: "kind", Problem: "must be one of " + strings.Join(FaultKinds, ", ")})
	}
	if req.DurationS < 0 {
		problems = append(problems, logistics.FieldProblem{Field: "duration_s", Problem: "must not be negative"})
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the fault is invalid", problems)
		return
	}
	d := time.Duration(req.DurationS) * time.Second
	if d == 0 {
		d = defaultFaultDuration
	}
	v := s.faults.set(req.Carrier, req.Kind, d)
	s.log.Info("sandbox fault set", "carrier", v.Carrier, "kind", v.Kind, "duration_s", v.DurationS)
	writeJSON(w, http.StatusCreated, v)
}

// listFaults handles GET /admin/faults.
func (s *Server) listFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string][]faultView{"faults": s.faults.list()})
}

// clearFaults handles DELETE /admin/faults.
func (s *Server) clearFaults(w http.ResponseWriter, r *http.Request) {
	carrier := r.URL.Query().Get("carrier")
	s.faults.clear(carrier)
	s.resumeHeld(carrier)
	s.log.Info("sandbox faults cleared", "carrier", carrier)
	w.WriteHeader(http.StatusNoContent)
}

// labelURL is where the label of number can be fetched, on the host the
// caller used to reach the sandbox.
func labelURL(r *http.Request, carrier, number string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/carriers/" + carrier + "/labels/" + number
}

// retryAfter renders d as whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("larger than %d bytes", maxBody)
		}
		return fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client went away
}

func writeError(w http.ResponseWriter, status int, code, message string, details []logistics.FieldProblem) {
	writeJSON(w, status, errorResponse{Error: errorDetail{Code: code, Message: message, Details: details}})
}
