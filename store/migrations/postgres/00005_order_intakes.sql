-- Order intake: which order.created delivery starts an order. The first
-- delivery for a merchant's order claims its row (INSERT ... ON CONFLICT DO
-- NOTHING, so concurrent deliveries cannot both win); it starts the order and
-- records its answer in processed_webhooks, which completes the intake. Every
-- other delivery, whatever its webhook-id, is a duplicate (answered 200). The
-- claim names the delivery attempt, so two concurrent deliveries of one
-- webhook-id are told apart; a claim older than the API's lease whose holder
-- never recorded an answer (its process died) may be taken over.

-- +goose Up
CREATE TABLE order_intakes (
    merchant_id text        NOT NULL,
    order_id    text        NOT NULL,
    webhook_id  text        NOT NULL,
    claim       text        NOT NULL,
    claimed_at  timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, order_id)
);

-- Orders accepted before this table existed: their first accepted delivery
-- holds the intake, so a later duplicate still answers 200.
INSERT INTO order_intakes (merchant_id, order_id, webhook_id, claim, claimed_at)
SELECT DISTINCT ON (merchant_id, order_id) merchant_id, order_id, webhook_id, '', created_at
FROM processed_webhooks
WHERE source = 'orders' AND event_type = 'order.created' AND status_code BETWEEN 200 AND 299
ORDER BY merchant_id, order_id, created_at, webhook_id;

-- +goose Down
DROP TABLE order_intakes;
