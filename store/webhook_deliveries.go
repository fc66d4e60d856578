package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// DeliveryState is where the delivery of one event to one endpoint stands.
type DeliveryState string

// Delivery states. Pending and failed are open: the sender still works on
// them, and an open delivery holds back the later events of the same order
// to the same endpoint. Delivered and dead are final until a redelivery.
const (
	// DeliveryPending: not attempted yet, or a redelivery was asked for.
	DeliveryPending DeliveryState = "pending"
	// DeliveryFailed: the last attempt failed; the next is at NextAttemptAt.
	DeliveryFailed DeliveryState = "failed"
	// DeliveryDelivered: the endpoint answered 2xx.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryDead: every attempt of the retry schedule failed.
	DeliveryDead DeliveryState = "dead"
)

// DeliveryStates lists every delivery state.
var DeliveryStates = []DeliveryState{DeliveryPending, DeliveryFailed, DeliveryDelivered, DeliveryDead}

// Valid reports whether s is a delivery state.
func (s DeliveryState) Valid() bool {
	for _, v := range DeliveryStates {
		if v == s {
			return true
		}
	}
	return false
}

// openStates are the states the sender still works on.
var openStates = []string{string(DeliveryPending), string(DeliveryFailed)}

// ErrLeaseLost is returned by RecordWebhookAttempt when the delivery is no
// longer claimed by the caller's lease (it expired and another sender took
// the delivery, or a merchant deleted the endpoint). Nothing was recorded.
var ErrLeaseLost = errors.New("webhook delivery lease lost")

// WebhookDelivery is the delivery of one outbound event to one endpoint,
// with its log of attempts (oldest first).
type WebhookDelivery struct {
	ID             string
	EndpointID     string
	EventID        string
	EventType      logistics.EventType
	OrderID        string
	State          DeliveryState
	Attempts       int
	NextAttemptAt  *time.Time
	LastAttemptAt  *time.Time
	LastStatusCode int
	LastError      string
	DeliveredAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	AttemptLog     []WebhookAttempt
}

// WebhookAttempt is one HTTP attempt of a delivery. Outcome is
// DeliveryDelivered (2xx) or DeliveryFailed; StatusCode is 0 when no answer
// came (refused, timed out, connection failed) and Error says why.
type WebhookAttempt struct {
	Number     int
	At         time.Time
	Outcome    DeliveryState
	StatusCode int
	Error      string
	Duration   time.Duration
}

