-- Tracking hand-offs: compress the events JSON with lz4. 00007 stored it
-- uncompressed (EXTERNAL) because pglz cost more than it saved. lz4 costs
-- a fraction of pglz: an import file's hand-off (about 14 kB of JSON per
-- shipment, very repetitive) compresses to under the 2 kB TOAST threshold,
-- so it stays in the row instead of being cut into chunks in the TOAST
-- table and its index. Measured on a 500-scan import over 16 shipments:
-- the hand-off insert fell from 1.4 to 0.3 ms, its WAL from 220 to 13 kB,
-- and the whole accept from 12-16 to 9-11 ms. Small hand-offs (one
-- carrier webhook's scan) fit in the row either way and are not touched.
--
-- A server built without lz4 refuses the compression method; there the
-- column keeps 00007's uncompressed storage.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE tracking_handoffs ALTER COLUMN events SET COMPRESSION lz4;
    ALTER TABLE tracking_handoffs ALTER COLUMN events SET STORAGE EXTENDED;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available on this server: tracking_handoffs.events stays uncompressed';
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE tracking_handoffs ALTER COLUMN events SET STORAGE EXTERNAL;
ALTER TABLE tracking_handoffs ALTER COLUMN events SET COMPRESSION DEFAULT;
