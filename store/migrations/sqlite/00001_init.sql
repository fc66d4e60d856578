-- The SQLite twin of migrations/postgres/00001_init.sql, for the zero-setup
-- dev database. Same tables, columns and indexes; types differ: timestamps
-- are TIMESTAMP text written in UTC by the driver (one fixed layout, so text
-- order is time order), JSON is TEXT, bytes are BLOB, booleans are 0/1.

-- +goose Up
CREATE TABLE merchants (
    id           TEXT      PRIMARY KEY,
    name         TEXT      NOT NULL,
    api_key_hash TEXT      NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE orders (
    merchant_id     TEXT      NOT NULL,
    order_id        TEXT      NOT NULL,
    workflow_id     TEXT      NOT NULL,
    stage           TEXT      NOT NULL,
    stuck           BOOLEAN   NOT NULL DEFAULT 0,
    stuck_reason    TEXT      NOT NULL DEFAULT '',
    action_required BOOLEAN   NOT NULL DEFAULT 0,
    destination     TEXT      NOT NULL DEFAULT '',
    order_json      TEXT      NOT NULL,
    version         BIGINT    NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, order_id)
);
CREATE INDEX orders_stuck_idx ON orders (updated_at DESC, merchant_id, order_id) WHERE stuck;
CREATE INDEX orders_merchant_updated_idx ON orders (merchant_id, updated_at DESC);

CREATE TABLE shipments (
    merchant_id        TEXT      NOT NULL,
    order_id           TEXT      NOT NULL,
    number             INTEGER   NOT NULL,
    workflow_id        TEXT      NOT NULL,
    carrier            TEXT      NOT NULL DEFAULT '',
    service            TEXT      NOT NULL DEFAULT '',
    tracking_number    TEXT      NOT NULL DEFAULT '',
    label_url          TEXT      NOT NULL DEFAULT '',
    status             TEXT      NOT NULL,
    phase              TEXT      NOT NULL DEFAULT '',
    origin             TEXT      NOT NULL DEFAULT '',
    destination        TEXT      NOT NULL DEFAULT '',
    estimated_delivery TIMESTAMP NULL,
    parcel             TEXT      NOT NULL,
    version            BIGINT    NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, order_id, number)
);
CREATE INDEX shipments_merchant_updated_idx ON shipments (merchant_id, updated_at DESC, order_id, number);
CREATE INDEX shipments_merchant_status_idx ON shipments (merchant_id, status, updated_at DESC);
CREATE INDEX shipments_merchant_phase_idx ON shipments (merchant_id, phase, updated_at DESC);
CREATE INDEX shipments_merchant_carrier_idx ON shipments (merchant_id, carrier, updated_at DESC);
CREATE INDEX shipments_merchant_destination_idx ON shipments (merchant_id, destination, updated_at DESC);
CREATE INDEX shipments_tracking_number_idx ON shipments (tracking_number);

CREATE TABLE legs (
    merchant_id     TEXT    NOT NULL,
    order_id        TEXT    NOT NULL,
    shipment_number INTEGER NOT NULL,
    sequence        INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    carrier         TEXT    NOT NULL DEFAULT '',
    service         TEXT    NOT NULL DEFAULT '',
    tracking_number TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (merchant_id, order_id, shipment_number, sequence),
    FOREIGN KEY (merchant_id, order_id, shipment_number)
        REFERENCES shipments (merchant_id, order_id, number) ON DELETE CASCADE
);
CREATE INDEX legs_tracking_number_idx ON legs (tracking_number);

CREATE TABLE tracking_events (
    id                INTEGER   PRIMARY KEY AUTOINCREMENT,
    merchant_id       TEXT      NOT NULL,
    order_id          TEXT      NOT NULL,
    shipment_number   INTEGER   NOT NULL,
    dedup_key         TEXT      NOT NULL UNIQUE,
    status            TEXT      NOT NULL,
    phase             TEXT      NOT NULL DEFAULT '',
    substatus         TEXT      NOT NULL DEFAULT '',
    reason            TEXT      NOT NULL DEFAULT '',
    responsible_party TEXT      NOT NULL DEFAULT '',
    action_required   BOOLEAN   NOT NULL DEFAULT 0,
    occurred_at       TIMESTAMP NOT NULL,
    location_city     TEXT      NOT NULL DEFAULT '',
    location_country  TEXT      NOT NULL DEFAULT '',
    carrier           TEXT      NOT NULL DEFAULT '',
    tracking_number   TEXT      NOT NULL DEFAULT '',
    raw_code          TEXT      NOT NULL DEFAULT '',
    raw_description   TEXT      NOT NULL DEFAULT '',
    source            TEXT      NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX tracking_events_order_idx ON tracking_events (merchant_id, order_id, occurred_at, id);

CREATE TABLE customs_decisions (
    merchant_id TEXT      NOT NULL,
    order_id    TEXT      NOT NULL,
    decision    TEXT      NOT NULL,
    regime      TEXT      NOT NULL DEFAULT '',
    blocked     BOOLEAN   NOT NULL DEFAULT 0,
    rules_as_of TEXT      NOT NULL DEFAULT '',
    decided_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, order_id)
);

CREATE TABLE processed_webhooks (
    source      TEXT      NOT NULL,
    webhook_id  TEXT      NOT NULL,
    event_type  TEXT      NOT NULL DEFAULT '',
    merchant_id TEXT      NOT NULL DEFAULT '',
    order_id    TEXT      NOT NULL DEFAULT '',
    status_code INTEGER   NOT NULL,
    response    BLOB      NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (source, webhook_id)
);
CREATE INDEX processed_webhooks_order_idx ON processed_webhooks (source, event_type, merchant_id, order_id);

-- +goose Down
DROP TABLE processed_webhooks;
DROP TABLE customs_decisions;
DROP TABLE tracking_events;
DROP TABLE legs;
DROP TABLE shipments;
DROP TABLE orders;
DROP TABLE merchants;
