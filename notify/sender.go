package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"golang.org/x/sync/errgroup"

	"github.com/crossdock/crossdock/store"
)

// DefaultSchedule is how long the sender waits after each failed attempt
// before the next: nine attempts spread over 27h35m35s (more with jitter),
// so a receiver that is down for a day still gets every event. After the
// last one fails the delivery is dead.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Sender defaults.
const (
	DefaultPoll         = time.Second
	DefaultTimeout      = 10 * time.Second
	DefaultDisableAfter = 72 * time.Hour
	DefaultLease        = time.Minute
	DefaultBatch        = 50
	DefaultConcurrency  = 8
	// userAgent names the sender to receivers.
	userAgent = "Crossdock-Webhooks/1"
	// maxResponseRead caps how much of a response body is read (to reuse
	// the connection); maxErrorSnippet how much of it the log keeps.
	maxResponseRead = 64 << 10
	maxErrorSnippet = 200
	maxErrorText    = 500
)

// Store is what the sender needs from the store; *store.Store satisfies it.
type Store interface {
	// FanOutEvents turns outbox events into pending deliveries.
	FanOutEvents(ctx context.Context, at time.Time, limit int) (store.FanOutResult, error)
	// ClaimWebhookDeliveries leases due deliveries, respecting per-order order.
	ClaimWebhookDeliveries(ctx context.Context, at time.Time, lease time.Duration, limit int) ([]store.DeliveryJob, error)
	// RecordWebhookAttempt logs an attempt and moves its delivery on.
	RecordWebhookAttempt(ctx context.Context, rec store.AttemptRecord) (disabled bool, err error)
}

// Options configures a Sender. Zero values take the defaults.
type Options struct {
	// Guard is the SSRF guard every connection goes through (required).
	Guard *Guard
	// Poll is the pause between passes over the outbox (default 1s).
	Poll time.Duration
	// Timeout bounds one attempt, from connecting to reading the answer
	// (default 10s).
	Timeout time.Duration
	// Schedule is the wait after each failed attempt (default
	// DefaultSchedule); its length is the number of retries.
	Schedule []time.Duration
	// Jitter returns the random extra added to a wait d (default: uniform
	// in [0, d/5)), so receivers that failed together are not retried in
	// lockstep. It never shortens a wait.
	Jitter func(d time.Duration) time.Duration
	// DisableAfter disables an endpoint whose every attempt has failed for
	// this long (default 72h).
	DisableAfter time.Duration
	// Lease is how long a claimed delivery is reserved for this sender
	// (default 1m); it must exceed Timeout, or another replica could send
	// the same delivery while this one still waits for an answer.
	Lease time.Duration
	// Batch is how many events or deliveries one query takes (default 50),
	// Concurrency how many attempts run at once (default 8).
	Batch       int
	Concurrency int
	// Now is the scheduling clock (default time.Now): due times, leases and
	// the disable rule. The webhook-timestamp header is always the wall
	// clock, which is what receivers check it against.
	Now func() time.Time
	// Logger receives the sender's logs (default slog.Default()).
	Logger *slog.Logger
}

// Sender delivers outbound events to merchants' webhook endpoints. Create it
// with NewSender; Run it in every worker process. It is safe for several
// replicas to run against one database.
type Sender struct {
	store        Store
	client       *http.Client
	poll         time.Duration
	timeout      time.Duration
	schedule     []time.Duration
	jitter       func(time.Duration) time.Duration
	disableAfter time.Duration
	lease        time.Duration
	batch        int
	concurrency  int
	now          func() time.Time
	logger       *slog.Logger
}

