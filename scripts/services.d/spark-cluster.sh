# shellcheck shell=bash
# spark-cluster: a Spark standalone cluster on 127.0.0.1, one master and two workers (1 core, 1 GiB each), run
# with the launch script of the installed pyspark distribution (`pyspark/bin/spark-class ...Master` and
# `...Worker`; the pip package's sbin/ has no start-master.sh), so the cluster runs exactly the Spark the driver
# runs (sourced by scripts/services.sh). Work folders and logs live under the services folder.
SPARK_CLUSTER_PORT="${ETL_TEST_SPARK_MASTER_PORT:-57077}"
SPARK_CLUSTER_UI_PORT="${ETL_TEST_SPARK_MASTER_UI_PORT:-58090}"
# the two workers: RPC ports and web UIs (fixed, so a leftover worker is found by its port)
SPARK_CLUSTER_WORKER_PORTS=("${ETL_TEST_SPARK_WORKER1_PORT:-57078}" "${ETL_TEST_SPARK_WORKER2_PORT:-57079}")
SPARK_CLUSTER_WORKER_UI_PORTS=("${ETL_TEST_SPARK_WORKER1_UI_PORT:-58091}" "${ETL_TEST_SPARK_WORKER2_UI_PORT:-58092}")
SPARK_CLUSTER_WORKER_CORES="${ETL_TEST_SPARK_WORKER_CORES:-1}"
SPARK_CLUSTER_WORKER_MEMORY="${ETL_TEST_SPARK_WORKER_MEMORY:-1g}"
SPARK_CLUSTER_DIR="$(svc_dir spark-cluster)"
SPARK_CLUSTER_PIDFILE="$SPARK_CLUSTER_DIR/master.pid"
SPARK_CLUSTER_PATTERN=org.apache.spark.deploy

