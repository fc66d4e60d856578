package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// newerVersion is the condition of a monotonic upsert: the stored row is
// replaced only by a strictly newer version. It reads the same on Postgres
// and SQLite, and being part of the INSERT it needs no lock or read first.
func newerVersion(table string) clause.Where {
	return clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: table + ".version < excluded.version"}}}
}

func columns(names ...string) []clause.Column {
	cols := make([]clause.Column, len(names))
	for i, n := range names {
		cols[i] = clause.Column{Name: n}
	}
	return cols
}

func requireIDs(what string, ids ...string) error {
	for _, id := range ids {
		if id == "" {
			return logistics.Errorf(logistics.CodeInvalid, "%s needs a merchant id and an order id", what)
		}
	}
	return nil
}

// SaveOrder writes the order projection. It is idempotent and monotonic: if
// the stored version is rec.Version or newer nothing changes and applied is
// false, so a retried or late activity never overwrites a newer state.
// created_at is set on the first write (from rec.At, or now) and kept.
func (s *Store) SaveOrder(ctx context.Context, rec OrderRecord) (applied bool, err error) {
	if err := requireIDs("an order record", rec.MerchantID, rec.OrderID); err != nil {
		return false, err
	}
	row, err := orderFromDomain(rec)
	if err != nil {
		return false, err
	}
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: columns("merchant_id", "order_id"),
		DoUpdates: clause.AssignmentColumns([]string{"workflow_id", "stage", "stuck", "stuck_reason",
			"action_required", "destination", "order_json", "version", "updated_at"}),
		Where: newerVersion("orders"),
	}).Create(&row)
	if res.Error != nil {
		return false, fmt.Errorf("save order %s/%s: %w", rec.MerchantID, rec.OrderID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// SaveShipment writes the shipment projection, monotonic on rec.Version like
// SaveOrder. When applied, the shipment's legs are replaced by
// rec.Shipment.Legs in the same transaction. A zero Shipment.UpdatedAt is
// set to now.
func (s *Store) SaveShipment(ctx context.Context, rec ShipmentRecord) (applied bool, err error) {
	sh := rec.Shipment
	if err := requireIDs("a shipment record", sh.MerchantID, sh.OrderID); err != nil {
		return false, err
	}
	row, legs, err := shipmentFromDomain(rec)
	if err != nil {
		return false, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{
			Columns: columns("merchant_id", "order_id", "number"),
			DoUpdates: clause.AssignmentColumns([]string{"workflow_id", "carrier", "service", "tracking_number",
				"label_url", "status", "phase", "origin", "destination", "estimated_delivery", "parcel",
				"version", "updated_at"}),
			Where: newerVersion("shipments"),
		}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		applied = true
		err := tx.Where("merchant_id = ? AND order_id = ? AND shipment_number = ?", sh.MerchantID, sh.OrderID, sh.Number).
			Delete(&legRow{}).Error
		if err != nil {
			return err
		}
		if len(legs) == 0 {
			return nil
		}
		return tx.Create(&legs).Error
	})
	if err != nil {
		return false, fmt.Errorf("save shipment %s/%s/%d: %w", sh.MerchantID, sh.OrderID, sh.Number, err)
	}
	return applied, nil
}

// SaveCustomsDecision stores the order's customs decision made at at (zero
// means now), replacing an earlier one; a decision older than the stored one
// is ignored, so a late retry cannot undo a newer decision.
func (s *Store) SaveCustomsDecision(ctx context.Context, merchantID, orderID string, d logistics.CustomsDecision, at time.Time) error {
	if err := requireIDs("a customs decision", merchantID, orderID); err != nil {
		return err
	}
	row, err := customsFromDomain(merchantID, orderID, d, at)
	if err != nil {
		return err
	}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   columns("merchant_id", "order_id"),
		DoUpdates: clause.AssignmentColumns([]string{"decision", "regime", "blocked", "rules_as_of", "decided_at"}),
		Where: clause.Where{Exprs: []clause.Expression{
			clause.Expr{SQL: "customs_decisions.decided_at <= excluded.decided_at"}}},
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save customs decision of order %s/%s: %w", merchantID, orderID, err)
	}
	return nil
}

// trackingBatch bounds the rows of one INSERT (SQLite caps bound variables).
const trackingBatch = 200

// AddTrackingEvents stores the events of a shipment, skipping any whose
// TrackingEvent.DedupKey is already stored (by this or an earlier call), in
// one transaction. It returns how many were new.
func (s *Store) AddTrackingEvents(ctx context.Context, merchantID, orderID string, shipmentNumber int, events []logistics.TrackingEvent) (inserted int, err error) {
	if err := requireIDs("tracking events", merchantID, orderID); err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	at := now()
	rows := make([]trackingEventRow, len(events))
	for i, e := range events {
		rows[i] = trackingEventFromDomain(merchantID, orderID, shipmentNumber, e, at)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for start := 0; start < len(rows); start += trackingBatch {
			batch := rows[start:min(start+trackingBatch, len(rows))]
			res := tx.Clauses(clause.OnConflict{Columns: columns("dedup_key"), DoNothing: true}).Create(&batch)
			if res.Error != nil {
				return res.Error
			}
			inserted += int(res.RowsAffected)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add tracking events of shipment %s/%s/%d: %w", merchantID, orderID, shipmentNumber, err)
	}
	return inserted, nil
}
