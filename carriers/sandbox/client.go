package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// Client is the adapter for one sandbox carrier. It talks to the sandbox
// network over HTTP only and is safe for concurrent use.
type Client struct {
	baseURL  string
	code     string
	mapping  carriers.MappingTable
	verifier *standardwebhooks.Webhook
	http     *http.Client
}

var (
	_ carriers.Carrier         = (*Client)(nil)
	_ carriers.Tracker         = (*Client)(nil)
	_ carriers.WebhookParser   = (*Client)(nil)
	_ carriers.Voider          = (*Client)(nil)
	_ carriers.AddressChanger  = (*Client)(nil)
	_ carriers.Interceptor     = (*Client)(nil)
	_ carriers.Normaliser      = (*Client)(nil)
	_ carriers.Manifester      = (*Client)(nil)
	_ carriers.CustomsBroker   = (*Client)(nil)
	_ carriers.PickupScheduler = (*Client)(nil)
)

// NewClient returns the adapter for carrierCode on the sandbox network at
// baseURL (e.g. http://127.0.0.1:8090). webhookSecret ("whsec_...") verifies
// the carrier's pushes; empty leaves ParseWebhook rejecting every webhook.
// A nil httpClient means one with a 10 s timeout. It fails on an unknown
// carrier, a bad URL or a malformed secret.
func NewClient(baseURL, carrierCode, webhookSecret string, httpClient *http.Client) (*Client, error) {
	if !knownCarrier(carrierCode) {
		return nil, fmt.Errorf("sandbox carrier %q: unknown, want one of %s", carrierCode, strings.Join(Codes, ", "))
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox carrier %s: base url %q must be an absolute http(s) url", carrierCode, baseURL)
	}
	c := &Client{
		baseURL: strings.TrimRight(baseURL, "/"),
		code:    carrierCode,
		mapping: mappings[carrierCode],
		http:    httpClient,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	if webhookSecret != "" {
		wh, err := standardwebhooks.NewWebhook(webhookSecret)
		if err != nil {
			return nil, fmt.Errorf("sandbox carrier %s: webhook secret: %w", carrierCode, err)
		}
		c.verifier = wh
	}
	return c, nil
}

// Carriers returns the adapters for all four sandbox carriers, in the order
// of Codes, sharing one webhook secret and HTTP client.
func Carriers(baseURL, webhookSecret string, httpClient *http.Client) ([]carriers.Carrier, error) {
	out := make([]carriers.Carrier, 0, len(Codes))
	for _, code := range Codes {
		c, err := NewClient(baseURL, code, webhookSecret, httpClient)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Code is the carrier's code, e.g. "sbx_express".
func (c *Client) Code() string { return c.code }

// Channels lists the carrier's published channels.
func (c *Client) Channels() []logistics.Channel { return Channels(c.code) }

// Normalise maps one of the carrier's raw scans (e.g. a sbx_local scan
// entered by ops) with the carrier's mapping table. Origin and destination
// are unknown here, so the phase is derived from the location alone.
func (c *Client) Normalise(raw carriers.RawEvent) logistics.TrackingEvent {
	if raw.Carrier == "" {
		raw.Carrier = c.code
	}
	return c.mapping.Normalise(raw, "", "")
}

// APIError is a sandbox carrier's non-2xx answer. Wait is set when the
// carrier sent a Retry-After header (seconds or an HTTP date).
type APIError struct {
	Carrier    string
	Operation  string
	StatusCode int
	Code       string
	Message    string
	Details    []logistics.FieldProblem
	Wait       time.Duration
}

var _ carriers.RetryAfterError = (*APIError)(nil)

// RetryAfter is how long the carrier asked callers to wait (0: it did not say).
func (e *APIError) RetryAfter() time.Duration { return e.Wait }

// Error implements error.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s answered %d %s: %s", e.Carrier, e.Operation, e.StatusCode, e.Code, e.Message)
	for _, d := range e.Details {
		msg += "; " + d.Field + " " + d.Problem
	}
	if e.Wait > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.Wait)
	}
	return msg
}