type webhookDeliveryRow struct {
	ID             string `gorm:"column:id;primaryKey"`
	EndpointID     string
	MerchantID     string
	EventID        string
	EventSeq       int64
	EventType      string
	OrderID        string
	State          string
	Attempts       int
	Failures       int
	NextAttemptAt  *time.Time
	LockedUntil    *time.Time
	LeaseToken     string
	LastAttemptAt  *time.Time
	LastStatusCode int
	LastError      string
	LastDurationMs int `gorm:"column:last_duration_ms"`
	DeliveredAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (webhookDeliveryRow) TableName() string { return "webhook_deliveries" }

func (r webhookDeliveryRow) toDomain() WebhookDelivery {
	return WebhookDelivery{ID: r.ID, EndpointID: r.EndpointID, EventID: r.EventID, EventType: logistics.EventType(r.EventType),
		OrderID: r.OrderID, State: DeliveryState(r.State), Attempts: r.Attempts, NextAttemptAt: utcPtr(r.NextAttemptAt),
		LastAttemptAt: utcPtr(r.LastAttemptAt), LastStatusCode: r.LastStatusCode, LastError: r.LastError,
		DeliveredAt: utcPtr(r.DeliveredAt), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type webhookAttemptRow struct {
	DeliveryID  string `gorm:"column:delivery_id;primaryKey"`
	Number      int    `gorm:"column:number;primaryKey"`
	AttemptedAt time.Time
	Outcome     string
	StatusCode  int
	Error       string
	DurationMs  int `gorm:"column:duration_ms"`
}

func (webhookAttemptRow) TableName() string { return "webhook_attempts" }

func (r webhookAttemptRow) toDomain() WebhookAttempt {
	return WebhookAttempt{Number: r.Number, At: r.AttemptedAt.UTC(), Outcome: DeliveryState(r.Outcome),
		StatusCode: r.StatusCode, Error: r.Error, Duration: time.Duration(r.DurationMs) * time.Millisecond}
}

// DeliveryFilter selects a page of an endpoint's delivery log. An empty
// State does not filter; Limit is clamped to 1..200 (default 50).
type DeliveryFilter struct {
	State  DeliveryState
	Limit  int
	Cursor string
}

// ListWebhookDeliveries returns a page of the delivery log of the
// merchant's endpoint, newest first, each delivery with its attempts, and
// the cursor of the next page ("" on the last). Another merchant's endpoint
// answers logistics.ErrNotFound; a bad state or cursor, CodeInvalid.
func (s *Store) ListWebhookDeliveries(ctx context.Context, merchantID, endpointID string, f DeliveryFilter) ([]WebhookDelivery, string, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, "", &logistics.Error{Code: logistics.CodeInvalid, Message: "the delivery filter is invalid",
			Details: []logistics.FieldProblem{{Field: "state", Problem: "is not a delivery state"}}}
	}
	db := s.db.WithContext(ctx)
	if _, err := s.endpointRow(db, merchantID, endpointID); err != nil {
		return nil, "", err
	}
	limit := clampLimit(f.Limit)
	q := db.Where("endpoint_id = ?", endpointID)
	if f.State != "" {
		q = q.Where("state = ?", string(f.State))
	}
	q, err := newestFirst(q, cursorWebhookDelivery, merchantID, f.Cursor, limit)
	if err != nil {
		return nil, "", err
	}
	var rows []webhookDeliveryRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list deliveries of webhook endpoint %s: %w", endpointID, err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = newestFirstCursor(cursorWebhookDelivery, merchantID, last.CreatedAt, last.ID)
	}
	out, err := s.withAttempts(db, rows)
	return out, next, err
}

// withAttempts converts delivery rows and loads their attempts in one query.
func (s *Store) withAttempts(db *gorm.DB, rows []webhookDeliveryRow) ([]WebhookDelivery, error) {
	out := make([]WebhookDelivery, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	index := make(map[string]int, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
		out[i].AttemptLog = []WebhookAttempt{}
		index[r.ID] = i
		ids[i] = r.ID
	}
	var attempts []webhookAttemptRow
	if err := db.Where("delivery_id IN ?", ids).Order("delivery_id, number").Find(&attempts).Error; err != nil {
		return nil, fmt.Errorf("list webhook attempts: %w", err)
	}
	for _, a := range attempts {
		i := index[a.DeliveryID]
		out[i].AttemptLog = append(out[i].AttemptLog, a.toDomain())
	}
	return out, nil
}

// RedeliverWebhook asks for the delivery to be sent again as soon as
// possible, with the same webhook-id so the receiver can tell it is a repeat.
// A delivered or dead delivery becomes pending with a fresh retry schedule;
// an open one is simply made due now. It answers logistics.ErrNotFound for a
// delivery not of that merchant's endpoint, and CodeConflict when the
// endpoint is disabled or the delivery is being attempted at this moment.
func (s *Store) RedeliverWebhook(ctx context.Context, merchantID, endpointID, deliveryID string) (WebhookDelivery, error) {
	at := now()
	var row webhookDeliveryRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ep, err := s.endpointRow(tx, merchantID, endpointID)
		if err != nil {
			return err
		}
		err = tx.Where("id = ? AND endpoint_id = ?", deliveryID, endpointID).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return logistics.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("get webhook delivery %s: %w", deliveryID, err)
		}
		if !ep.Enabled {
			return logistics.Errorf(logistics.CodeConflict, "the webhook endpoint is disabled; enable it before asking for a redelivery")
		}
		if row.LockedUntil != nil && row.LockedUntil.After(at) {
			return logistics.Errorf(logistics.CodeConflict, "the delivery is being attempted right now; ask again in a minute if it fails")
		}
		updates := map[string]any{"next_attempt_at": at, "updated_at": at}
		if row.State == string(DeliveryDelivered) || row.State == string(DeliveryDead) {
			updates["state"], updates["failures"], updates["delivered_at"] = string(DeliveryPending), 0, nil
		}
		if err := tx.Model(&webhookDeliveryRow{}).Where("id = ?", deliveryID).Updates(updates).Error; err != nil {
			return fmt.Errorf("redeliver webhook delivery %s: %w", deliveryID, err)
		}
		row = webhookDeliveryRow{}
		return tx.Where("id = ?", deliveryID).Take(&row).Error
	})
	if err != nil {
		return WebhookDelivery{}, err
	}
	list, err := s.withAttempts(s.db.WithContext(ctx), []webhookDeliveryRow{row})
	if err != nil {
		return WebhookDelivery{}, err
	}
	return list[0], nil
}

