-- The SQLite twin of migrations/postgres/00008_tracking_handoffs_lz4.sql:
-- SQLite has no column compression, so there is nothing to change; the
-- migration keeps both dialects on one version list.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
