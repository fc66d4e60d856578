package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/warehouses"
)

// Options configures the emulated warehouses.
type Options struct {
	// CallbackURL is the Crossdock API base, e.g. http://127.0.0.1:8080;
	// confirmations go to {CallbackURL}/v1/webhooks/warehouses/{id}.
	CallbackURL string
	// WebhookSecret ("whsec_...") signs confirmations with the Standard
	// Webhooks scheme. Without a valid secret nothing is sent.
	WebhookSecret string
	// Speedup is how many times faster than real time picks happen
	// (CROSSDOCK_SANDBOX_SPEEDUP); values below 1 mean 1.
	Speedup float64
	// Logger receives the warehouses' logs; nil discards them.
	Logger *slog.Logger
	// HTTPClient sends the confirmations; nil means a client of the
	// server's own with a 10 s timeout, whose idle connections Close drops.
	HTTPClient *http.Client
}

// pickDelay is how long a pick and pack takes in real-world time.
const pickDelay = 2 * time.Hour

// retrySchedule is the real-world wait before each redelivery of a failed
// confirmation; divided by the speedup, floored at minRetry doubled per
// attempt so Crossdock gets a few seconds to come back at any speedup.
var retrySchedule = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

const minRetry = 100 * time.Millisecond

const maxBody = 1 << 20

// Server is the emulated warehouse network. It keeps picks in memory, is
// safe for concurrent use, and must be closed to stop its timers.
type Server struct {
	callbackURL string
	signer      *standardwebhooks.Webhook
	speedup     float64
	log         *slog.Logger
	client      *http.Client
	ownClient   bool // client was made here and is closed with the server

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // confirmations in flight; Add only under mu while !closed

	mu     sync.Mutex
	closed bool
	picks  map[string]*pickJob // warehouse "|" idempotency key
	timers map[*pickJob]*time.Timer
}

// Pick statuses besides the confirmation types (packed, short_pick,
// out_of_stock) a pick takes once picked.
const (
	pickAccepted = "accepted" // waiting for its timer
	pickReleased = "released" // cancelled, or its packed stock put back
)

// pickJob is one accepted pick request.
type pickJob struct {
	ID          string     `json:"pick_id"`
	WarehouseID string     `json:"warehouse_id"`
	Status      string     `json:"status"`
	AcceptedAt  time.Time  `json:"accepted_at"`
	ReleasedAt  *time.Time `json:"released_at,omitempty"`
	req         warehouses.PickRequest
}

// NewServer returns the warehouse network, ready to Register on a mux.
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
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		callbackURL: strings.TrimRight(opts.CallbackURL, "/"),
		speedup:     speedup,
		log:         log,
		client:      client,
		ownClient:   ownClient,
		ctx:         ctx,
		cancel:      cancel,
		picks:       map[string]*pickJob{},
		timers:      map[*pickJob]*time.Timer{},
	}
	if opts.WebhookSecret == "" {
		log.Warn("sandbox warehouse webhook secret missing; confirmations disabled")
	} else if wh, err := standardwebhooks.NewWebhook(opts.WebhookSecret); err != nil {
		log.Error("sandbox warehouse webhook secret invalid; confirmations disabled", "error", err)
	} else {
		s.signer = wh
	}
	return s
}

// Register mounts the warehouses' routes on mux:
//
//	POST /warehouses/{id}/picks           request a pick (202; idempotent on idempotency_key)
//	POST /warehouses/{id}/picks/release   release a pick (200; idempotent, unknown picks included)
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /warehouses/{id}/picks", s.requestPick)
	mux.HandleFunc("POST /warehouses/{id}/picks/release", s.releasePick)
}

// Close stops pending picks and cancels confirmations in flight, then waits
// for them: nothing is sent after Close returns. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for job, t := range s.timers {
		t.Stop()
		delete(s.timers, job)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
}

// requestPick handles POST /warehouses/{id}/picks.
func (s *Server) requestPick(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !knownWarehouse(id) {
		writeError(w, http.StatusNotFound, "not_found", "unknown warehouse "+id, nil)
		return
	}
	var req warehouses.PickRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid pick request", nil)
		return
	}
	if problems := validate(req); len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the pick request is invalid", problems)
		return
	}

	job, ok := s.accept(id, req)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "sandbox shutting down", nil)
		return
	}
	writeJSON(w, http.StatusAccepted, job)
}

