# shellcheck shell=bash
# iceberg-rest: an Apache Iceberg REST catalog on 127.0.0.1 (sourced by scripts/services.sh): Iceberg's own
# test server classes (iceberg-core's tests jar: RESTCatalogAdapter, RESTCatalogServlet) over a JdbcCatalog on
# SQLite, tables in a warehouse folder, served by Jetty 12 through services.d/iceberg-rest/IcebergRestServer.java
# (Iceberg's RESTCatalogServer fixture binds every interface, and its runtime jar is not on Maven Central).
# Every request must carry `Authorization: Bearer $ETL_TEST_ICEBERG_REST_TOKEN`. The jars are resolved with
# Maven once, cached under ${ETL_CACHE_DIR}/iceberg-rest-<version>/lib.
ICEBERG_REST_VERSION="${ETL_ICEBERG_REST_VERSION:-1.11.0}" # the newest iceberg-core whose tests jar Central serves
ICEBERG_REST_JETTY_VERSION=12.1.5
ICEBERG_REST_HADOOP_VERSION=3.4.2
ICEBERG_REST_PORT="${ETL_TEST_ICEBERG_REST_PORT:-59181}"
ICEBERG_REST_TOKEN="${ETL_TEST_ICEBERG_REST_TOKEN:-etl-iceberg-rest-token}"
ICEBERG_REST_DIR="$(svc_dir iceberg-rest)"
ICEBERG_REST_LIB="$ETL_CACHE_DIR/iceberg-rest-$ICEBERG_REST_VERSION/lib"
ICEBERG_REST_PIDFILE="$ICEBERG_REST_DIR/iceberg-rest.pid"
ICEBERG_REST_LOG="$ICEBERG_REST_DIR/iceberg-rest.log"
ICEBERG_REST_PATTERN=IcebergRestServer
ICEBERG_REST_MAIN="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/iceberg-rest/IcebergRestServer.java"

iceberg-rest_apt_packages() { have mvn || echo maven; have javac || echo openjdk-17-jdk-headless; have curl || echo curl; }
iceberg-rest_pip_packages() { :; }

# iceberg-rest_prepare: resolve the server jars with Maven once (a .complete marker makes the cache reusable).
iceberg-rest_prepare() {
  [[ -f "$ICEBERG_REST_LIB/../.complete" ]] && return 0
  local work v="$ICEBERG_REST_VERSION" j="$ICEBERG_REST_JETTY_VERSION" h="$ICEBERG_REST_HADOOP_VERSION"
  work="$(mktemp -d)"
  cat >"$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.etl-cli</groupId><artifactId>iceberg-rest</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.iceberg</groupId><artifactId>iceberg-core</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.apache.iceberg</groupId><artifactId>iceberg-core</artifactId><version>$v</version><classifier>tests</classifier><type>jar</type></dependency>
    <dependency><groupId>org.eclipse.jetty.ee10</groupId><artifactId>jetty-ee10-servlet</artifactId><version>$j</version></dependency>
    <dependency><groupId>org.xerial</groupId><artifactId>sqlite-jdbc</artifactId><version>3.47.1.0</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>2.0.16</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-client-api</artifactId><version>$h</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-client-runtime</artifactId><version>$h</version></dependency>
  </dependencies>
</project>
POM
  log "iceberg-rest: resolving iceberg-core $v (and its tests jar), Jetty $j with Maven into $ICEBERG_REST_LIB"
  rm -rf "$ICEBERG_REST_LIB" && mkdir -p "$ICEBERG_REST_LIB"
  mvn -B -q -f "$work/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$ICEBERG_REST_LIB" -DincludeScope=runtime -DexcludeTypes=pom >"$work/mvn.log" 2>&1 ||
    { tail -n 20 "$work/mvn.log" >&2; rm -rf "$work"; die "iceberg-rest: Maven could not resolve the server jars"; }
  rm -rf "$work"
  touch "$ICEBERG_REST_LIB/../.complete"
}

iceberg-rest_pid() { read_pid "$ICEBERG_REST_PIDFILE" || true; }
iceberg-rest_running() { pid_alive "$(iceberg-rest_pid)" "$ICEBERG_REST_PATTERN"; }
iceberg-rest_ready() { [[ "$(http_code "http://$HOST:$ICEBERG_REST_PORT/v1/config")" == 401 ]]; }

iceberg-rest_start() {
  mkdir -p "$ICEBERG_REST_DIR/warehouse"
  log "iceberg-rest: starting an Iceberg REST catalog on $HOST:$ICEBERG_REST_PORT"
  # the token goes through the environment, never the command line
  ICEBERG_REST_PORT="$ICEBERG_REST_PORT" ICEBERG_REST_TOKEN="$ICEBERG_REST_TOKEN" \
    ICEBERG_REST_DB="$ICEBERG_REST_DIR/catalog.db" ICEBERG_REST_WAREHOUSE="$ICEBERG_REST_DIR/warehouse" \
    start_bg "$ICEBERG_REST_PIDFILE" "$ICEBERG_REST_LOG" java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.io.tmpdir="$ICEBERG_REST_DIR" -cp "$ICEBERG_REST_LIB/*" \
    "$ICEBERG_REST_MAIN"
  wait_ready iceberg-rest "$ICEBERG_REST_PIDFILE" iceberg-rest_ready ||
    fail iceberg-rest "$ICEBERG_REST_PIDFILE" "$ICEBERG_REST_PATTERN" "$ICEBERG_REST_LOG"
}

iceberg-rest_stop() { stop_pid iceberg-rest "$ICEBERG_REST_PIDFILE" "$ICEBERG_REST_PATTERN"; }
iceberg-rest_port() { printf '%s' "$ICEBERG_REST_PORT"; }

iceberg-rest_env() {
  cat <<EOT
export ETL_TEST_ICEBERG_REST_URL=http://$HOST:$ICEBERG_REST_PORT
export ETL_TEST_ICEBERG_REST_TOKEN=$ICEBERG_REST_TOKEN
EOT
}

ALL_SERVICES+=(iceberg-rest)