// FanOutResult counts what one FanOutEvents call did.
type FanOutResult struct {
	Events     int // outbox events processed
	Deliveries int // deliveries created
}

// FanOutEvents turns up to limit outbox events that were not yet fanned out
// (oldest first) into one pending delivery per enabled endpoint of the
// event's merchant that subscribes to its type and existed when the event
// was appended, due at at, and marks the events fanned out. It is idempotent
// and safe to run from several senders at once: a delivery is unique per
// endpoint and event, and on Postgres concurrent callers take turns (row
// locks), so an order's deliveries are created in outbox order.
func (s *Store) FanOutEvents(ctx context.Context, at time.Time, limit int) (FanOutResult, error) {
	at = dbTime(at)
	var res FanOutResult
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var events []outboundEventRow
		q := tx.Where("fanned_out_at IS NULL").Order("seq").Limit(limit)
		if s.dialect == DialectPostgres {
			// Concurrent fan-outs wait for each other rather than skip
			// locked events: skipping would let a later event of an order
			// become a delivery (and be sent) before an earlier one whose
			// fan-out has not committed yet.
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Find(&events).Error; err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		if len(events) == 0 {
			return nil
		}
		var merchants []string
		seen := map[string]bool{}
		seqs := make([]int64, len(events))
		for i, e := range events {
			seqs[i] = e.Seq
			if !seen[e.MerchantID] {
				seen[e.MerchantID] = true
				merchants = append(merchants, e.MerchantID)
			}
		}
		var endpoints []webhookEndpointRow
		if err := tx.Where("merchant_id IN ? AND enabled", merchants).Order("created_at, id").Find(&endpoints).Error; err != nil {
			return fmt.Errorf("read webhook endpoints: %w", err)
		}
		byMerchant := map[string][]WebhookEndpoint{}
		for _, r := range endpoints {
			ep, err := r.toDomain()
			if err != nil {
				return err
			}
			byMerchant[ep.MerchantID] = append(byMerchant[ep.MerchantID], ep)
		}
		var deliveries []webhookDeliveryRow
		for _, e := range events {
			for _, ep := range byMerchant[e.MerchantID] {
				if !subscribes(ep.Events, e.Type) || ep.CreatedAt.After(e.CreatedAt) {
					continue
				}
				deliveries = append(deliveries, webhookDeliveryRow{ID: webhookDeliveryPrefix + ulid.Make().String(),
					EndpointID: ep.ID, MerchantID: e.MerchantID, EventID: e.ID, EventSeq: e.Seq, EventType: e.Type,
					OrderID: e.OrderID, State: string(DeliveryPending), NextAttemptAt: &at, CreatedAt: at, UpdatedAt: at})
			}
		}
		if len(deliveries) > 0 {
			created := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&deliveries, 100)
			if created.Error != nil {
				return fmt.Errorf("create webhook deliveries: %w", created.Error)
			}
			res.Deliveries = int(created.RowsAffected)
		}
		err := tx.Table("outbound_events").Where("seq IN ? AND fanned_out_at IS NULL", seqs).
			Update("fanned_out_at", at).Error
		if err != nil {
			return fmt.Errorf("mark outbox events fanned out: %w", err)
		}
		res.Events = len(events)
		return nil
	})
	if err != nil {
		return FanOutResult{}, err
	}
	return res, nil
}

func subscribes(events []logistics.EventType, t string) bool {
	for _, e := range events {
		if string(e) == t {
			return true
		}
	}
	return false
}

// DeliveryJob is a claimed delivery with everything needed to send it.
type DeliveryJob struct {
	DeliveryID string
	// LeaseToken proves the claim when the attempt is recorded.
	LeaseToken string
	EndpointID string
	URL        string
	// Secrets sign the request: the endpoint's secret first, then the
	// replaced one while its rotation overlap lasts.
	Secrets []string
	Event   OutboundEvent
	// Attempt is the number of the attempt about to be made (1 for the
	// first), Failures the failed attempts since the last success or
	// redelivery (the back-off step).
	Attempt  int
	Failures int
}

