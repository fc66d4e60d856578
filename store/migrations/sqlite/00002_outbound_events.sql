-- The SQLite twin of migrations/postgres/00002_outbound_events.sql.

-- +goose Up
CREATE TABLE outbound_events (
    id          TEXT      PRIMARY KEY,
    merchant_id TEXT      NOT NULL,
    order_id    TEXT      NOT NULL,
    type        TEXT      NOT NULL,
    payload     TEXT      NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX outbound_events_merchant_idx ON outbound_events (merchant_id, occurred_at, id);
CREATE INDEX outbound_events_order_idx ON outbound_events (merchant_id, order_id, occurred_at, id);

-- +goose Down
DROP TABLE outbound_events;