// Retryable reports whether the same request may succeed later: 408, 429
// and 5xx answers. Any other 4xx will never succeed.
func (e *APIError) Retryable() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// Book books a parcel with the carrier. It is idempotent on
// req.IdempotencyKey: a retry returns the first booking. A refusal (a 4xx
// other than 408/429) wraps carriers.ErrRefused and an *APIError; outages,
// rate limits and network errors return a plain error that may be retried.
func (c *Client) Book(ctx context.Context, req carriers.BookRequest) (carriers.Booking, error) {
	if batchOnly(c.code) {
		// No booking API: the number comes from the carrier's range and
		// the parcel goes on the end-of-day manifest (SubmitManifest).
		if strings.TrimSpace(req.IdempotencyKey) == "" {
			return carriers.Booking{}, fmt.Errorf("%w: a manifest booking needs an idempotency key", carriers.ErrRefused)
		}
		tn := manifestNumber(req.IdempotencyKey)
		return carriers.Booking{TrackingNumber: tn, Legs: []logistics.Leg{{Sequence: 1, Kind: logistics.LegDoorToDoor,
			Carrier: c.code, Service: req.Service, TrackingNumber: tn, Status: logistics.StatusPending}}}, nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return carriers.Booking{}, fmt.Errorf("%s book: encode request: %w", c.code, err)
	}
	var resp shipmentResponse
	if err := c.do(ctx, "book", http.MethodPost, "/carriers/"+c.code+"/shipments", body, req.IdempotencyKey, &resp); err != nil {
		return carriers.Booking{}, err
	}
	if resp.TrackingNumber == "" {
		return carriers.Booking{}, fmt.Errorf("%s book: answer carries no tracking number", c.code)
	}
	b := carriers.Booking{TrackingNumber: resp.TrackingNumber, LabelURL: resp.LabelURL}
	if !resp.EstimatedDelivery.IsZero() {
		eta := resp.EstimatedDelivery
		b.EstimatedDelivery = &eta
	}
	if resp.Partner == nil {
		b.Legs = []logistics.Leg{{Sequence: 1, Kind: logistics.LegDoorToDoor, Carrier: c.code, Service: resp.Service,
			TrackingNumber: resp.TrackingNumber, Status: logistics.StatusPending}}
		return b, nil
	}
	b.Legs = []logistics.Leg{
		{Sequence: 1, Kind: logistics.LegLineHaul, Carrier: c.code, Service: resp.Service,
			TrackingNumber: resp.TrackingNumber, Status: logistics.StatusPending},
		{Sequence: 2, Kind: logistics.LegLastMile, Carrier: resp.Partner.Carrier, Service: resp.Partner.Service,
			TrackingNumber: resp.Partner.TrackingNumber, Status: logistics.StatusPending},
	}
	return b, nil
}

// SubmitManifest sends the end-of-day manifest file to a batch-only
// carrier. It is idempotent on name, and the carrier takes each tracking
// number once whatever file carries it.
func (c *Client) SubmitManifest(ctx context.Context, name string, file []byte) error {
	if !batchOnly(c.code) {
		return fmt.Errorf("%s submit manifest: %w", c.code, carriers.ErrUnsupported)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.baseURL+"/carriers/"+c.code+"/manifests/"+url.PathEscape(name), bytes.NewReader(file))
	if err != nil {
		return fmt.Errorf("%s submit manifest: build request: %w", c.code, err)
	}
	req.Header.Set("Content-Type", "text/csv")
	return c.send(req, "submit manifest", new(json.RawMessage))
}

// Track fetches every scan of trackingNumber and normalises it (Source
// poll), oldest first. A carrier without a tracking API returns an error
// wrapping carriers.ErrUnsupported; an unknown number wraps ErrRefused.
func (c *Client) Track(ctx context.Context, trackingNumber string) ([]logistics.TrackingEvent, error) {
	if trackingMode(c.code) == logistics.TrackingNone {
		return nil, fmt.Errorf("%s track: %w", c.code, carriers.ErrUnsupported)
	}
	var resp trackingResponse
	path := "/carriers/" + c.code + "/tracking/" + url.PathEscape(trackingNumber)
	if err := c.do(ctx, "track", http.MethodGet, path, nil, "", &resp); err != nil {
		return nil, err
	}
	return c.normalise(resp, trackingNumber, logistics.SourcePoll), nil
}

