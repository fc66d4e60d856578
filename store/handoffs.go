package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// AcceptedShipment is the part of an accepted tracking submission that
// belongs to one shipment: its events and the reference that routes them.
type AcceptedShipment struct {
	Ref            ShipmentRef
	TrackingNumber string
	Events         []logistics.TrackingEvent
}

// TrackingAcceptance is a tracking submission (a carrier webhook, manual
// scans, a CSV import) that the API has verified and resolved, with the
// answer it gives the submitter.
type TrackingAcceptance struct {
	// Record is the answer recorded under (Source, ID); its ID also names
	// the hand-offs.
	Record    WebhookRecord
	Shipments []AcceptedShipment
}

// TrackingHandoff is an accepted batch of tracking events of one shipment
// that its workflow has not been signalled yet.
type TrackingHandoff struct {
	ID             int64
	WorkflowID     string
	TrackingNumber string
	WebhookID      string
	Events         []logistics.TrackingEvent
	// Attempts counts the relay's claims of this hand-off, this one included.
	Attempts  int
	CreatedAt time.Time
}

type trackingHandoffRow struct {
	ID             int64 `gorm:"column:id;primaryKey;autoIncrement"`
	WorkflowID     string
	TrackingNumber string
	WebhookID      string
	Events         string
	Attempts       int
	LastError      string
	NextAttemptAt  time.Time
	CreatedAt      time.Time
}

func (trackingHandoffRow) TableName() string { return "tracking_handoffs" }

func (r trackingHandoffRow) toDomain() (TrackingHandoff, error) {
	h := TrackingHandoff{ID: r.ID, WorkflowID: r.WorkflowID, TrackingNumber: r.TrackingNumber, WebhookID: r.WebhookID,
		Attempts: r.Attempts, CreatedAt: r.CreatedAt.UTC()}
	if err := json.Unmarshal([]byte(r.Events), &h.Events); err != nil {
		return TrackingHandoff{}, fmt.Errorf("tracking hand-off %d: events: %w", r.ID, err)
	}
	return h, nil
}

// AcceptTracking makes a tracking submission durable in one transaction:
// it records the answer a.Record (the first answer for its source and id
// wins), stores each shipment's events in its timeline (deduplicated, as
// AddTrackingEvents) and queues one hand-off per shipment for the relay to
// signal to the shipment's workflow. If the submission was already recorded
// it writes nothing and returns the first record with inserted=false, so a
// redelivery replays the first answer and has no effect.
func (s *Store) AcceptTracking(ctx context.Context, a TrackingAcceptance) (first WebhookRecord, inserted bool, err error) {
	if a.Record.Source == "" || a.Record.ID == "" {
		return WebhookRecord{}, false, logistics.Errorf(logistics.CodeInvalid, "a tracking submission needs a source and an id")
	}
	at := now()
	rec := webhookFromDomain(a.Record)
	rec.CreatedAt = dbTimeOrNow(a.Record.CreatedAt)
	var events []trackingEventRow
	handoffs := make([]trackingHandoffRow, 0, len(a.Shipments))
	for _, sh := range a.Shipments {
		if err := requireIDs("tracking events", sh.Ref.MerchantID, sh.Ref.OrderID); err != nil {
			return WebhookRecord{}, false, err
		}
		if sh.Ref.WorkflowID == "" || len(sh.Events) == 0 {
			return WebhookRecord{}, false, logistics.Errorf(logistics.CodeInvalid, "an accepted shipment needs a workflow and events")
		}
		for _, e := range sh.Events {
			events = append(events, trackingEventFromDomain(sh.Ref.MerchantID, sh.Ref.OrderID, sh.Ref.Number, e, at))
		}
		payload, err := json.Marshal(sh.Events)
		if err != nil {
			return WebhookRecord{}, false, fmt.Errorf("encode tracking hand-off: %w", err)
		}
		handoffs = append(handoffs, trackingHandoffRow{WorkflowID: sh.Ref.WorkflowID, TrackingNumber: sh.TrackingNumber,
			WebhookID: a.Record.ID, Events: string(payload), NextAttemptAt: at, CreatedAt: at})
	}
	if s.accepts != nil {
		inserted, err = s.accepts.accept(&acceptCall{ctx: ctx, rec: rec, events: events, handoffs: handoffs})
	} else {
		inserted, err = s.acceptTrackingTx(ctx, rec, events, handoffs)
	}
	if err != nil {
		return WebhookRecord{}, false, fmt.Errorf("accept tracking %s/%s: %w", a.Record.Source, a.Record.ID, err)
	}
	if inserted {
		return rec.toDomain(), true, nil
	}
	existing, found, err := s.FindWebhook(ctx, a.Record.Source, a.Record.ID)
	if err != nil {
		return WebhookRecord{}, false, err
	}
	if !found {
		return WebhookRecord{}, false, fmt.Errorf("accept tracking %s/%s: conflicting record not found", a.Record.Source, a.Record.ID)
	}
	return existing, false, nil
}

