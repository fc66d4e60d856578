-- The SQLite twin of migrations/postgres/00004_webhook_endpoints.sql.
--
-- SQLite cannot add an autoincrement column to a table, so the outbox is
-- rebuilt with seq as its INTEGER PRIMARY KEY (AUTOINCREMENT: never reused,
-- and stable across VACUUM, unlike a plain rowid); id stays unique, so
-- appends stay idempotent. Existing events keep their order (occurred_at, id)
-- and are marked fanned out: no endpoint existed to receive them.

-- +goose Up
CREATE TABLE outbound_events_new (
    seq           INTEGER   PRIMARY KEY AUTOINCREMENT,
    id            TEXT      NOT NULL UNIQUE,
    merchant_id   TEXT      NOT NULL,
    order_id      TEXT      NOT NULL,
    type          TEXT      NOT NULL,
    payload       TEXT      NOT NULL,
    occurred_at   TIMESTAMP NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    fanned_out_at TIMESTAMP NULL
);
INSERT INTO outbound_events_new (id, merchant_id, order_id, type, payload, occurred_at, created_at, fanned_out_at)
    SELECT id, merchant_id, order_id, type, payload, occurred_at, created_at, created_at
    FROM outbound_events ORDER BY occurred_at, id;
DROP TABLE outbound_events;
ALTER TABLE outbound_events_new RENAME TO outbound_events;
CREATE INDEX outbound_events_merchant_idx ON outbound_events (merchant_id, occurred_at, id);
CREATE INDEX outbound_events_order_idx ON outbound_events (merchant_id, order_id, occurred_at, id);
CREATE INDEX outbound_events_fan_out_idx ON outbound_events (seq) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_endpoints (
    id                         TEXT      PRIMARY KEY,
    merchant_id                TEXT      NOT NULL REFERENCES merchants (id) ON DELETE CASCADE,
    url                        TEXT      NOT NULL,
    events                     TEXT      NOT NULL,
    secret                     TEXT      NOT NULL,
    previous_secret            TEXT      NOT NULL DEFAULT '',
    previous_secret_expires_at TIMESTAMP NULL,
    enabled                    BOOLEAN   NOT NULL DEFAULT 1,
    disabled_reason            TEXT      NOT NULL DEFAULT '',
    disabled_at                TIMESTAMP NULL,
    failing_since              TIMESTAMP NULL,
    created_at                 TIMESTAMP NOT NULL,
    updated_at                 TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_merchant_idx ON webhook_endpoints (merchant_id, created_at DESC, id DESC);

CREATE TABLE webhook_deliveries (
    id               TEXT      PRIMARY KEY,
    endpoint_id      TEXT      NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    merchant_id      TEXT      NOT NULL,
    event_id         TEXT      NOT NULL,
    event_seq        BIGINT    NOT NULL,
    event_type       TEXT      NOT NULL,
    order_id         TEXT      NOT NULL,
    state            TEXT      NOT NULL,
    attempts         INTEGER   NOT NULL DEFAULT 0,
    failures         INTEGER   NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NULL,
    locked_until     TIMESTAMP NULL,
    lease_token      TEXT      NOT NULL DEFAULT '',
    last_attempt_at  TIMESTAMP NULL,
    last_status_code INTEGER   NOT NULL DEFAULT 0,
    last_error       TEXT      NOT NULL DEFAULT '',
    last_duration_ms INTEGER   NOT NULL DEFAULT 0,
    delivered_at     TIMESTAMP NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state IN ('pending', 'failed');
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, order_id, event_seq);
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);

CREATE TABLE webhook_attempts (
    delivery_id  TEXT      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number       INTEGER   NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    outcome      TEXT      NOT NULL,
    status_code  INTEGER   NOT NULL DEFAULT 0,
    error        TEXT      NOT NULL DEFAULT '',
    duration_ms  INTEGER   NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, number)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
CREATE TABLE outbound_events_old (
    id          TEXT      PRIMARY KEY,
    merchant_id TEXT      NOT NULL,
    order_id    TEXT      NOT NULL,
    type        TEXT      NOT NULL,
    payload     TEXT      NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
INSERT INTO outbound_events_old (id, merchant_id, order_id, type, payload, occurred_at, created_at)
    SELECT id, merchant_id, order_id, type, payload, occurred_at, created_at FROM outbound_events ORDER BY seq;
DROP TABLE outbound_events;
ALTER TABLE outbound_events_old RENAME TO outbound_events;
CREATE INDEX outbound_events_merchant_idx ON outbound_events (merchant_id, occurred_at, id);
CREATE INDEX outbound_events_order_idx ON outbound_events (merchant_id, order_id, occurred_at, id);