spark-cluster_apt_packages() { have java || echo openjdk-17-jre-headless; have curl || echo curl; }
spark-cluster_pip_packages() { :; }
# spark_cluster_python: the interpreter whose pyspark runs the cluster: $PYTHON when it has pyspark, else the
# project's .venv (where etl-cli and its pyspark are installed)
spark_cluster_python() {
  if py_has pyspark; then printf '%s' "$PYTHON"; else printf '%s' "$ETL_REPO_ROOT/.venv/bin/python"; fi
}
spark-cluster_prepare() {
  "$(spark_cluster_python)" -c 'import pyspark' 2>/dev/null ||
    die "spark-cluster: pyspark not found (install etl-cli into .venv, or set PYTHON to an interpreter with pyspark)"
}
# spark_cluster_home: the installed pyspark distribution (its bin/spark-class and jars/)
spark_cluster_home() { "$(spark_cluster_python)" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'; }

spark-cluster_pid() { read_pid "$SPARK_CLUSTER_PIDFILE" || true; }
spark_cluster_worker_pidfile() { printf '%s/worker-%s.pid' "$SPARK_CLUSTER_DIR" "$1"; }
spark-cluster_running() {
  local i
  pid_alive "$(spark-cluster_pid)" "$SPARK_CLUSTER_PATTERN.master.Master" || return 1
  for i in 1 2; do
    pid_alive "$(read_pid "$(spark_cluster_worker_pidfile "$i")" || true)" "$SPARK_CLUSTER_PATTERN.worker.Worker" ||
      return 1
  done
}

# ready: the master's JSON lists both workers ALIVE
spark_cluster_ready() {
  curl -s -m 5 "http://$HOST:$SPARK_CLUSTER_UI_PORT/json/" 2>/dev/null | "$PYTHON" -c '
import json, sys
state = json.load(sys.stdin)
sys.exit(0 if sum(w.get("state") == "ALIVE" for w in state.get("workers", [])) >= 2 else 1)' 2>/dev/null
}

# spark_cluster_daemon PIDFILE LOG CLASS ARGS...: one master or worker JVM, detached
spark_cluster_daemon() {
  local pidfile="$1" logfile="$2"
  shift 2
  # JAVA_HOME as etl-cli's own sessions take it (etl_cli/runtime/spark/java.py): set, or the java on PATH.
  # SPARK_DAEMON_MEMORY: the heap of the master and worker processes themselves (executors get theirs per app)
  start_bg "$pidfile" "$logfile" env SPARK_HOME="$(spark_cluster_home)" SPARK_DAEMON_MEMORY=256m \
    SPARK_LOCAL_IP="$HOST" SPARK_LOCAL_DIRS="$SPARK_CLUSTER_DIR/tmp" SPARK_LOG_DIR="$SPARK_CLUSTER_DIR" \
    SPARK_DAEMON_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.io.tmpdir=$SPARK_CLUSTER_DIR/tmp" \
    "$(spark_cluster_home)/bin/spark-class" "$@"
}

spark-cluster_start() {
  local i logs=("$SPARK_CLUSTER_DIR/master.log")
  mkdir -p "$SPARK_CLUSTER_DIR/tmp"
  for i in 0 1; do
    ensure_port_free spark-cluster "${SPARK_CLUSTER_WORKER_PORTS[i]}"
    ensure_port_free spark-cluster "${SPARK_CLUSTER_WORKER_UI_PORTS[i]}"
  done
  ensure_port_free spark-cluster "$SPARK_CLUSTER_UI_PORT"
  log "spark-cluster: starting a master on spark://$HOST:$SPARK_CLUSTER_PORT (UI $SPARK_CLUSTER_UI_PORT)" \
    "and two workers ($SPARK_CLUSTER_WORKER_CORES core, $SPARK_CLUSTER_WORKER_MEMORY each)"
  spark_cluster_daemon "$SPARK_CLUSTER_PIDFILE" "$SPARK_CLUSTER_DIR/master.log" \
    org.apache.spark.deploy.master.Master --host "$HOST" --port "$SPARK_CLUSTER_PORT" \
    --webui-port "$SPARK_CLUSTER_UI_PORT"
  for i in 1 2; do
    mkdir -p "$SPARK_CLUSTER_DIR/work-$i"
    logs+=("$SPARK_CLUSTER_DIR/worker-$i.log")
    spark_cluster_daemon "$(spark_cluster_worker_pidfile "$i")" "$SPARK_CLUSTER_DIR/worker-$i.log" \
      org.apache.spark.deploy.worker.Worker --host "$HOST" --port "${SPARK_CLUSTER_WORKER_PORTS[i - 1]}" \
      --webui-port "${SPARK_CLUSTER_WORKER_UI_PORTS[i - 1]}" --cores "$SPARK_CLUSTER_WORKER_CORES" --memory "$SPARK_CLUSTER_WORKER_MEMORY" \
      --work-dir "$SPARK_CLUSTER_DIR/work-$i" "spark://$HOST:$SPARK_CLUSTER_PORT"
  done
  wait_ready spark-cluster "$SPARK_CLUSTER_PIDFILE" spark_cluster_ready || {
    spark_cluster_stop_workers >/dev/null 2>&1 || true
    fail spark-cluster "$SPARK_CLUSTER_PIDFILE" "$SPARK_CLUSTER_PATTERN" "${logs[@]}"
  }
}

spark_cluster_stop_workers() {
  local i
  for i in 2 1; do stop_pid "spark-cluster worker $i" "$(spark_cluster_worker_pidfile "$i")" "$SPARK_CLUSTER_PATTERN"; done
}

spark-cluster_stop() {
  spark_cluster_stop_workers
  stop_pid spark-cluster "$SPARK_CLUSTER_PIDFILE" "$SPARK_CLUSTER_PATTERN"
}
spark-cluster_port() { printf '%s' "$SPARK_CLUSTER_PORT"; }

spark-cluster_env() {
  cat <<EOT
export ETL_TEST_SPARK_MASTER=spark://$HOST:$SPARK_CLUSTER_PORT
export ETL_TEST_SPARK_MASTER_UI=http://$HOST:$SPARK_CLUSTER_UI_PORT
EOT
}

ALL_SERVICES+=(spark-cluster)