// NewSender checks opts and builds a Sender whose HTTP client dials only
// through the guard, uses no proxy, follows no redirects and gives up on an
// attempt after Timeout.
func NewSender(st Store, opts Options) (*Sender, error) {
	if st == nil {
		return nil, errors.New("notify: a store is required")
	}
	if opts.Guard == nil {
		return nil, errors.New("notify: Options.Guard is required")
	}
	s := &Sender{store: st, poll: opts.Poll, timeout: opts.Timeout, schedule: opts.Schedule, jitter: opts.Jitter,
		disableAfter: opts.DisableAfter, lease: opts.Lease, batch: opts.Batch, concurrency: opts.Concurrency,
		now: opts.Now, logger: opts.Logger}
	if s.poll <= 0 {
		s.poll = DefaultPoll
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if len(s.schedule) == 0 {
		s.schedule = DefaultSchedule
	}
	for i, d := range s.schedule {
		if d <= 0 {
			return nil, fmt.Errorf("notify: retry wait %d is %s; every wait must be positive", i+1, d)
		}
	}
	if s.jitter == nil {
		s.jitter = defaultJitter
	}
	if s.disableAfter <= 0 {
		s.disableAfter = DefaultDisableAfter
	}
	if s.lease <= 0 {
		s.lease = DefaultLease
	}
	if s.lease <= s.timeout {
		return nil, fmt.Errorf("notify: the lease (%s) must be longer than the attempt timeout (%s)", s.lease, s.timeout)
	}
	if s.batch <= 0 {
		s.batch = DefaultBatch
	}
	if s.concurrency <= 0 {
		s.concurrency = DefaultConcurrency
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the guard
		DialContext:           opts.Guard.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   s.timeout,
		ResponseHeaderTimeout: s.timeout,
	}
	s.client = &http.Client{Transport: transport, Timeout: s.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s, nil
}

// defaultJitter adds up to a fifth of d.
func defaultJitter(d time.Duration) time.Duration {
	if d < 5 {
		return 0
	}
	return rand.N(d / 5)
}

// Run passes over the outbox every Poll until ctx ends. On shutdown it
// claims nothing new and lets the attempts in flight finish (each bounded by
// Timeout) and be recorded, then returns nil. A failed pass is logged and
// retried at the next poll: nothing is lost, since all state is in the
// database.
func (s *Sender) Run(ctx context.Context) error {
	s.logger.Info("webhook sender started", "poll", s.poll, "timeout", s.timeout)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			s.logger.Info("webhook sender stopped")
			return nil
		case <-timer.C:
		}
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.logger.Error("webhook sender pass failed", "error", err)
		}
		timer.Reset(s.poll)
	}
}

// Pass counts what one RunOnce did.
type Pass struct {
	Events     int // outbox events fanned out
	Deliveries int // deliveries created by the fan-out
	Attempts   int // HTTP attempts made and recorded
	Delivered  int // attempts answered 2xx
}

// RunOnce does the work due now: it fans out every outbox event not yet
// fanned out, then claims and attempts due deliveries batch after batch
// until none is due (a delivered event may make the next one of its order
// due at once). It stops claiming when ctx ends; attempts already started
// finish and are recorded.
func (s *Sender) RunOnce(ctx context.Context) (Pass, error) {
	var pass Pass
	for ctx.Err() == nil {
		res, err := s.store.FanOutEvents(ctx, s.now(), s.batch)
		if err != nil {
			return pass, fmt.Errorf("fan out outbound events: %w", err)
		}
		pass.Events += res.Events
		pass.Deliveries += res.Deliveries
		if res.Events < s.batch {
			break
		}
	}
	for ctx.Err() == nil {
		jobs, err := s.store.ClaimWebhookDeliveries(ctx, s.now(), s.lease, s.batch)
		if err != nil {
			return pass, fmt.Errorf("claim webhook deliveries: %w", err)
		}
		if len(jobs) == 0 {
			break
		}
		attempts, delivered, err := s.sendAll(ctx, jobs)
		pass.Attempts += attempts
		pass.Delivered += delivered
		if err != nil {
			return pass, err
		}
	}
	return pass, nil
}

// sendAll attempts a batch of claimed deliveries, Concurrency at a time. A
// batch never holds two deliveries of one order to one endpoint (the claim
// takes only the first open one), so running them in parallel keeps order.
// Attempts run detached from ctx's cancellation so a shutdown does not
// turn answers in flight into failures.
func (s *Sender) sendAll(ctx context.Context, jobs []store.DeliveryJob) (attempts, delivered int, err error) {
	ctx = context.WithoutCancel(ctx)
	results := make([]bool, len(jobs))
	recorded := make([]bool, len(jobs))
	var g errgroup.Group
	g.SetLimit(s.concurrency)
	errs := make([]error, len(jobs))
	for i, job := range jobs {
		g.Go(func() error {
			rec := s.attempt(ctx, job)
			disabled, err := s.store.RecordWebhookAttempt(ctx, rec)
			if errors.Is(err, store.ErrLeaseLost) {
				// Our lease ran out (or the endpoint was deleted): the
				// delivery is someone else's now; the receiver dedupes.
				s.logger.Warn("webhook attempt not recorded: lease lost",
					"delivery_id", job.DeliveryID, "endpoint_id", job.EndpointID, "event_id", job.Event.ID)
				return nil
			}
			if err != nil {
				errs[i] = fmt.Errorf("record attempt of webhook delivery %s: %w", job.DeliveryID, err)
				return nil
			}
			recorded[i], results[i] = true, rec.Delivered
			s.logAttempt(job, rec, disabled)
			return nil
		})
	}
	_ = g.Wait() // the goroutines report through errs
	for i := range jobs {
		if recorded[i] {
			attempts++
			if results[i] {
				delivered++
			}
		}
	}
	return attempts, delivered, errors.Join(errs...)
}

