-- The SQLite twin of migrations/postgres/00007_tracking_handoffs.sql.

-- +goose Up
CREATE TABLE tracking_handoffs (
    id              INTEGER   PRIMARY KEY AUTOINCREMENT,
    workflow_id     TEXT      NOT NULL,
    tracking_number TEXT      NOT NULL,
    webhook_id      TEXT      NOT NULL,
    events          TEXT      NOT NULL,
    attempts        INTEGER   NOT NULL DEFAULT 0,
    last_error      TEXT      NOT NULL DEFAULT '',
    next_attempt_at TIMESTAMP NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX tracking_handoffs_due_idx ON tracking_handoffs (next_attempt_at, id);

-- +goose Down
DROP TABLE tracking_handoffs;
