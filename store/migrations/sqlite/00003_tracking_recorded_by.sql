-- The SQLite twin of migrations/postgres/00003_tracking_recorded_by.sql.

-- +goose Up
ALTER TABLE tracking_events ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tracking_events DROP COLUMN recorded_by;
