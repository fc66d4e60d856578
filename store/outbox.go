package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// OutboundEvent is an event for a merchant (contract.md: order.stage_changed,
// shipment.status_changed, order.action_required), kept until the outbound
// webhook sender delivers it. ID is chosen by the workflow that emits it, so
// appending is idempotent.
type OutboundEvent struct {
	ID         string
	MerchantID string
	OrderID    string
	Type       string
	Payload    json.RawMessage
	OccurredAt time.Time
}

type outboundEventRow struct {
	// Seq is the outbox order, assigned by the database on insert.
	Seq        int64  `gorm:"column:seq;->"`
	ID         string `gorm:"column:id;primaryKey"`
	MerchantID string
	OrderID    string
	Type       string
	Payload    string
	OccurredAt time.Time
	CreatedAt  time.Time
}

func (outboundEventRow) TableName() string { return "outbound_events" }

// AppendEvent stores an outbound event once: a second append of the same id
// (a retried activity) changes nothing and reports inserted=false.
func (s *Store) AppendEvent(ctx context.Context, e OutboundEvent) (inserted bool, err error) {
	if e.ID == "" || e.MerchantID == "" || e.OrderID == "" || e.Type == "" {
		return false, logistics.Errorf(logistics.CodeInvalid, "an outbound event needs an id, a merchant, an order and a type")
	}
	if !json.Valid(e.Payload) {
		return false, logistics.Errorf(logistics.CodeInvalid, "outbound event %s: payload is not JSON", e.ID)
	}
	row := outboundEventRow{ID: e.ID, MerchantID: e.MerchantID, OrderID: e.OrderID, Type: e.Type,
		Payload: string(e.Payload), OccurredAt: dbTime(e.OccurredAt), CreatedAt: dbTimeOrNow(time.Time{})}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, fmt.Errorf("append outbound event %s: %w", e.ID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// OrderEvents lists an order's outbound events in the order they happened.
func (s *Store) OrderEvents(ctx context.Context, merchantID, orderID string) ([]OutboundEvent, error) {
	var rows []outboundEventRow
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND order_id = ?", merchantID, orderID).
		Order("occurred_at, id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list outbound events of %s/%s: %w", merchantID, orderID, err)
	}
	out := make([]OutboundEvent, len(rows))
	for i, r := range rows {
		out[i] = OutboundEvent{ID: r.ID, MerchantID: r.MerchantID, OrderID: r.OrderID, Type: r.Type,
			Payload: json.RawMessage(r.Payload), OccurredAt: r.OccurredAt.UTC()}
	}
	return out, nil
}
