-- The projection of Crossdock's workflows (architecture.md): written only by
-- activities, read by the API. Versions are monotonic per row so a late write
-- never overwrites a newer one.

-- +goose Up
CREATE TABLE merchants (
    id           text        PRIMARY KEY,
    name         text        NOT NULL,
    api_key_hash text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE orders (
    merchant_id     text        NOT NULL,
    order_id        text        NOT NULL,
    workflow_id     text        NOT NULL,
    stage           text        NOT NULL,
    stuck           boolean     NOT NULL DEFAULT false,
    stuck_reason    text        NOT NULL DEFAULT '',
    action_required boolean     NOT NULL DEFAULT false,
    destination     text        NOT NULL DEFAULT '',
    order_json      jsonb       NOT NULL,
    version         bigint      NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, order_id)
);
-- Ops list of stuck orders across merchants, newest first.
CREATE INDEX orders_stuck_idx ON orders (updated_at DESC, merchant_id, order_id) WHERE stuck;
CREATE INDEX orders_merchant_updated_idx ON orders (merchant_id, updated_at DESC);

CREATE TABLE shipments (
    merchant_id        text        NOT NULL,
    order_id           text        NOT NULL,
    number             integer     NOT NULL,
    workflow_id        text        NOT NULL,
    carrier            text        NOT NULL DEFAULT '',
    service            text        NOT NULL DEFAULT '',
    tracking_number    text        NOT NULL DEFAULT '',
    label_url          text        NOT NULL DEFAULT '',
    status             text        NOT NULL,
    phase              text        NOT NULL DEFAULT '',
    origin             text        NOT NULL DEFAULT '',
    destination        text        NOT NULL DEFAULT '',
    estimated_delivery timestamptz NULL,
    parcel             jsonb       NOT NULL,
    version            bigint      NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, order_id, number)
);
-- GET /v1/shipments: keyset paging on (updated_at DESC, order_id, number),
-- alone or under one of the contract's filters.
CREATE INDEX shipments_merchant_updated_idx ON shipments (merchant_id, updated_at DESC, order_id, number);
CREATE INDEX shipments_merchant_status_idx ON shipments (merchant_id, status, updated_at DESC);
CREATE INDEX shipments_merchant_phase_idx ON shipments (merchant_id, phase, updated_at DESC);
CREATE INDEX shipments_merchant_carrier_idx ON shipments (merchant_id, carrier, updated_at DESC);
CREATE INDEX shipments_merchant_destination_idx ON shipments (merchant_id, destination, updated_at DESC);
-- Carrier webhooks and the public tracking page look shipments up by number.
CREATE INDEX shipments_tracking_number_idx ON shipments (tracking_number);

CREATE TABLE legs (
    merchant_id     text    NOT NULL,
    order_id        text    NOT NULL,
    shipment_number integer NOT NULL,
    sequence        integer NOT NULL,
    kind            text    NOT NULL,
    carrier         text    NOT NULL DEFAULT '',
    service         text    NOT NULL DEFAULT '',
    tracking_number text    NOT NULL DEFAULT '',
    status          text    NOT NULL DEFAULT '',
    PRIMARY KEY (merchant_id, order_id, shipment_number, sequence),
    FOREIGN KEY (merchant_id, order_id, shipment_number)
        REFERENCES shipments (merchant_id, order_id, number) ON DELETE CASCADE
);
CREATE INDEX legs_tracking_number_idx ON legs (tracking_number);

CREATE TABLE tracking_events (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id       text        NOT NULL,
    order_id          text        NOT NULL,
    shipment_number   integer     NOT NULL,
    dedup_key         text        NOT NULL UNIQUE,
    status            text        NOT NULL,
    phase             text        NOT NULL DEFAULT '',
    substatus         text        NOT NULL DEFAULT '',
    reason            text        NOT NULL DEFAULT '',
    responsible_party text        NOT NULL DEFAULT '',
    action_required   boolean     NOT NULL DEFAULT false,
    occurred_at       timestamptz NOT NULL,
    location_city     text        NOT NULL DEFAULT '',
    location_country  text        NOT NULL DEFAULT '',
    carrier           text        NOT NULL DEFAULT '',
    tracking_number   text        NOT NULL DEFAULT '',
    raw_code          text        NOT NULL DEFAULT '',
    raw_description   text        NOT NULL DEFAULT '',
    source            text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL
);
CREATE INDEX tracking_events_order_idx ON tracking_events (merchant_id, order_id, occurred_at, id);

CREATE TABLE customs_decisions (
    merchant_id text        NOT NULL,
    order_id    text        NOT NULL,
    decision    jsonb       NOT NULL,
    regime      text        NOT NULL DEFAULT '',
    blocked     boolean     NOT NULL DEFAULT false,
    rules_as_of text        NOT NULL DEFAULT '',
    decided_at  timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, order_id)
);

CREATE TABLE processed_webhooks (
    source      text        NOT NULL,
    webhook_id  text        NOT NULL,
    event_type  text        NOT NULL DEFAULT '',
    merchant_id text        NOT NULL DEFAULT '',
    order_id    text        NOT NULL DEFAULT '',
    status_code integer     NOT NULL,
    response    bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (source, webhook_id)
);
-- A second order.created for an order already received (another webhook-id).
CREATE INDEX processed_webhooks_order_idx ON processed_webhooks (source, event_type, merchant_id, order_id);

-- +goose Down
DROP TABLE processed_webhooks;
DROP TABLE customs_decisions;
DROP TABLE tracking_events;
DROP TABLE legs;
DROP TABLE shipments;
DROP TABLE orders;
DROP TABLE merchants;