type deliveryJobRow struct {
	ID                      string
	LeaseToken              string
	EndpointID              string
	MerchantID              string
	OrderID                 string
	EventID                 string
	EventType               string
	Attempts                int
	Failures                int
	URL                     string `gorm:"column:url"`
	Secret                  string
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	Payload                 string
	OccurredAt              time.Time
}

// ClaimWebhookDeliveries claims up to limit open deliveries that are due at
// at, soonest first, and returns them as jobs. A claim is a lease until
// at+lease: no other sender claims the delivery before then, so several
// senders can share the work without sending twice while the lease holds. A
// delivery is claimable only when its endpoint is enabled and no earlier
// event (by outbox sequence) of the same order to the same endpoint is still
// open, so each order's events reach an endpoint in order; a dead delivery is
// final and stops holding the order back.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, at time.Time, lease time.Duration, limit int) ([]DeliveryJob, error) {
	at = dbTime(at)
	token := ulid.Make().String()
	candidates := `SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
		WHERE d.state IN ? AND d.next_attempt_at <= ? AND (d.locked_until IS NULL OR d.locked_until <= ?) AND e.enabled
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
			AND p.order_id = d.order_id AND p.event_seq < d.event_seq AND p.state IN ?)
		ORDER BY d.next_attempt_at, d.event_seq LIMIT ?`
	candidateArgs := []any{openStates, at, at, openStates, limit}
	// The outer conditions repeat the lease check: on Postgres a concurrent
	// claim of the same row is re-checked against them after its lock wait.
	update := `UPDATE webhook_deliveries SET locked_until = ?, lease_token = ?
		WHERE id IN (%s) AND state IN ? AND (locked_until IS NULL OR locked_until <= ?)`
	setArgs, outerArgs := []any{dbTime(at.Add(lease)), token}, []any{openStates, at}
	var stmt string
	var args []any
	if s.dialect == DialectPostgres {
		// A materialized CTE picks the batch exactly once (a subquery with
		// LIMIT may be re-run per row and claim more); SKIP LOCKED lets
		// concurrent senders take different rows instead of waiting.
		stmt = `WITH batch AS MATERIALIZED (` + candidates + ` FOR UPDATE OF d SKIP LOCKED) ` +
			fmt.Sprintf(update, `SELECT id FROM batch`)
		args = append(append(append(args, candidateArgs...), setArgs...), outerArgs...)
	} else {
		// SQLite runs one writer at a time: the subquery is enough.
		stmt = fmt.Sprintf(update, candidates)
		args = append(append(append(args, setArgs...), candidateArgs...), outerArgs...)
	}
	db := s.db.WithContext(ctx)
	res := db.Exec(stmt, args...)
	if res.Error != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	var rows []deliveryJobRow
	err := db.Raw(`SELECT d.id, d.lease_token, d.endpoint_id, d.merchant_id, d.order_id, d.event_id, d.event_type,
			d.attempts, d.failures, e.url, e.secret, e.previous_secret, e.previous_secret_expires_at,
			ev.payload, ev.occurred_at
		FROM webhook_deliveries d
		JOIN webhook_endpoints e ON e.id = d.endpoint_id
		JOIN outbound_events ev ON ev.id = d.event_id
		WHERE d.lease_token = ? ORDER BY d.next_attempt_at, d.event_seq`, token).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("read claimed webhook deliveries: %w", err)
	}
	jobs := make([]DeliveryJob, len(rows))
	for i, r := range rows {
		secrets := []string{r.Secret}
		if r.PreviousSecret != "" && r.PreviousSecretExpiresAt != nil && r.PreviousSecretExpiresAt.After(at) {
			secrets = append(secrets, r.PreviousSecret)
		}
		jobs[i] = DeliveryJob{DeliveryID: r.ID, LeaseToken: r.LeaseToken, EndpointID: r.EndpointID, URL: r.URL,
			Secrets: secrets, Attempt: r.Attempts + 1, Failures: r.Failures,
			Event: OutboundEvent{ID: r.EventID, MerchantID: r.MerchantID, OrderID: r.OrderID, Type: r.EventType,
				Payload: json.RawMessage(r.Payload), OccurredAt: r.OccurredAt.UTC()}}
	}
	return jobs, nil
}

