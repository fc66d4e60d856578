package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// retrySchedule is how long a carrier waits before each redelivery of a
// failed push, in real-world time; it is divided by the speedup but never
// below minRetry doubled per attempt, so a briefly unavailable Crossdock
// still gets a few seconds to come back at any speedup.
var retrySchedule = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}

const minRetry = 100 * time.Millisecond

// push queues one scan as a signed tracking webhook, honouring the
// drop_webhooks and duplicate_webhooks faults. A duplicate is a second
// message with its own webhook-id and the same body, as a carrier that
// re-emits an event sends it. Messages of one parcel are delivered in the
// order they were queued. Callers hold s.mu.
func (s *Server) push(sh *shipment, ev wireEvent) {
	log := s.log.With("carrier", sh.carrier, "tracking_number", sh.number, "code", ev.Code)
	switch {
	case s.callbackURL == "":
		log.Debug("sandbox push skipped: no callback url")
		return
	case s.signer == nil:
		log.Warn("sandbox push skipped: no webhook secret")
		return
	case s.faults.is(sh.carrier, FaultDropWebhooks):
		log.Info("sandbox push dropped by fault")
		return
	}
	body, err := json.Marshal(trackingResponse{Type: webhookType, Carrier: sh.carrier, TrackingNumber: sh.number,
		OriginCountry: sh.from.Country, DestinationCountry: sh.to.Country, Events: []wireEvent{ev}})
	if err != nil {
		log.Error("sandbox push not encoded", "error", err)
		return
	}
	url := s.callbackURL + "/v1/webhooks/carriers/" + sh.carrier
	copies := 1
	if s.faults.is(sh.carrier, FaultDuplicateWebhooks) {
		copies = 2
	}
	for range copies {
		prev, done := sh.lastPush, make(chan struct{})
		sh.lastPush = done
		s.wg.Add(1)
		go func() {
			defer close(done)
			// A carrier's push queue is ordered: wait for the previous
			// message to be delivered or abandoned before sending this one.
			if prev != nil {
				select {
				case <-prev:
				case <-s.ctx.Done():
					s.wg.Done()
					return
				}
			}
			s.deliver(url, "msg_"+ulid.Make().String(), body)
		}()
	}
}

// deliver posts one webhook until it is acknowledged, retrying network
// errors, 408, 429 and 5xx with backoff; every attempt carries the same
// webhook-id and a fresh timestamp and signature. It gives up on other
// 4xx answers and when the server closes.
func (s *Server) deliver(url, id string, body []byte) {
	defer s.wg.Done()
	log := s.log.With("url", url, "webhook_id", id)
	for attempt := 0; ; attempt++ {
		retry, err := postSigned(s.ctx, s.client, s.signer, url, id, body)
		if err == nil {
			log.Debug("sandbox webhook delivered", "attempt", attempt+1)
			return
		}
		if !retry || attempt >= len(retrySchedule) {
			log.Warn("sandbox webhook abandoned", "attempt", attempt+1, "error", err)
			return
		}
		log.Debug("sandbox webhook failed; retrying", "attempt", attempt+1, "error", err)
		wait := max(s.scale(retrySchedule[attempt]), minRetry<<attempt)
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
