package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// IntakeOutcome is what ClaimOrderIntake decided for one order.created
// delivery.
type IntakeOutcome int

const (
	// IntakeFirst: this delivery holds the order's intake claim. It starts
	// the order and records its answer under source "orders" with a 2xx
	// status, which completes the intake, or calls ReleaseOrderIntake if it
	// could not start the order.
	IntakeFirst IntakeOutcome = iota + 1
	// IntakeDuplicate: the delivery IntakeDecision.WebhookID already started
	// the order (its 2xx answer is recorded). Nothing is to be started.
	IntakeDuplicate
	// IntakePending: another delivery holds the claim and has neither
	// finished nor outlived its lease. Ask again shortly.
	IntakePending
)

// String names the outcome for logs.
func (o IntakeOutcome) String() string {
	switch o {
	case IntakeFirst:
		return "first"
	case IntakeDuplicate:
		return "duplicate"
	case IntakePending:
		return "pending"
	}
	return fmt.Sprintf("IntakeOutcome(%d)", int(o))
}

// OrderIntakeClaim is one order.created delivery asking to start its order.
type OrderIntakeClaim struct {
	MerchantID string
	OrderID    string
	// WebhookID is the delivery's webhook-id; its recorded answer completes
	// the intake.
	WebhookID string
	// Claim identifies the delivery attempt (unique per request), so that
	// two concurrent deliveries of one webhook-id are told apart.
	Claim string
	// At is the current time. A claim made before At-Lease whose holder has
	// recorded no answer is presumed abandoned and may be taken over.
	At    time.Time
	Lease time.Duration
}

// IntakeDecision is ClaimOrderIntake's answer: the outcome and the
// webhook-id of the delivery holding the order's intake.
type IntakeDecision struct {
	Outcome   IntakeOutcome
	WebhookID string
	// TookOver is set with IntakeFirst when the claim was taken over from
	// a holder that outlived its lease without recording an answer: that
	// holder may have started the order before its process died.
	TookOver bool
}

type orderIntakeRow struct {
	MerchantID string `gorm:"column:merchant_id;primaryKey"`
	OrderID    string `gorm:"column:order_id;primaryKey"`
	WebhookID  string `gorm:"column:webhook_id"`
	Claim      string `gorm:"column:claim"`
	ClaimedAt  time.Time
}

func (orderIntakeRow) TableName() string { return "order_intakes" }

// intakeState is an intake row with whether its holder's answer is recorded.
type intakeState struct {
	WebhookID string
	Claim     string
	ClaimedAt time.Time
	Started   bool
}

// answeredSQL is true when the intake holder's answer to its order.created
// is recorded with a 2xx status: the order is started. It is a subquery on
// an order_intakes row (arguments: the orders source, the event type).
const answeredSQL = `SELECT 1 FROM processed_webhooks w
WHERE w.source = ? AND w.webhook_id = order_intakes.webhook_id AND w.event_type = ?
  AND w.merchant_id = order_intakes.merchant_id AND w.order_id = order_intakes.order_id
  AND w.status_code BETWEEN 200 AND 299`

// claimAttempts bounds the claim loop: each retry follows a claim that was
// released or taken over between two statements, which needs a concurrent
// delivery to finish in that gap.
const claimAttempts = 4

