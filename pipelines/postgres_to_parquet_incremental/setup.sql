-- The source table of postgres_to_parquet_incremental (PostgreSQL), with a few rows.
--   psql "host=127.0.0.1 port=55432 dbname=etl user=etl" -f pipelines/postgres_to_parquet_incremental/setup.sql
-- updated_at is the watermark: whoever changes a row must set it to now().
CREATE TABLE IF NOT EXISTS orders (
    order_id    BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    amount      NUMERIC(10, 2) NOT NULL,
    status      TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
INSERT INTO orders VALUES
    (1, 10, 120.00, 'paid',    '2024-03-01 09:00:00'),
    (2, 11,  35.50, 'paid',    '2024-03-01 09:30:00'),
    (3, 10,  12.00, 'shipped', '2024-03-01 10:15:00'),
    (4, 12,  80.00, 'paid',    '2024-03-01 11:00:00')
ON CONFLICT (order_id) DO NOTHING;
