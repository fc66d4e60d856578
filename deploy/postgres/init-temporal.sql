-- Runs once, when the postgres volume is first initialised
-- (docker-entrypoint-initdb.d). Temporal gets its own role; its auto-setup
-- creates the temporal and temporal_visibility databases with it.
-- Demo password: change it together with POSTGRES_PWD in docker-compose.yml.
CREATE ROLE temporal LOGIN PASSWORD 'temporal' CREATEDB;