func (s *Sender) logAttempt(job store.DeliveryJob, rec store.AttemptRecord, disabled bool) {
	attrs := []any{"delivery_id", job.DeliveryID, "endpoint_id", job.EndpointID, "event_id", job.Event.ID,
		"event_type", job.Event.Type, "attempt", rec.Number, "status", rec.StatusCode, "duration", rec.Duration}
	switch {
	case rec.Delivered:
		s.logger.Debug("webhook delivered", attrs...)
	case rec.NextAttemptAt.IsZero():
		s.logger.Warn("webhook delivery dead", append(attrs, "error", rec.Error)...)
	default:
		s.logger.Info("webhook attempt failed", append(attrs, "error", rec.Error, "next_attempt_at", rec.NextAttemptAt)...)
	}
	if disabled {
		s.logger.Warn("webhook endpoint disabled", "endpoint_id", job.EndpointID, "reason", rec.DisableReason)
	}
}

// eventBody is what a receiver gets: the event with its id (also the
// webhook-id header), type, time and data.
type eventBody struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// Body returns the JSON a receiver gets for an outbox event:
// {"id","type","occurred_at","data"}, where data is the event's payload
// with the order's id added as order_id (the workflows' payloads do not all
// carry it, and a receiver needs it to know which order moved).
func Body(e store.OutboundEvent) ([]byte, error) {
	data := e.Payload
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(e.Payload, &fields); err == nil && fields != nil {
		if _, ok := fields["order_id"]; !ok {
			id, err := json.Marshal(e.OrderID)
			if err != nil {
				return nil, err
			}
			fields["order_id"] = id
		}
		if data, err = json.Marshal(fields); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(eventBody{ID: e.ID, Type: e.Type, OccurredAt: e.OccurredAt.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return b, nil
}

// Sign returns the webhook-signature header value for a body: one
// "v1,<base64>" entry per secret, space-separated (Standard Webhooks).
func Sign(secrets []string, id string, at time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("no signing secret")
	}
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		if strings.TrimPrefix(secret, store.WebhookSecretPrefix) == "" {
			return "", errors.New("empty signing secret")
		}
		hook, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return "", errors.New("signing secret is not whsec_<base64>")
		}
		sig, err := hook.Sign(id, at, body)
		if err != nil {
			return "", fmt.Errorf("sign: %w", err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// attempt makes one HTTP attempt of a job and says what to record.
func (s *Sender) attempt(ctx context.Context, job store.DeliveryJob) store.AttemptRecord {
	at := s.now()
	rec := store.AttemptRecord{DeliveryID: job.DeliveryID, LeaseToken: job.LeaseToken, EndpointID: job.EndpointID,
		Number: job.Attempt, At: at}
	start := time.Now()
	status, errText := s.post(ctx, job)
	rec.Duration = time.Since(start)
	rec.StatusCode = status
	if errText == "" {
		rec.Delivered = true
		return rec
	}
	rec.Error = truncate(errText, maxErrorText)
	rec.Failures = job.Failures + 1
	if rec.Failures <= len(s.schedule) {
		wait := s.schedule[rec.Failures-1]
		rec.NextAttemptAt = at.Add(wait + s.jitter(wait))
	}
	rec.DisableIfFailingSince = at.Add(-s.disableAfter)
	rec.DisableReason = fmt.Sprintf("every delivery attempt failed for %s; the last: %s", shortDuration(s.disableAfter), rec.Error)
	return rec
}

// post sends the signed event and returns the HTTP status (0 when none came)
// and why the attempt failed ("" for a 2xx).
func (s *Sender) post(ctx context.Context, job store.DeliveryJob) (int, string) {
	body, err := Body(job.Event)
	if err != nil {
		return 0, err.Error()
	}
	signedAt := time.Now() // the receiver checks it against its own clock
	sig, err := Sign(job.Secrets, job.Event.ID, signedAt, body)
	if err != nil {
		return 0, "cannot sign: " + err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "invalid URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(standardwebhooks.HeaderWebhookID, job.Event.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(signedAt.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, describeError(err, s.timeout)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorSnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	text := "HTTP " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		text += " (redirects are not followed)"
	}
	if clean := printable(snippet); clean != "" {
		text += ": " + clean
	}
	return resp.StatusCode, text
}

// describeError says why no answer came, without the URL (the merchant
// knows it) or Go's error chain.
func describeError(err error, timeout time.Duration) string {
	if errors.Is(err, ErrRefused) {
		var msg string
		var ue *url.Error
		if errors.As(err, &ue) {
			msg = ue.Err.Error()
		} else {
			msg = err.Error()
		}
		if i := strings.Index(msg, ErrRefused.Error()); i >= 0 {
			msg = msg[i:]
		}
		return msg
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "no answer within " + shortDuration(timeout)
		}
		return "connection failed: " + ue.Err.Error()
	}
	return "connection failed: " + err.Error()
}

// printable keeps the printable characters of a response snippet, on one line.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsPrint(r):
			return r
		}
		return -1
	}, strings.ToValidUTF8(string(b), ""))
	return strings.TrimSpace(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// shortDuration prints 72h0m0s as 72h and 10s as 10s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