// ParseWebhook verifies a pushed tracking webhook (Standard Webhooks
// signature, timestamp within ±5 minutes) and returns its webhook-id and
// normalised events (Source webhook). A bad or missing signature, or no
// configured secret, wraps carriers.ErrBadSignature.
func (c *Client) ParseWebhook(header http.Header, body []byte) (string, []logistics.TrackingEvent, error) {
	if c.verifier == nil {
		return "", nil, fmt.Errorf("%s webhook: %w: no webhook secret configured", c.code, carriers.ErrBadSignature)
	}
	if err := c.verifier.Verify(body, header); err != nil {
		return "", nil, fmt.Errorf("%s webhook: %w: %w", c.code, carriers.ErrBadSignature, err)
	}
	var payload trackingResponse
	if err := json.Unmarshal(body, &payload); err != nil {
		return "", nil, fmt.Errorf("%s webhook: decode body: %w", c.code, err)
	}
	if payload.Carrier != c.code {
		return "", nil, fmt.Errorf("%s webhook: body is for carrier %q", c.code, payload.Carrier)
	}
	if payload.TrackingNumber == "" {
		return "", nil, fmt.Errorf("%s webhook: body carries no tracking number", c.code)
	}
	return header.Get(standardwebhooks.HeaderWebhookID), c.normalise(payload, payload.TrackingNumber, logistics.SourceWebhook), nil
}

// Void cancels the label of trackingNumber; the carrier plays no more of
// its journey. It is idempotent. A carrier whose channels have no void
// window (sbx_post, sbx_local) returns an error wrapping
// carriers.ErrUnsupported without calling it; a label past its void window
// or a parcel already collected (for sbx_consol: a line haul already
// departed) wraps carriers.ErrRefused. Outages and rate limits may be
// retried.
func (c *Client) Void(ctx context.Context, trackingNumber string) error {
	if !anyChannel(c.code, canVoid) {
		return fmt.Errorf("%s void: %w", c.code, carriers.ErrUnsupported)
	}
	return c.operate(ctx, "void", trackingNumber, "void", struct{}{})
}

// ChangeAddress redirects trackingNumber to the address to, within its
// destination country; later scans show the new destination. It is
// idempotent. A carrier without address change (all but sbx_express)
// returns an error wrapping carriers.ErrUnsupported without calling it; a
// parcel out for delivery, delivered, voided or returning, a new country or
// an invalid address wraps carriers.ErrRefused.
func (c *Client) ChangeAddress(ctx context.Context, trackingNumber string, to logistics.Address) error {
	if !anyChannel(c.code, canChangeAddress) {
		return fmt.Errorf("%s change address: %w", c.code, carriers.ErrUnsupported)
	}
	return c.operate(ctx, "change address", trackingNumber, "address", addressRequest{ShipTo: to})
}

// Intercept stops trackingNumber and returns it to the shipper: the
// carrier reports return_to_sender, then delivers it back at the origin. It
// is idempotent. A carrier that cannot intercept (sbx_consol, sbx_local)
// returns an error wrapping carriers.ErrUnsupported without calling it; a
// parcel out for delivery, delivered, voided or not yet handed over by a
// consolidator wraps carriers.ErrRefused.
func (c *Client) Intercept(ctx context.Context, trackingNumber string) error {
	if !anyChannel(c.code, canIntercept) {
		return fmt.Errorf("%s intercept: %w", c.code, carriers.ErrUnsupported)
	}
	return c.operate(ctx, "intercept", trackingNumber, "intercept", struct{}{})
}