// acceptTrackingTx writes an accepted submission in one transaction of
// several statements (SQLite, which has one writer at a time anyway).
func (s *Store) acceptTrackingTx(ctx context.Context, rec webhookRow, events []trackingEventRow, handoffs []trackingHandoffRow) (inserted bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rec)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		inserted = true
		for start := 0; start < len(events); start += trackingBatch {
			batch := events[start:min(start+trackingBatch, len(events))]
			if err := tx.Clauses(clause.OnConflict{Columns: columns("dedup_key"), DoNothing: true}).Create(&batch).Error; err != nil {
				return err
			}
		}
		if len(handoffs) > 0 {
			return tx.CreateInBatches(&handoffs, trackingBatch).Error
		}
		return nil
	})
	return inserted, err
}

// ClaimTrackingHandoffs leases up to limit hand-offs that are due at at,
// oldest first: each claimed hand-off is not due again before at+lease,
// so a relay that dies mid-signal leaves it to be claimed again then.
// Concurrent relays (several API processes) never claim the same hand-off
// within a lease.
func (s *Store) ClaimTrackingHandoffs(ctx context.Context, at time.Time, lease time.Duration, limit int) ([]TrackingHandoff, error) {
	if limit <= 0 || lease <= 0 {
		return nil, logistics.Errorf(logistics.CodeInvalid, "claiming hand-offs needs a positive limit and lease")
	}
	due := `SELECT id FROM tracking_handoffs WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`
	if s.dialect == DialectPostgres {
		due += ` FOR UPDATE SKIP LOCKED`
	}
	var rows []trackingHandoffRow
	err := s.db.WithContext(ctx).Raw(`UPDATE tracking_handoffs SET next_attempt_at = ?, attempts = attempts + 1
WHERE id IN (`+due+`)
RETURNING id, workflow_id, tracking_number, webhook_id, events, attempts, last_error, next_attempt_at, created_at`,
		dbTime(at.Add(lease)), dbTime(at), limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("claim tracking hand-offs: %w", err)
	}
	out := make([]TrackingHandoff, 0, len(rows))
	for _, r := range rows {
		h, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	// RETURNING gives no order: hand them over oldest first.
	slices.SortFunc(out, func(a, b TrackingHandoff) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CompleteTrackingHandoffs deletes hand-offs whose events their workflow
// has received (or that can no longer matter). It is idempotent.
func (s *Store) CompleteTrackingHandoffs(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Delete(&trackingHandoffRow{}).Error; err != nil {
		return fmt.Errorf("complete tracking hand-offs: %w", err)
	}
	return nil
}

// RetryTrackingHandoffs postpones hand-offs to next, keeping why the last
// attempt failed (cut to 500 bytes).
func (s *Store) RetryTrackingHandoffs(ctx context.Context, ids []int64, next time.Time, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	if len(reason) > 500 {
		reason = reason[:500]
	}
	err := s.db.WithContext(ctx).Model(&trackingHandoffRow{}).Where("id IN ?", ids).
		Updates(map[string]any{"next_attempt_at": dbTime(next), "last_error": reason}).Error
	if err != nil {
		return fmt.Errorf("postpone tracking hand-offs: %w", err)
	}
	return nil
}

// TrackingHandoffBacklog counts the hand-offs not yet delivered and the
// time the oldest was accepted (zero when there is none).
func (s *Store) TrackingHandoffBacklog(ctx context.Context) (pending int64, oldest time.Time, err error) {
	db := s.db.WithContext(ctx)
	if err := db.Model(&trackingHandoffRow{}).Count(&pending).Error; err != nil {
		return 0, time.Time{}, fmt.Errorf("count tracking hand-offs: %w", err)
	}
	if pending == 0 {
		return 0, time.Time{}, nil
	}
	var first []trackingHandoffRow
	if err := db.Order("id").Limit(1).Find(&first).Error; err != nil {
		return 0, time.Time{}, fmt.Errorf("oldest tracking hand-off: %w", err)
	}
	if len(first) == 1 {
		oldest = first[0].CreatedAt.UTC()
	}
	return pending, oldest, nil
}
