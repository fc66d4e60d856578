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
// on every attempt) and returns the status, or an error for no answer.
func postWebhook(ctx context.Context, url, secret, id string, body []byte) (int, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
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

	const orders = 30
	var all []*delivery
	var dups []*delivery
	for i := range orders {
		id := fmt.Sprintf("API-%02d", i+1)
		country := []string{"GB", "DE", "US", "FR"}[i%4]
		body, err := json.Marshal(demoOrder(demoMerchantID, id, "wh_szx", country))
		require.NoError(t, err)
		all = append(all, &delivery{id: "wh_created_" + id, order: id, body: body})
		if i%4 == 0 {
			// The order service sends the same order again, as a new event.
			dups = append(dups, &delivery{id: "wh_again_" + id, order: id, body: body})
		}
	}

	send := func(d *delivery) {
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			d.attempts++
			status, err := postWebhook(ctx, url, s.info.OrderWebhookSecret, d.id, d.body)
			if err == nil && status >= 200 && status < 300 {
				d.status = status
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	stream := func(ds []*delivery, gap time.Duration) {
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
	stream(all, 60*time.Millisecond)
	killer.Wait()
	stream(dups, 0)

	for _, d := range append(append([]*delivery(nil), all...), dups...) {
		require.NotZero(t, d.status, "webhook %s was never accepted (%d attempts)", d.id, d.attempts)
		rec, found, err := s.st.FindWebhook(ctx, store.WebhookSourceOrders, d.id)
		require.NoError(t, err)
		require.True(t, found, "accepted webhook %s is recorded", d.id)
		assert.Equal(t, d.status, rec.StatusCode, "%s: the recorded answer is the one the sender got", d.id)
	}
	retried := 0
	for _, d := range all {
		assert.Equal(t, http.StatusAccepted, d.status, "%s starts order %s", d.id, d.order)
		if d.attempts > 1 {
			retried++
		}
	}
	for _, d := range dups {
		assert.Equal(t, http.StatusOK, d.status, "%s repeats order %s: answered 200, no second fulfilment", d.id, d.order)
	}
	t.Logf("%d of %d webhooks needed more than one attempt", retried, len(all))
	assert.Positive(t, retried, "the kills interrupted the stream")

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
}
