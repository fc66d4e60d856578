-- Outbound events for merchants (order.stage_changed, shipment.status_changed,
-- order.action_required), appended by the workflows' activities as things
-- happen and delivered by the outbound webhook sender. The id is decided by
-- the workflow (<workflow id>/<n>), so a retried activity appends once.

-- +goose Up
CREATE TABLE outbound_events (
    id          text        PRIMARY KEY,
    merchant_id text        NOT NULL,
    order_id    text        NOT NULL,
    type        text        NOT NULL,
    payload     jsonb       NOT NULL,
    occurred_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL
);
-- The sender reads a merchant's events in order; an order's timeline too.
CREATE INDEX outbound_events_merchant_idx ON outbound_events (merchant_id, occurred_at, id);
CREATE INDEX outbound_events_order_idx ON outbound_events (merchant_id, order_id, occurred_at, id);

-- +goose Down
DROP TABLE outbound_events;
