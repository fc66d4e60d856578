package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// Outbound webhook limits.
const (
	// MaxWebhookEndpoints is how many endpoints one merchant may subscribe.
	MaxWebhookEndpoints = 10
	// WebhookSecretPrefix starts every endpoint secret (Standard Webhooks).
	WebhookSecretPrefix = "whsec_"
	// webhookEndpointPrefix and webhookDeliveryPrefix start the ids.
	webhookEndpointPrefix = "we_"
	webhookDeliveryPrefix = "wd_"
)

// WebhookEndpoint is a merchant's subscription to outbound events. Its
// signing secret is never part of it: the store hands the secret out only
// when it makes one (create and rotate) and to the sender.
type WebhookEndpoint struct {
	ID         string
	MerchantID string
	URL        string
	Events     []logistics.EventType
	Enabled    bool
	// DisabledReason says why the sender disabled the endpoint; empty when
	// enabled.
	DisabledReason string
	DisabledAt     *time.Time
	// PreviousSecretExpiresAt is set after a rotation: until then the
	// replaced secret signs too (a second signature).
	PreviousSecretExpiresAt *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

type webhookEndpointRow struct {
	ID                      string `gorm:"column:id;primaryKey"`
	MerchantID              string
	URL                     string `gorm:"column:url"`
	Events                  string
	Secret                  string
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	Enabled                 bool
	DisabledReason          string
	DisabledAt              *time.Time
	FailingSince            *time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

func (webhookEndpointRow) TableName() string { return "webhook_endpoints" }

func (r webhookEndpointRow) toDomain() (WebhookEndpoint, error) {
	var events []logistics.EventType
	if err := json.Unmarshal([]byte(r.Events), &events); err != nil {
		return WebhookEndpoint{}, fmt.Errorf("decode events of webhook endpoint %s: %w", r.ID, err)
	}
	return WebhookEndpoint{ID: r.ID, MerchantID: r.MerchantID, URL: r.URL, Events: events, Enabled: r.Enabled,
		DisabledReason: r.DisabledReason, DisabledAt: utcPtr(r.DisabledAt),
		PreviousSecretExpiresAt: utcPtr(r.PreviousSecretExpiresAt),
		CreatedAt:               r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// NewWebhookSecret returns a new endpoint signing secret: "whsec_" and the
// base64 of 32 bytes from crypto/rand (Standard Webhooks asks for 24 to 64).
func NewWebhookSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// NewWebhookEndpoint is what a merchant subscribes: a URL (already checked by
// the caller: scheme, and that it does not point inside our network) and
// one or more event types.
type NewWebhookEndpoint struct {
	MerchantID string
	URL        string
	Events     []logistics.EventType
}

// CreateWebhookEndpoint stores a new, enabled endpoint with a fresh secret
// and returns it with the secret (shown to the merchant once). Event types
// are deduplicated into contract order. A merchant that already has
// MaxWebhookEndpoints answers CodeConflict; an unknown event type, an empty
// list or an empty URL, CodeInvalid. The count and the insert are one
// transaction (the merchant row is locked on Postgres), so concurrent
// creates cannot pass the limit.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, in NewWebhookEndpoint) (WebhookEndpoint, string, error) {
	events, err := canonicalEvents(in.Events)
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	if in.URL == "" || !logistics.ValidID(in.MerchantID) {
		return WebhookEndpoint{}, "", logistics.Errorf(logistics.CodeInvalid, "a webhook endpoint needs a merchant and a URL")
	}
	secret, err := NewWebhookSecret()
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	eventsJSON, err := json.Marshal(events)
	if err != nil {
		return WebhookEndpoint{}, "", fmt.Errorf("encode webhook events: %w", err)
	}
	at := now()
	row := webhookEndpointRow{ID: webhookEndpointPrefix + ulid.Make().String(), MerchantID: in.MerchantID, URL: in.URL,
		Events: string(eventsJSON), Secret: secret, Enabled: true, CreatedAt: at, UpdatedAt: at}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var m merchantRow
		q := tx.Select("id").Where("id = ?", in.MerchantID)
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Take(&m).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return logistics.ErrNotFound
			}
			return fmt.Errorf("lock merchant %s: %w", in.MerchantID, err)
		}
		var n int64
		if err := tx.Model(&webhookEndpointRow{}).Where("merchant_id = ?", in.MerchantID).Count(&n).Error; err != nil {
			return fmt.Errorf("count webhook endpoints of %s: %w", in.MerchantID, err)
		}
		if n >= MaxWebhookEndpoints {
			return logistics.Errorf(logistics.CodeConflict,
				"a merchant may have at most %d webhook endpoints; delete one first", MaxWebhookEndpoints)
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("create webhook endpoint for %s: %w", in.MerchantID, err)
		}
		return nil
	})
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	ep, err := row.toDomain()
	return ep, secret, err
}

// canonicalEvents checks event types against the contract and returns them
// deduplicated, in contract order.
func canonicalEvents(in []logistics.EventType) ([]logistics.EventType, error) {
	if len(in) == 0 {
		return nil, &logistics.Error{Code: logistics.CodeInvalid, Message: "the webhook endpoint is invalid",
			Details: []logistics.FieldProblem{{Field: "events", Problem: "must list at least one event type"}}}
	}
	want := map[logistics.EventType]bool{}
	for i, e := range in {
		if !e.Valid() {
			return nil, &logistics.Error{Code: logistics.CodeInvalid, Message: "the webhook endpoint is invalid",
				Details: []logistics.FieldProblem{{Field: fmt.Sprintf("events[%d]", i), Problem: "is not an outbound event type"}}}
		}
		want[e] = true
	}
	out := make([]logistics.EventType, 0, len(want))
	for _, e := range logistics.EventTypes {
		if want[e] {
			out = append(out, e)
		}
	}
	return out, nil
}

