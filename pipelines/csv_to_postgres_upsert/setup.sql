-- The target table of csv_to_postgres_upsert (PostgreSQL). The primary key is what the
-- upsert matches rows by. Run it once:
--   psql "host=127.0.0.1 port=55432 dbname=etl user=etl" -f pipelines/csv_to_postgres_upsert/setup.sql
CREATE TABLE IF NOT EXISTS customers (
    customer_id BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT,
    country     CHAR(2),
    updated_at  TIMESTAMP NOT NULL
);
