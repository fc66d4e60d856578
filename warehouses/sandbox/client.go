package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/warehouses"
)

// Client is the adapter for one sandbox warehouse. It talks to the sandbox
// over HTTP only and is safe for concurrent use.
type Client struct {
	baseURL  string
	id       string
	address  logistics.Address
	verifier *standardwebhooks.Webhook
	http     *http.Client
}

var (
	_ warehouses.Warehouse = (*Client)(nil)
	_ warehouses.Releaser  = (*Client)(nil)
)

// NewClient returns the adapter for warehouseID on the sandbox at baseURL
// (e.g. http://127.0.0.1:8090). webhookSecret ("whsec_...") verifies its
// confirmations; empty leaves ParseWebhook rejecting every webhook. A nil
// httpClient means one with a 10 s timeout. It fails on an unknown
// warehouse, a bad URL or a malformed secret.
func NewClient(baseURL, warehouseID, webhookSecret string, httpClient *http.Client) (*Client, error) {
	addr, ok := Address(warehouseID)
	if !ok {
		return nil, fmt.Errorf("sandbox warehouse %q: unknown, want one of %s", warehouseID, strings.Join(IDs, ", "))
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox warehouse %s: base url %q must be an absolute http(s) url", warehouseID, baseURL)
	}
	c := &Client{baseURL: strings.TrimRight(baseURL, "/"), id: warehouseID, address: addr, http: httpClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	if webhookSecret != "" {
		wh, err := standardwebhooks.NewWebhook(webhookSecret)
		if err != nil {
			return nil, fmt.Errorf("sandbox warehouse %s: webhook secret: %w", warehouseID, err)
		}
		c.verifier = wh
	}
	return c, nil
}

// Warehouses returns the adapters for both sandbox warehouses, in the order
// of IDs, sharing one webhook secret and HTTP client.
func Warehouses(baseURL, webhookSecret string, httpClient *http.Client) ([]warehouses.Warehouse, error) {
	out := make([]warehouses.Warehouse, 0, len(IDs))
	for _, id := range IDs {
		c, err := NewClient(baseURL, id, webhookSecret, httpClient)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ID is the warehouse id, e.g. "wh_szx".
func (c *Client) ID() string { return c.id }

// Address is where the warehouse's parcels leave from.
func (c *Client) Address() logistics.Address { return c.address }

// RequestPick asks the warehouse to pick and pack. It is idempotent on
// req.IdempotencyKey. A 4xx other than 408/429 wraps warehouses.ErrRefused;
// any other failure may be retried.
func (c *Client) RequestPick(ctx context.Context, req warehouses.PickRequest) error {
	return c.post(ctx, "pick", "/warehouses/"+c.id+"/picks", req.IdempotencyKey, req)
}

// ReleasePick cancels the pick requested under req.IdempotencyKey (no
// confirmation follows) or puts its packed stock back. It is idempotent and
// a pick the warehouse does not know is released without error (a pick
// requested later under the same key is never picked). A 4xx other than
// 408/429 wraps warehouses.ErrRefused; any other failure may be retried.
func (c *Client) ReleasePick(ctx context.Context, req warehouses.ReleaseRequest) error {
	return c.post(ctx, "release", "/warehouses/"+c.id+"/picks/release", req.IdempotencyKey, req)
}

// post sends v as JSON and classifies the answer: 2xx is success, a 4xx
// other than 408/429 wraps warehouses.ErrRefused, anything else is a plain
// error the caller may retry.
func (c *Client) post(ctx context.Context, op, path, idempotencyKey string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s %s: encode request: %w", c.id, op, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: build request: %w", c.id, op, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Idempotency-Key", idempotencyKey)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.id, op, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10)) // best effort: only used in the error message
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := strings.TrimSpace(string(raw))
	var e errorResponse
	if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
		msg = e.Error.Code + ": " + e.Error.Message
		for _, d := range e.Error.Details {
			msg += "; " + d.Field + " " + d.Problem
		}
	}
	err = fmt.Errorf("%s %s answered %d: %s", c.id, op, resp.StatusCode, msg)
	if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
		resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", warehouses.ErrRefused, err)
	}
	return err
}

// ParseWebhook verifies a confirmation (Standard Webhooks signature,
// timestamp within ±5 minutes) and returns its event, whose ID is the
// webhook-id. A bad or missing signature, or no configured secret, wraps
// warehouses.ErrBadSignature.
func (c *Client) ParseWebhook(header http.Header, body []byte) (logistics.WarehouseEvent, error) {
	if c.verifier == nil {
		return logistics.WarehouseEvent{}, fmt.Errorf("%s webhook: %w: %w", c.id, warehouses.ErrBadSignature, errNoSecret)
	}
	if err := c.verifier.Verify(body, header); err != nil {
		return logistics.WarehouseEvent{}, fmt.Errorf("%s webhook: %w: %w", c.id, warehouses.ErrBadSignature, err)
	}
	var ev logistics.WarehouseEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return logistics.WarehouseEvent{}, fmt.Errorf("%s webhook: decode body: %w", c.id, err)
	}
	if ev.WarehouseID != c.id {
		return logistics.WarehouseEvent{}, fmt.Errorf("%s webhook: body is for warehouse %q", c.id, ev.WarehouseID)
	}
	switch ev.Type {
	case logistics.WarehousePacked, logistics.WarehouseShortPick, logistics.WarehouseOutOfStock:
	default:
		return logistics.WarehouseEvent{}, fmt.Errorf("%s webhook: unknown event type %q", c.id, ev.Type)
	}
	ev.ID = header.Get(standardwebhooks.HeaderWebhookID)
	return ev, nil
}