// ClaimOrderIntake decides, atomically across processes, which of the
// order.created deliveries of one merchant's order starts it: the first to
// insert the order's intake row (ON CONFLICT DO NOTHING) holds it. Every
// other delivery gets IntakeDuplicate once the holder has recorded its 2xx
// answer, IntakePending before that, and IntakeFirst if it takes over a
// claim older than the lease whose holder recorded nothing. Asking again with
// the holder's own Claim answers IntakeFirst. It writes only the intake row.
func (s *Store) ClaimOrderIntake(ctx context.Context, c OrderIntakeClaim) (IntakeDecision, error) {
	if c.MerchantID == "" || c.OrderID == "" || c.WebhookID == "" || c.Claim == "" || c.Lease <= 0 || c.At.IsZero() {
		return IntakeDecision{}, logistics.Errorf(logistics.CodeInvalid, "an order intake claim needs a merchant, an order, a webhook id, a claim, a time and a lease")
	}
	first := IntakeDecision{Outcome: IntakeFirst, WebhookID: c.WebhookID}
	row := orderIntakeRow{MerchantID: c.MerchantID, OrderID: c.OrderID, WebhookID: c.WebhookID, Claim: c.Claim, ClaimedAt: dbTime(c.At)}
	staleBefore := dbTime(c.At.Add(-c.Lease))
	for range claimAttempts {
		res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return IntakeDecision{}, fmt.Errorf("claim intake of order %s/%s: %w", c.MerchantID, c.OrderID, res.Error)
		}
		if res.RowsAffected == 1 {
			return first, nil
		}
		cur, found, err := s.intakeState(ctx, c.MerchantID, c.OrderID)
		if err != nil {
			return IntakeDecision{}, err
		}
		switch {
		case !found:
			continue // released by a holder that failed: claim it afresh
		case cur.Started:
			return IntakeDecision{Outcome: IntakeDuplicate, WebhookID: cur.WebhookID}, nil
		case cur.Claim == c.Claim:
			return first, nil
		case cur.ClaimedAt.After(staleBefore):
			return IntakeDecision{Outcome: IntakePending, WebhookID: cur.WebhookID}, nil
		}
		// The holder outlived its lease without an answer: take over, unless
		// it moved on (released, completed, taken over) since the read.
		res = s.db.WithContext(ctx).Model(&orderIntakeRow{}).
			Where("merchant_id = ? AND order_id = ? AND claim = ?", c.MerchantID, c.OrderID, cur.Claim).
			Where("NOT EXISTS ("+answeredSQL+")", WebhookSourceOrders, logistics.SignalOrderCreated).
			Updates(map[string]any{"webhook_id": c.WebhookID, "claim": c.Claim, "claimed_at": row.ClaimedAt})
		if res.Error != nil {
			return IntakeDecision{}, fmt.Errorf("take over intake of order %s/%s: %w", c.MerchantID, c.OrderID, res.Error)
		}
		if res.RowsAffected == 1 {
			return IntakeDecision{Outcome: IntakeFirst, WebhookID: c.WebhookID, TookOver: true}, nil
		}
	}
	// Claims kept changing hands under us: let the caller ask again later.
	return IntakeDecision{Outcome: IntakePending}, nil
}

// intakeState reads the order's intake row and whether its holder's 2xx
// answer is recorded, or false if there is no row.
func (s *Store) intakeState(ctx context.Context, merchantID, orderID string) (intakeState, bool, error) {
	var st intakeState
	res := s.db.WithContext(ctx).Raw(`SELECT webhook_id, claim, claimed_at, EXISTS (`+answeredSQL+`) AS started
FROM order_intakes WHERE merchant_id = ? AND order_id = ?`, WebhookSourceOrders, logistics.SignalOrderCreated, merchantID, orderID).Scan(&st)
	if res.Error != nil {
		return intakeState{}, false, fmt.Errorf("read intake of order %s/%s: %w", merchantID, orderID, res.Error)
	}
	if res.RowsAffected == 0 {
		return intakeState{}, false, nil
	}
	return st, true, nil
}

// ReleaseOrderIntake gives up the order's intake claim made with claim, so
// another delivery may start the order: the holder calls it when it could
// not. It deletes nothing if the claim has changed hands or the holder's
// answer is recorded, and is idempotent.
func (s *Store) ReleaseOrderIntake(ctx context.Context, merchantID, orderID, claim string) error {
	err := s.db.WithContext(ctx).
		Where("merchant_id = ? AND order_id = ? AND claim = ?", merchantID, orderID, claim).
		Where("NOT EXISTS ("+answeredSQL+")", WebhookSourceOrders, logistics.SignalOrderCreated).
		Delete(&orderIntakeRow{}).Error
	if err != nil {
		return fmt.Errorf("release intake of order %s/%s: %w", merchantID, orderID, err)
	}
	return nil
}
