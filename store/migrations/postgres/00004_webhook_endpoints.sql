-- Outbound merchant webhooks: the endpoints merchants subscribe, one
-- delivery per endpoint and outbox event, and the log of every HTTP attempt.
--
-- The outbox gains a stable sequence (seq) so the sender reads events in the
-- order they were appended and keeps each order's events in that order per
-- endpoint, and fanned_out_at, set once an event has been turned into
-- deliveries. Events appended before this migration are marked fanned out:
-- no endpoint existed to receive them.

-- +goose Up
ALTER TABLE outbound_events ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE outbound_events ADD CONSTRAINT outbound_events_seq_key UNIQUE (seq);
ALTER TABLE outbound_events ADD COLUMN fanned_out_at timestamptz NULL;
UPDATE outbound_events SET fanned_out_at = created_at;
-- The sender's fan-out scan: events not yet turned into deliveries, in order.
CREATE INDEX outbound_events_fan_out_idx ON outbound_events (seq) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_endpoints (
    id                         text        PRIMARY KEY,
    merchant_id                text        NOT NULL REFERENCES merchants (id) ON DELETE CASCADE,
    url                        text        NOT NULL,
    events                     jsonb       NOT NULL,
    secret                     text        NOT NULL,
    -- The secret replaced by the last rotation keeps signing (a second
    -- signature) until previous_secret_expires_at.
    previous_secret            text        NOT NULL DEFAULT '',
    previous_secret_expires_at timestamptz NULL,
    enabled                    boolean     NOT NULL DEFAULT true,
    disabled_reason            text        NOT NULL DEFAULT '',
    disabled_at                timestamptz NULL,
    -- The first failed attempt since the endpoint last answered 2xx; the
    -- sender disables an endpoint that has failed for too long.
    failing_since              timestamptz NULL,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id, created_at DESC, id DESC);

CREATE TABLE webhook_deliveries (
    id               text        PRIMARY KEY,
    endpoint_id      text        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    merchant_id      text        NOT NULL,
    event_id         text        NOT NULL,
    event_seq        bigint      NOT NULL,
    event_type       text        NOT NULL,
    order_id         text        NOT NULL,
    -- pending (not tried yet) | failed (retry at next_attempt_at) | delivered | dead
    state            text        NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    -- Failed attempts since the last success or redelivery: the back-off step.
    failures         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NULL,
    -- A sender's claim: no other sender takes the delivery before locked_until,
    -- and only the lease_token holder may record its attempt.
    locked_until     timestamptz NULL,
    lease_token      text        NOT NULL DEFAULT '',
    last_attempt_at  timestamptz NULL,
    last_status_code integer     NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT '',
    last_duration_ms integer     NOT NULL DEFAULT 0,
    delivered_at     timestamptz NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
-- Due work, soonest first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state IN ('pending', 'failed');
-- Per-order ordering: is an earlier event of this order still open for this endpoint?
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, order_id, event_seq);
-- The delivery log, newest first.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

CREATE TABLE webhook_attempts (
    delivery_id  text        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number       integer     NOT NULL,
    attempted_at timestamptz NOT NULL,
    -- delivered (2xx) | failed
    outcome      text        NOT NULL,
    status_code  integer     NOT NULL DEFAULT 0,
    error        text        NOT NULL DEFAULT '',
    duration_ms  integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, number)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP INDEX outbound_events_fan_out_idx;
ALTER TABLE outbound_events DROP COLUMN fanned_out_at;
ALTER TABLE outbound_events DROP CONSTRAINT outbound_events_seq_key;
ALTER TABLE outbound_events DROP COLUMN seq;