// GetWebhookEndpoint returns the merchant's endpoint. Another merchant's
// endpoint answers logistics.ErrNotFound, exactly like a missing one.
func (s *Store) GetWebhookEndpoint(ctx context.Context, merchantID, id string) (WebhookEndpoint, error) {
	row, err := s.endpointRow(s.db.WithContext(ctx), merchantID, id)
	if err != nil {
		return WebhookEndpoint{}, err
	}
	return row.toDomain()
}

func (s *Store) endpointRow(db *gorm.DB, merchantID, id string) (webhookEndpointRow, error) {
	var row webhookEndpointRow
	err := db.Where("merchant_id = ? AND id = ?", merchantID, id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return webhookEndpointRow{}, logistics.ErrNotFound
	}
	if err != nil {
		return webhookEndpointRow{}, fmt.Errorf("get webhook endpoint %s of %s: %w", id, merchantID, err)
	}
	return row, nil
}

// ListWebhookEndpoints returns a page of the merchant's endpoints, newest
// first, and the cursor of the next page ("" on the last). Limit is clamped
// to 1..200 (default 50); a cursor that is not one of this list's answers
// CodeInvalid on the field "cursor".
func (s *Store) ListWebhookEndpoints(ctx context.Context, merchantID string, limit int, cursorText string) ([]WebhookEndpoint, string, error) {
	limit = clampLimit(limit)
	q, err := newestFirst(s.db.WithContext(ctx).Where("merchant_id = ?", merchantID), cursorWebhookEndpoints, merchantID, cursorText, limit)
	if err != nil {
		return nil, "", err
	}
	var rows []webhookEndpointRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list webhook endpoints of %s: %w", merchantID, err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = newestFirstCursor(cursorWebhookEndpoints, merchantID, last.CreatedAt, last.ID)
	}
	out := make([]WebhookEndpoint, len(rows))
	for i, r := range rows {
		ep, err := r.toDomain()
		if err != nil {
			return nil, "", err
		}
		out[i] = ep
	}
	return out, next, nil
}

// DeleteWebhookEndpoint deletes the merchant's endpoint with its deliveries
// and their log; nothing more is sent to it. Another merchant's endpoint
// answers logistics.ErrNotFound, like a missing one.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, merchantID, id string) error {
	res := s.db.WithContext(ctx).Where("merchant_id = ? AND id = ?", merchantID, id).Delete(&webhookEndpointRow{})
	if res.Error != nil {
		return fmt.Errorf("delete webhook endpoint %s of %s: %w", id, merchantID, res.Error)
	}
	if res.RowsAffected == 0 {
		return logistics.ErrNotFound
	}
	return nil
}

// RotateWebhookSecret gives the merchant's endpoint a new secret and returns
// it (shown once). The replaced secret keeps signing, as a second signature,
// for overlap; a second rotation within the overlap drops the oldest secret.
func (s *Store) RotateWebhookSecret(ctx context.Context, merchantID, id string, overlap time.Duration) (WebhookEndpoint, string, error) {
	secret, err := NewWebhookSecret()
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	at := now()
	var row webhookEndpointRow
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// previous_secret = secret reads the value before this update on
		// both dialects.
		res := tx.Model(&webhookEndpointRow{}).Where("merchant_id = ? AND id = ?", merchantID, id).Updates(map[string]any{
			"previous_secret":            gorm.Expr("secret"),
			"secret":                     secret,
			"previous_secret_expires_at": dbTime(at.Add(overlap)),
			"updated_at":                 at,
		})
		if res.Error != nil {
			return fmt.Errorf("rotate secret of webhook endpoint %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return logistics.ErrNotFound
		}
		row, err = s.endpointRow(tx, merchantID, id)
		return err
	})
	if err != nil {
		return WebhookEndpoint{}, "", err
	}
	ep, err := row.toDomain()
	return ep, secret, err
}

// EnableWebhookEndpoint enables the merchant's endpoint again after the
// sender disabled it. The deliveries it still holds (pending or failed) are
// due at once with a fresh retry schedule; events that happened while it was
// disabled were not fanned out to it and are not sent. Enabling an enabled
// endpoint changes nothing.
func (s *Store) EnableWebhookEndpoint(ctx context.Context, merchantID, id string) (WebhookEndpoint, error) {
	at := now()
	var row webhookEndpointRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if row, err = s.endpointRow(tx, merchantID, id); err != nil || row.Enabled {
			return err
		}
		err = tx.Model(&webhookEndpointRow{}).Where("id = ?", id).Updates(map[string]any{
			"enabled": true, "disabled_reason": "", "disabled_at": nil, "failing_since": nil, "updated_at": at,
		}).Error
		if err != nil {
			return fmt.Errorf("enable webhook endpoint %s: %w", id, err)
		}
		err = tx.Model(&webhookDeliveryRow{}).Where("endpoint_id = ? AND state IN ?", id, openStates).
			Updates(map[string]any{"next_attempt_at": at, "failures": 0, "updated_at": at}).Error
		if err != nil {
			return fmt.Errorf("reschedule deliveries of webhook endpoint %s: %w", id, err)
		}
		row, err = s.endpointRow(tx, merchantID, id)
		return err
	})
	if err != nil {
		return WebhookEndpoint{}, err
	}
	return row.toDomain()
}
