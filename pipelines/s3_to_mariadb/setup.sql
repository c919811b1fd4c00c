-- The target table of s3_to_mariadb (MariaDB or MySQL). The upsert matches rows by sku.
--   mariadb -h 127.0.0.1 -P 53306 -u etl -p etl < pipelines/s3_to_mariadb/setup.sql
CREATE TABLE IF NOT EXISTS inventory (
    sku        VARCHAR(32) NOT NULL PRIMARY KEY,
    name       VARCHAR(200) NOT NULL,
    price      DECIMAL(10, 2) NOT NULL,
    warehouse  VARCHAR(32),
    quantity   INT NOT NULL DEFAULT 0
);
