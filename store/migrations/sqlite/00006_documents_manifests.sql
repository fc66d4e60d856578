-- The SQLite twin of migrations/postgres/00006_documents_manifests.sql.

-- +goose Up
CREATE TABLE documents (
    merchant_id     TEXT      NOT NULL,
    tracking_number TEXT      NOT NULL,
    kind            TEXT      NOT NULL,
    order_id        TEXT      NOT NULL,
    content_type    TEXT      NOT NULL,
    content         BLOB      NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (merchant_id, tracking_number, kind)
);

CREATE TABLE manifest_lines (
    carrier         TEXT      NOT NULL,
    tracking_number TEXT      NOT NULL,
    day             TEXT      NOT NULL,
    merchant_id     TEXT      NOT NULL,
    order_id        TEXT      NOT NULL,
    line            TEXT      NOT NULL,
    submitted_in    TEXT,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (carrier, tracking_number)
);
CREATE INDEX manifest_lines_day_idx ON manifest_lines (carrier, day);

-- +goose Down
DROP TABLE manifest_lines;
DROP TABLE documents;