// AttemptRecord is the result of one attempt of a claimed delivery.
type AttemptRecord struct {
	DeliveryID string
	LeaseToken string
	EndpointID string
	// Number is the attempt's number (DeliveryJob.Attempt).
	Number     int
	At         time.Time
	Duration   time.Duration
	Delivered  bool
	StatusCode int
	Error      string
	// For a failed attempt: Failures is the failed attempts of this cycle
	// including this one, and NextAttemptAt when to try again; a zero
	// NextAttemptAt makes the delivery dead.
	Failures      int
	NextAttemptAt time.Time
	// DisableIfFailingSince, when set on a failed attempt, disables the
	// endpoint with DisableReason if it has had no 2xx since that time or
	// earlier.
	DisableIfFailingSince time.Time
	DisableReason         string
}

// RecordWebhookAttempt logs an attempt, moves the delivery to its next state
// and releases the claim, in one transaction. A success clears the
// endpoint's failing streak; a failure starts it if needed and may disable
// the endpoint (see AttemptRecord). It reports whether the endpoint was
// disabled by this call, and ErrLeaseLost (recording nothing) when the
// caller no longer holds the delivery's lease.
func (s *Store) RecordWebhookAttempt(ctx context.Context, rec AttemptRecord) (disabled bool, err error) {
	at := dbTime(rec.At)
	updates := map[string]any{
		"attempts": rec.Number, "last_attempt_at": at, "last_status_code": rec.StatusCode,
		"last_error": rec.Error, "last_duration_ms": rec.Duration.Milliseconds(),
		"locked_until": nil, "lease_token": "", "updated_at": at,
	}
	outcome := DeliveryFailed
	switch {
	case rec.Delivered:
		outcome = DeliveryDelivered
		updates["state"], updates["failures"], updates["next_attempt_at"], updates["delivered_at"] = string(DeliveryDelivered), 0, nil, at
	case rec.NextAttemptAt.IsZero():
		updates["state"], updates["failures"], updates["next_attempt_at"] = string(DeliveryDead), rec.Failures, nil
	default:
		updates["state"], updates["failures"], updates["next_attempt_at"] = string(DeliveryFailed), rec.Failures, dbTime(rec.NextAttemptAt)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&webhookDeliveryRow{}).Where("id = ? AND lease_token = ? AND lease_token <> ''", rec.DeliveryID, rec.LeaseToken).Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("record attempt of webhook delivery %s: %w", rec.DeliveryID, res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrLeaseLost
		}
		attempt := webhookAttemptRow{DeliveryID: rec.DeliveryID, Number: rec.Number, AttemptedAt: at, Outcome: string(outcome),
			StatusCode: rec.StatusCode, Error: rec.Error, DurationMs: int(rec.Duration.Milliseconds())}
		if err := tx.Create(&attempt).Error; err != nil {
			return fmt.Errorf("log attempt %d of webhook delivery %s: %w", rec.Number, rec.DeliveryID, err)
		}
		endpoint := tx.Model(&webhookEndpointRow{}).Where("id = ?", rec.EndpointID)
		if rec.Delivered {
			if err := endpoint.Where("failing_since IS NOT NULL").Update("failing_since", nil).Error; err != nil {
				return fmt.Errorf("clear failing streak of webhook endpoint %s: %w", rec.EndpointID, err)
			}
			return nil
		}
		if err := endpoint.Update("failing_since", gorm.Expr("COALESCE(failing_since, ?)", at)).Error; err != nil {
			return fmt.Errorf("start failing streak of webhook endpoint %s: %w", rec.EndpointID, err)
		}
		if rec.DisableIfFailingSince.IsZero() {
			return nil
		}
		res = tx.Model(&webhookEndpointRow{}).
			Where("id = ? AND enabled AND failing_since <= ?", rec.EndpointID, dbTime(rec.DisableIfFailingSince)).
			Updates(map[string]any{"enabled": false, "disabled_reason": rec.DisableReason, "disabled_at": at, "updated_at": at})
		if res.Error != nil {
			return fmt.Errorf("disable webhook endpoint %s: %w", rec.EndpointID, res.Error)
		}
		disabled = res.RowsAffected == 1
		return nil
	})
	if err != nil {
		return false, err
	}
	return disabled, nil
}
