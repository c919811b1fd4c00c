# shellcheck shell=bash
# hive-metastore: a Hive metastore Thrift server on 127.0.0.1 (sourced by scripts/services.sh), Hive 2.3 as
# Spark ships it (the jars/ folder of pyspark or $SPARK_HOME: nothing to download), its database an embedded
# Derby under the service folder, started through services.d/hive-metastore/HiveMetastoreServer.java
# (Hive 2.3's own main binds every interface). No authentication (Thrift without SASL).
HIVE_METASTORE_PORT="${ETL_TEST_HIVE_METASTORE_PORT:-59083}"
HIVE_METASTORE_DIR="$(svc_dir hive-metastore)"
HIVE_METASTORE_PIDFILE="$HIVE_METASTORE_DIR/hive-metastore.pid"
HIVE_METASTORE_LOG="$HIVE_METASTORE_DIR/hive-metastore.log"
HIVE_METASTORE_PATTERN=HiveMetastoreServer
HIVE_METASTORE_MAIN="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/hive-metastore/HiveMetastoreServer.java"

hive-metastore_apt_packages() { have javac || echo openjdk-17-jdk-headless; }
hive-metastore_pip_packages() { :; }
hive-metastore_prepare() { hive-metastore_jars >/dev/null || die "hive-metastore: Spark's jars/ not found (set ETL_SPARK_JARS_DIR)"; }

# hive-metastore_jars: Spark's jars/ folder ($ETL_SPARK_JARS_DIR, $SPARK_HOME/jars, or pyspark's of the repo's venv).
hive-metastore_jars() {
  local py="$ETL_REPO_ROOT/.venv/bin/python" dir
  if [[ -n "${ETL_SPARK_JARS_DIR:-}" ]]; then printf '%s' "$ETL_SPARK_JARS_DIR"; return; fi
  if [[ -n "${SPARK_HOME:-}" && -d "$SPARK_HOME/jars" ]]; then printf '%s' "$SPARK_HOME/jars"; return; fi
  [[ -x "$py" ]] || py="$PYTHON"
  dir="$("$py" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))' 2>/dev/null)" &&
    [[ -d "$dir" ]] && printf '%s' "$dir"
}

hive-metastore_pid() { read_pid "$HIVE_METASTORE_PIDFILE" || true; }
hive-metastore_running() { pid_alive "$(hive-metastore_pid)" "$HIVE_METASTORE_PATTERN"; }
hive-metastore_ready() { port_open "$HIVE_METASTORE_PORT"; }

hive-metastore_start() {
  local jars
  jars="$(hive-metastore_jars)" || die "hive-metastore: Spark's jars/ not found (set ETL_SPARK_JARS_DIR)"
  mkdir -p "$HIVE_METASTORE_DIR/warehouse"
  log "hive-metastore: starting a Hive metastore on $HOST:$HIVE_METASTORE_PORT"
  HIVE_METASTORE_PORT="$HIVE_METASTORE_PORT" start_bg "$HIVE_METASTORE_PIDFILE" "$HIVE_METASTORE_LOG" \
    java -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.io.tmpdir="$HIVE_METASTORE_DIR" -cp "$jars/*" \
    "-Djavax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=$HIVE_METASTORE_DIR/metastore_db;create=true" \
    -Ddatanucleus.schema.autoCreateAll=true -Dhive.metastore.schema.verification=false \
    -Ddatanucleus.connectionPoolingType=DBCP -Dhive.metastore.warehouse.dir="$HIVE_METASTORE_DIR/warehouse" \
    -Dderby.stream.error.file="$HIVE_METASTORE_DIR/derby.log" "$HIVE_METASTORE_MAIN"
  wait_ready hive-metastore "$HIVE_METASTORE_PIDFILE" hive-metastore_ready ||
    fail hive-metastore "$HIVE_METASTORE_PIDFILE" "$HIVE_METASTORE_PATTERN" "$HIVE_METASTORE_LOG"
}

hive-metastore_stop() { stop_pid hive-metastore "$HIVE_METASTORE_PIDFILE" "$HIVE_METASTORE_PATTERN"; }
hive-metastore_port() { printf '%s' "$HIVE_METASTORE_PORT"; }

hive-metastore_env() {
  echo "export ETL_TEST_HIVE_METASTORE_URI=thrift://$HOST:$HIVE_METASTORE_PORT"
}

ALL_SERVICES+=(hive-metastore)