// accept records a pick and arms its timer, or finds the pick made under
// the same idempotency key. It returns a copy of the pick, or false once
// the server is closed.
func (s *Server) accept(id string, req warehouses.PickRequest) (pickJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pickJob{}, false
	}
	key := id + "|" + req.IdempotencyKey
	if job, ok := s.picks[key]; ok {
		return *job, true
	}
	job := &pickJob{ID: "pick_" + ulid.Make().String(), WarehouseID: id, Status: pickAccepted, AcceptedAt: time.Now().UTC(), req: req}
	s.picks[key] = job
	s.timers[job] = time.AfterFunc(time.Duration(float64(pickDelay)/s.speedup), func() { s.complete(job) })
	s.log.Info("sandbox pick accepted", "warehouse_id", id, "merchant_id", req.MerchantID, "order_id", req.OrderID, "pick_id", job.ID)
	return *job, true
}

// releasePick handles POST /warehouses/{id}/picks/release.
func (s *Server) releasePick(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !knownWarehouse(id) {
		writeError(w, http.StatusNotFound, "not_found", "unknown warehouse "+id, nil)
		return
	}
	var req warehouses.ReleaseRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid release request", nil)
		return
	}
	var problems []logistics.FieldProblem
	for _, f := range []struct{ name, value string }{
		{"idempotency_key", req.IdempotencyKey}, {"merchant_id", req.MerchantID}, {"order_id", req.OrderID},
	} {
		if strings.TrimSpace(f.value) == "" {
			problems = append(problems, logistics.FieldProblem{Field: f.name, Problem: "is required"})
		}
	}
	if len(problems) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "the release request is invalid", problems)
		return
	}
	jobs, status, msg := s.release(id, req)
	if status != http.StatusOK {
		code := "unavailable"
		if status == http.StatusConflict {
			code = "conflict"
		}
		writeError(w, status, code, msg, nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]pickJob{"picks": jobs})
}

// release releases the pick requested under req.IdempotencyKey or, when no
// pick has that key, every pick of the order. A pending pick's timer is
// stopped so no confirmation follows; a confirmed pick's stock goes back
// on the shelf. When nothing matches, the key is recorded as released so a
// pick requested later under it is never picked. It returns copies of the
// released picks, or a failure status and message.
func (s *Server) release(id string, req warehouses.ReleaseRequest) ([]pickJob, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, http.StatusServiceUnavailable, "sandbox shutting down"
	}
	now := time.Now().UTC()
	var jobs []*pickJob
	if job, ok := s.picks[id+"|"+req.IdempotencyKey]; ok {
		if job.req.MerchantID != req.MerchantID || job.req.OrderID != req.OrderID {
			return nil, http.StatusConflict, "the pick of that idempotency key belongs to another order"
		}
		jobs = append(jobs, job)
	} else {
		for _, job := range s.picks {
			if job.WarehouseID == id && job.req.MerchantID == req.MerchantID && job.req.OrderID == req.OrderID {
				jobs = append(jobs, job)
			}
		}
	}
	if len(jobs) == 0 {
		job := &pickJob{ID: "pick_" + ulid.Make().String(), WarehouseID: id, Status: pickReleased, AcceptedAt: now, ReleasedAt: &now,
			req: warehouses.PickRequest{IdempotencyKey: req.IdempotencyKey, MerchantID: req.MerchantID, OrderID: req.OrderID}}
		s.picks[id+"|"+req.IdempotencyKey] = job
		s.log.Info("sandbox release of unknown pick recorded", "warehouse_id", id, "merchant_id", req.MerchantID, "order_id", req.OrderID)
		return []pickJob{*job}, http.StatusOK, ""
	}
	out := make([]pickJob, 0, len(jobs))
	for _, job := range jobs {
		if job.Status != pickReleased {
			if t, ok := s.timers[job]; ok {
				t.Stop()
				delete(s.timers, job)
			}
			s.log.Info("sandbox pick released", "warehouse_id", id, "merchant_id", req.MerchantID, "order_id", req.OrderID,
				"pick_id", job.ID, "was", job.Status)
			job.Status, job.ReleasedAt = pickReleased, &now
		}
		out = append(out, *job)
	}
	return out, http.StatusOK, ""
}

