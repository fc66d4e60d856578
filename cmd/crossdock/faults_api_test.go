package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// postWebhook sends one signed delivery of a webhook (a fresh timestamp
// and signature, the same id and body, as a Standard Webhooks sender does
// on every attempt) and returns the answer, or an error for no answer.
func postWebhook(ctx context.Context, url, secret, id string, body []byte) (*http.Response, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp, nil
}

// orderDeliveries are order.created webhooks for orders prefix-01..n, and
// repeats (new ids, same orders) of every fourth.
func orderDeliveries(t *testing.T, prefix string, n int) (all, repeats []*delivery) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s-%02d", prefix, i+1)
		country := []string{"GB", "DE", "US", "FR"}[i%4]
		body, err := json.Marshal(demoOrder(demoMerchantID, id, "wh_szx", country))
		require.NoError(t, err)
		all = append(all, &delivery{id: "wh_created_" + id, order: id, body: body})
		if i%4 == 0 {
			// The order service sends the same order again, as a new event.
			repeats = append(repeats, &delivery{id: "wh_again_" + id, order: id, body: body})
		}
	}
	return all, repeats
}

// streamWebhooks sends ds from four senders, gap apart, each retried every
// 200 ms until answered 2xx (for up to three minutes). observe, if not
// nil, sees every attempt.
func streamWebhooks(ctx context.Context, url, secret string, ds []*delivery, gap time.Duration,
	observe func(resp *http.Response, err error, took time.Duration)) {
	send := func(d *delivery) {
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			d.attempts++
			start := time.Now()
			resp, err := postWebhook(ctx, url, secret, d.id, d.body)
			if observe != nil {
				observe(resp, err, time.Since(start))
			}
			if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
				d.status = resp.StatusCode
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	queue := make(chan *delivery)
	var senders sync.WaitGroup
	for range 4 {
		senders.Go(func() {
			for d := range queue {
				send(d)
			}
		})
	}
	for _, d := range ds {
		queue <- d
		time.Sleep(gap)
	}
	close(queue)
	senders.Wait()
}

// requireAcceptedOnce checks that every delivery was accepted and recorded
// with the answer its sender got, first deliveries with 202 and repeats
// with 200; that each order was delivered, booked once and ran in exactly
// one workflow. It returns how many first deliveries needed retries.
func requireAcceptedOnce(t *testing.T, s *faultStack, all, repeats []*delivery) (retried int) {
	t.Helper()
	ctx := t.Context()
	for _, d := range append(append([]*delivery(nil), all...), repeats...) {
		require.NotZero(t, d.status, "webhook %s was never accepted (%d attempts)", d.id, d.attempts)
		rec, found, err := s.st.FindWebhook(ctx, store.WebhookSourceOrders, d.id)
		require.NoError(t, err)
		require.True(t, found, "accepted webhook %s is recorded", d.id)
		assert.Equal(t, d.status, rec.StatusCode, "%s: the recorded answer is the one the sender got", d.id)
	}
	for _, d := range all {
		assert.Equal(t, http.StatusAccepted, d.status, "%s starts order %s", d.id, d.order)
		if d.attempts > 1 {
			retried++
		}
	}
	for _, d := range repeats {
		assert.Equal(t, http.StatusOK, d.status, "%s repeats order %s: answered 200, no second fulfilment", d.id, d.order)
	}
	for _, d := range all {
		order := waitDelivered(t, s.info, d.order, time.Now().Add(3*time.Minute))
		require.Len(t, order.Shipments, 1, d.order)
		_, created := s.spy.counts(d.order)
		assert.Equal(t, 1, created, "%s booked once", d.order)
		wfID := logistics.OrderWorkflowID(demoMerchantID, d.order)
		resp, err := s.tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = %q", wfID)})
		require.NoError(t, err)
		assert.Len(t, resp.Executions, 1, "%s ran in exactly one workflow", d.order)
	}
	return retried
}

// delivery is one webhook the order service must get accepted.
type delivery struct {
	id, order string
	body      []byte
	status    int // the 2xx that finally accepted it
	attempts  int
}

// TestAPIKilled SIGKILLs the `crossdock api` process three times under a
// stream of signed order webhooks whose sender retries every non-2xx answer
// and every dropped connection, as the order service does. Every accepted
// webhook is recorded once, every order runs in exactly one workflow, is
// delivered and booked once, and a repeated order.created (new id) is
// answered 200 without a second fulfilment.
func TestAPIKilled(t *testing.T) {
	requireSoak(t)
	s := newFaultStack(t, faultStackOptions{APIProcess: true})
	ctx := t.Context()
	url := s.info.APIURL + "/v1/webhooks/orders"
	all, repeats := orderDeliveries(t, "API", 30)

	// Kill the API three times while the stream runs.
	var killer sync.WaitGroup
	killer.Go(func() {
		for range 3 {
			time.Sleep(500 * time.Millisecond)
			s.api.kill()
			down := time.Now()
			s.startAPI()
			t.Logf("api down for %s", time.Since(down).Round(time.Millisecond))
		}
	})
	streamWebhooks(ctx, url, s.info.OrderWebhookSecret, all, 60*time.Millisecond, nil)
	killer.Wait()
	streamWebhooks(ctx, url, s.info.OrderWebhookSecret, repeats, 0, nil)

	retried := requireAcceptedOnce(t, s, all, repeats)
	t.Logf("%d of %d webhooks needed more than one attempt", retried, len(all))
	assert.Positive(t, retried, "the kills interrupted the stream")
}
