-- Paper for carriers without APIs: the labels and customs forms Crossdock
-- prints itself (template labels, CN22/CN23), and the lines of each
-- batch-only carrier's end-of-day manifest until they are submitted.

-- +goose Up
CREATE TABLE documents (
    merchant_id     text        NOT NULL,
    tracking_number text        NOT NULL,
    kind            text        NOT NULL,
    order_id        text        NOT NULL,
    content_type    text        NOT NULL,
    content         bytea       NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, tracking_number, kind)
);

CREATE TABLE manifest_lines (
    carrier         text        NOT NULL,
    tracking_number text        NOT NULL,
    day             text        NOT NULL,
    merchant_id     text        NOT NULL,
    order_id        text        NOT NULL,
    line            jsonb       NOT NULL,
    submitted_in    text,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (carrier, tracking_number)
);
CREATE INDEX manifest_lines_day_idx ON manifest_lines (carrier, day);

-- +goose Down
DROP TABLE manifest_lines;
DROP TABLE documents;
