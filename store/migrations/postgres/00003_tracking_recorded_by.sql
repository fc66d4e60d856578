-- Who entered a tracking event by hand (manual scan or CSV import), for the
-- audit trail; empty for events a carrier reported.

-- +goose Up
ALTER TABLE tracking_events ADD COLUMN recorded_by text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tracking_events DROP COLUMN recorded_by;
