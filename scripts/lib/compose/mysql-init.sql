-- Run once by the mysql image on first start (docker-compose.yml mounts it into
-- /docker-entrypoint-initdb.d). Matches what scripts/services.sh sets up on MariaDB.
-- mysql_native_password keeps clients that cannot do caching_sha2_password's RSA
-- exchange over plain TCP (MariaDB Connector/J without allowPublicKeyRetrieval,
-- PyMySQL without `cryptography`) working against the dev server.
ALTER USER 'etl'@'%' IDENTIFIED WITH mysql_native_password BY 'etl-test-pw';
-- Tests may create scratch databases named etl_<something>.
GRANT ALL PRIVILEGES ON `etl\_%`.* TO 'etl'@'%';
FLUSH PRIVILEGES;
