-- Tracking hand-offs: tracking events the API has accepted (stored in
-- tracking_events and acknowledged to the carrier or ops) and not yet
-- signalled to their shipment's workflow. The API writes a row in the same
-- transaction as the events and the webhook's recorded answer, so an
-- acknowledged event is never lost; the hand-off relay signals the workflow
-- and deletes the row, retrying with backoff while Temporal or the workflow
-- is not there. next_attempt_at doubles as the relay's lease. events is the
-- JSON the relay signals, kept as text: nothing queries into it, and jsonb's
-- parsing on insert was a fifth of a large import's statement time.

-- +goose Up
CREATE TABLE tracking_handoffs (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_id     text        NOT NULL,
    tracking_number text        NOT NULL,
    webhook_id      text        NOT NULL,
    events          text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX tracking_handoffs_due_idx ON tracking_handoffs (next_attempt_at, id);
-- Rows live for moments and are read whole: compressing them costs more
-- than it saves.
ALTER TABLE tracking_handoffs ALTER COLUMN events SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE tracking_handoffs;
