-- The SQLite twin of migrations/postgres/00005_order_intakes.sql.

-- +goose Up
CREATE TABLE order_intakes (
    merchant_id TEXT      NOT NULL,
    order_id    TEXT      NOT NULL,
    webhook_id  TEXT      NOT NULL,
    claim       TEXT      NOT NULL,
    claimed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, order_id)
);

-- Orders accepted before this table existed: the earliest accepted delivery
-- holds the intake (rows insert in ORDER BY order; OR IGNORE keeps the first).
INSERT OR IGNORE INTO order_intakes (merchant_id, order_id, webhook_id, claim, claimed_at)
SELECT merchant_id, order_id, webhook_id, '', created_at
FROM processed_webhooks
WHERE source = 'orders' AND event_type = 'order.created' AND status_code BETWEEN 200 AND 299
ORDER BY created_at, webhook_id;

-- +goose Down
DROP TABLE order_intakes;
