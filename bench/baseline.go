package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Names of the baseline workflow, its activity and its task queue.
const (
	BaselineTaskQueue    = "crossdock-bench-baseline"
	MinimalWorkflowName  = "bench.Minimal"
	noopActivityName     = "bench.NoOp"
	baselineStartToClose = 30 * time.Second
)

// MinimalWorkflow is T1's and T2's baseline: the given number of no-op
// regular activities, one after another, and nothing else.
func MinimalWorkflow(ctx workflow.Context, activities int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: baselineStartToClose})
	for range activities {
		if err := workflow.ExecuteActivity(ctx, noopActivityName).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// noop is the baseline's activity: it does nothing.
func noop(context.Context) error { return nil }

// RegisterBaseline registers MinimalWorkflow and its activity on r.
func RegisterBaseline(r worker.Registry) {
	r.RegisterWorkflowWithOptions(MinimalWorkflow, workflow.RegisterOptions{Name: MinimalWorkflowName})
	r.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: noopActivityName})
}

// PoolSize is the connection pool of the baselines, the same as the store's
// on Postgres (store.Open: 25 open connections).
const PoolSize = 25

// NewPool opens a pgx pool of PoolSize connections on url.
func NewPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("baseline pool: %w", err)
	}
	cfg.MaxConns = PoolSize
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("baseline pool: %w", err)
	}
	return pool, nil
}

// InsertWebhookRow is T3's baseline: the row the API records to deduplicate
// a carrier webhook, written by one raw single-row INSERT.
func InsertWebhookRow(ctx context.Context, pool *pgxpool.Pool, source, id string, response []byte) error {
	_, err := pool.Exec(ctx, `INSERT INTO processed_webhooks
		(source, webhook_id, event_type, merchant_id, order_id, status_code, response, created_at)
		VALUES ($1, $2, 'tracking.event', '', '', 202, $3, $4) ON CONFLICT DO NOTHING`,
		source, id, response, time.Now().UTC())
	return err
}

// TrackingRow is one tracking event row as T5's baseline inserts it.
type TrackingRow struct {
	MerchantID, OrderID                string
	ShipmentNumber                     int
	DedupKey, Status, Phase            string
	OccurredAt                         time.Time
	City, Country                      string
	Carrier, TrackingNumber, RawCode   string
	RawDescription, Source, RecordedBy string
}

// InsertTrackingRow is T5's baseline: one tracking event, one INSERT, one
// round trip and one commit, as a row-by-row import would do it.
func InsertTrackingRow(ctx context.Context, conn *pgxpool.Conn, r TrackingRow) error {
	_, err := conn.Exec(ctx, `INSERT INTO tracking_events
		(merchant_id, order_id, shipment_number, dedup_key, status, phase, occurred_at, location_city,
		 location_country, carrier, tracking_number, raw_code, raw_description, source, recorded_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (dedup_key) DO NOTHING`,
		r.MerchantID, r.OrderID, r.ShipmentNumber, r.DedupKey, r.Status, r.Phase, r.OccurredAt, r.City, r.Country,
		r.Carrier, r.TrackingNumber, r.RawCode, r.RawDescription, r.Source, r.RecordedBy, time.Now().UTC())
	return err
}

// trackingEvent is an event as the bare handler answers it.
type trackingEvent struct {
	Status           string    `json:"status"`
	Phase            string    `json:"phase"`
	Substatus        string    `json:"substatus"`
	Reason           string    `json:"reason"`
	ResponsibleParty string    `json:"responsible_party"`
	ActionRequired   bool      `json:"action_required"`
	OccurredAt       time.Time `json:"occurred_at"`
	City             string    `json:"city"`
	Country          string    `json:"country"`
	Carrier          string    `json:"carrier"`
	TrackingNumber   string    `json:"tracking_number"`
	RawCode          string    `json:"raw_code"`
	RawDescription   string    `json:"raw_description"`
	Source           string    `json:"source"`
}

// TrackingHandler is T4's baseline: GET /orders/{order_id}/tracking of one
// merchant through raw pgx behind a bare net/http handler, the same two
// queries the store makes (the order exists, then its events in time
// order), answered as JSON. No auth, no middleware.
func TrackingHandler(pool *pgxpool.Pool, merchantID string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{order_id}/tracking", func(w http.ResponseWriter, r *http.Request) {
		ctx, orderID := r.Context(), r.PathValue("order_id")
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE merchant_id = $1 AND order_id = $2`,
			merchantID, orderID).Scan(&n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if n == 0 {
			http.NotFound(w, r)
			return
		}
		rows, err := pool.Query(ctx, `SELECT status, phase, substatus, reason, responsible_party, action_required,
			occurred_at, location_city, location_country, carrier, tracking_number, raw_code, raw_description, source
			FROM tracking_events WHERE merchant_id = $1 AND order_id = $2 ORDER BY occurred_at, id`, merchantID, orderID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (trackingEvent, error) {
			var e trackingEvent
			err := row.Scan(&e.Status, &e.Phase, &e.Substatus, &e.Reason, &e.ResponsibleParty, &e.ActionRequired,
				&e.OccurredAt, &e.City, &e.Country, &e.Carrier, &e.TrackingNumber, &e.RawCode, &e.RawDescription, &e.Source)
			return e, err
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"order_id": orderID, "events": events})
	})
	return mux
}