func validate(req warehouses.PickRequest) []logistics.FieldProblem {
	var p []logistics.FieldProblem
	if strings.TrimSpace(req.IdempotencyKey) == "" {
		p = append(p, logistics.FieldProblem{Field: "idempotency_key", Problem: "is required"})
	}
	if strings.TrimSpace(req.MerchantID) == "" {
		p = append(p, logistics.FieldProblem{Field: "merchant_id", Problem: "is required"})
	}
	if strings.TrimSpace(req.OrderID) == "" {
		p = append(p, logistics.FieldProblem{Field: "order_id", Problem: "is required"})
	}
	if len(req.Items) == 0 {
		p = append(p, logistics.FieldProblem{Field: "items", Problem: "must contain at least one item"})
	}
	for i, it := range req.Items {
		if it.Quantity < 1 {
			p = append(p, logistics.FieldProblem{Field: fmt.Sprintf("items[%d].quantity", i), Problem: "must be at least 1"})
		}
		if it.WeightGrams < 1 {
			p = append(p, logistics.FieldProblem{Field: fmt.Sprintf("items[%d].weight_grams", i), Problem: "must be a positive number of grams"})
		}
	}
	return p
}

// complete finishes a pick and sends its confirmation.
func (s *Server) complete(job *pickJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A release may have won the lock after this timer fired.
	if s.closed || job.Status != pickAccepted {
		return
	}
	delete(s.timers, job)
	out := pick(job.req.Items)
	job.Status = string(out.kind)
	webhookID := "msg_" + ulid.Make().String()
	ev := logistics.WarehouseEvent{
		ID: webhookID, Type: out.kind, WarehouseID: job.WarehouseID,
		MerchantID: job.req.MerchantID, OrderID: job.req.OrderID,
		Parcels: out.parcels, Reason: out.reason, OccurredAt: time.Now().UTC(),
	}
	log := s.log.With("warehouse_id", job.WarehouseID, "order_id", job.req.OrderID, "type", string(out.kind))
	switch {
	case s.callbackURL == "":
		log.Debug("sandbox confirmation skipped: no callback url")
		return
	case s.signer == nil:
		log.Warn("sandbox confirmation skipped: no webhook secret")
		return
	}
	body, err := json.Marshal(ev)
	if err != nil {
		log.Error("sandbox confirmation not encoded", "error", err)
		return
	}
	s.wg.Add(1)
	go s.deliver(s.callbackURL+"/v1/webhooks/warehouses/"+job.WarehouseID, webhookID, body)
}

// deliver posts one confirmation until acknowledged, retrying network
// errors, 408, 429 and 5xx with backoff under the same webhook-id.
func (s *Server) deliver(url, id string, body []byte) {
	defer s.wg.Done()
	log := s.log.With("url", url, "webhook_id", id)
	for attempt := 0; ; attempt++ {
		retry, err := postSigned(s.ctx, s.client, s.signer, url, id, body)
		if err == nil {
			log.Debug("sandbox confirmation delivered", "attempt", attempt+1)
			return
		}
		if !retry || attempt >= len(retrySchedule) {
			log.Warn("sandbox confirmation abandoned", "attempt", attempt+1, "error", err)
			return
		}
		wait := max(time.Duration(float64(retrySchedule[attempt])/s.speedup), minRetry<<attempt)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
}

// postSigned sends one signed webhook and reports whether a failure is
// worth retrying.
func postSigned(ctx context.Context, client *http.Client, signer *standardwebhooks.Webhook, url, id string, body []byte) (retry bool, err error) {
	now := time.Now()
	sig, err := signer.Sign(id, now, body)
	if err != nil {
		return false, fmt.Errorf("sign webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(standardwebhooks.HeaderWebhookID, id)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drain so the connection is reused
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return false, fmt.Errorf("webhook answered %s", resp.Status)
	}
}

type errorResponse struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string                   `json:"code"`
	Message string                   `json:"message"`
	Details []logistics.FieldProblem `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client went away
}

func writeError(w http.ResponseWriter, status int, code, message string, details []logistics.FieldProblem) {
	writeJSON(w, status, errorResponse{Error: errorDetail{Code: code, Message: message, Details: details}})
}

var errNoSecret = errors.New("no webhook secret configured")