// SchedulePickup books a collection with a carrier whose channels collect
// on request. Idempotent on req.Reference.
func (c *Client) SchedulePickup(ctx context.Context, req carriers.PickupRequest) (carriers.Pickup, error) {
	if !anyChannel(c.code, func(caps logistics.Capabilities) bool { return caps.Pickup }) {
		return carriers.Pickup{}, fmt.Errorf("%s pickup: %w", c.code, carriers.ErrUnsupported)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return carriers.Pickup{}, fmt.Errorf("%s pickup: encode request: %w", c.code, err)
	}
	var p carriers.Pickup
	if err := c.do(ctx, "pickup", http.MethodPost, "/carriers/"+c.code+"/pickups", body, req.Reference, &p); err != nil {
		return carriers.Pickup{}, err
	}
	if p.Confirmation == "" {
		return carriers.Pickup{}, fmt.Errorf("%s pickup: answer carries no confirmation", c.code)
	}
	return p, nil
}

// FileCustomsEntry files the importer's entry with the carrier's broker,
// for channels that clear customs through it; the parcel waits at import
// customs until it is filed. Idempotent. Carriers without broker channels,
// and batch-only ones (no API), return carriers.ErrUnsupported.
func (c *Client) FileCustomsEntry(ctx context.Context, trackingNumber string, entry carriers.CustomsEntry) error {
	broker := func(caps logistics.Capabilities) bool { return caps.Customs == logistics.CustomsBroker }
	if !anyChannel(c.code, broker) || batchOnly(c.code) {
		return fmt.Errorf("%s customs entry: %w", c.code, carriers.ErrUnsupported)
	}
	return c.operate(ctx, "customs entry", trackingNumber, "customs-entry", entry)
}

// operate posts body to the shipment's action route.
func (c *Client) operate(ctx context.Context, op, trackingNumber, action string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s %s: encode request: %w", c.code, op, err)
	}
	var resp operationResponse
	path := "/carriers/" + c.code + "/shipments/" + url.PathEscape(trackingNumber) + "/" + action
	return c.do(ctx, op, http.MethodPost, path, raw, "", &resp)
}

func (c *Client) normalise(resp trackingResponse, number string, source logistics.EventSource) []logistics.TrackingEvent {
	if resp.TrackingNumber != "" {
		number = resp.TrackingNumber
	}
	out := make([]logistics.TrackingEvent, 0, len(resp.Events))
	for _, ev := range resp.Events {
		out = append(out, c.mapping.Normalise(carriers.RawEvent{
			Carrier: c.code, TrackingNumber: number, Code: ev.Code, Description: ev.Description,
			OccurredAt: ev.OccurredAt, Location: ev.Location, Source: source,
		}, resp.OriginCountry, resp.DestinationCountry))
	}
	return out
}

// do sends one request and decodes a 2xx JSON answer into out. Non-2xx
// answers become an *APIError, wrapped in carriers.ErrUnsupported when the
// carrier says the channel does not offer the operation and in
// carriers.ErrRefused when otherwise final.
func (c *Client) do(ctx context.Context, op, method, path string, body []byte, idempotencyKey string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: build request: %w", c.code, op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	return c.send(req, op, out)
}

// send sends a built request and decodes its answer as do describes.
func (c *Client) send(req *http.Request, op string, out any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.code, op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", c.code, op, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", c.code, op, err)
		}
		return nil
	}
	apiErr := &APIError{Carrier: c.code, Operation: op, StatusCode: resp.StatusCode, Code: http.StatusText(resp.StatusCode)}
	var e errorResponse
	if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
		apiErr.Code, apiErr.Message, apiErr.Details = e.Error.Code, e.Error.Message, e.Error.Details
	}
	apiErr.Wait = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if apiErr.Retryable() {
		return apiErr
	}
	if apiErr.Code == codeUnsupported {
		return fmt.Errorf("%w: %w", carriers.ErrUnsupported, apiErr)
	}
	return fmt.Errorf("%w: %w", carriers.ErrRefused, apiErr)
}

// parseRetryAfter reads a Retry-After header (RFC 9110 10.2.3): a number of
// seconds or an HTTP date. Anything else, or a date in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour).Round(time.Second)
	}
	return 0
}
