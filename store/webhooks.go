package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// WebhookSourceOrders is the source of the order service's webhooks.
const WebhookSourceOrders = "orders"

// FindWebhook returns the record of the webhook (source, id) and true, or
// false if it was never recorded.
func (s *Store) FindWebhook(ctx context.Context, source, id string) (WebhookRecord, bool, error) {
	var row webhookRow
	err := s.db.WithContext(ctx).Where("source = ? AND webhook_id = ?", source, id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return WebhookRecord{}, false, nil
	}
	if err != nil {
		return WebhookRecord{}, false, fmt.Errorf("find webhook %s/%s: %w", source, id, err)
	}
	return row.toDomain(), true, nil
}

// RecordWebhook records the answer given to webhook (rec.Source, rec.ID)
// unless one is already recorded. The first answer wins, even between
// concurrent deliveries: it returns the stored record and whether this call
// inserted it, so a redelivery replays the first answer. A zero CreatedAt is
// set to now.
func (s *Store) RecordWebhook(ctx context.Context, rec WebhookRecord) (first WebhookRecord, inserted bool, err error) {
	if rec.Source == "" || rec.ID == "" {
		return WebhookRecord{}, false, logistics.Errorf(logistics.CodeInvalid, "a webhook record needs a source and an id")
	}
	row := webhookFromDomain(rec)
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return WebhookRecord{}, false, fmt.Errorf("record webhook %s/%s: %w", rec.Source, rec.ID, res.Error)
	}
	if res.RowsAffected == 1 {
		return row.toDomain(), true, nil
	}
	existing, found, err := s.FindWebhook(ctx, rec.Source, rec.ID)
	if err != nil {
		return WebhookRecord{}, false, err
	}
	if !found {
		// The conflicting row vanished between the two statements; nothing
		// deletes webhook records, so this is a bug worth surfacing.
		return WebhookRecord{}, false, fmt.Errorf("record webhook %s/%s: conflicting record not found", rec.Source, rec.ID)
	}
	return existing, false, nil
}
