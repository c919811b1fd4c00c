# shellcheck shell=bash
# gcs: fake-gcs-server (a Google Cloud Storage JSON API emulator) on 127.0.0.1, built with Go from the
# Go module proxy into ${ETL_CACHE_DIR}/fake-gcs-server-<version> (sourced by scripts/services.sh).
GCS_VERSION="${ETL_FAKE_GCS_VERSION:-v1.56.1}"
GCS_PORT="${ETL_TEST_GCS_PORT:-54443}"
GCS_BIN_DIR="$ETL_CACHE_DIR/fake-gcs-server-$GCS_VERSION"
GCS_DIR="$(svc_dir gcs)"
GCS_PIDFILE="$GCS_DIR/fake-gcs-server.pid"
GCS_LOG="$GCS_DIR/fake-gcs-server.log"
GCS_PATTERN=fake-gcs-server

gcs_apt_packages() { have go || [[ -x /usr/local/go/bin/go ]] || echo golang-go; have curl || echo curl; }
gcs_pip_packages() { :; }
gcs_go() { if have go; then command -v go; else printf '/usr/local/go/bin/go'; fi; }
# the connector's shaded jar (one jar, dependencies relocated) into the jar cache runs use (etl_cli/runtime/spark/jars.py)
GCS_CONNECTOR_VERSION="${ETL_GCS_CONNECTOR_VERSION:-4.0.4}"
gcs_fetch_connector() {
  local dest="$ETL_CACHE_DIR/jars/com.google.cloud.bigdataoss__gcs-connector__$GCS_CONNECTOR_VERSION"
  [[ -f "$dest/.complete" ]] && return 0
  mkdir -p "$dest"
  log "gcs: downloading gcs-connector-$GCS_CONNECTOR_VERSION-shaded.jar"
  curl -sfL -o "$dest/gcs-connector-$GCS_CONNECTOR_VERSION-shaded.jar" \
    "https://repo1.maven.org/maven2/com/google/cloud/bigdataoss/gcs-connector/$GCS_CONNECTOR_VERSION/gcs-connector-$GCS_CONNECTOR_VERSION-shaded.jar" ||
    die "gcs: could not download the GCS connector"
  touch "$dest/.complete"
}
gcs_prepare() {
  gcs_fetch_connector
  [[ -x "$GCS_BIN_DIR/fake-gcs-server" ]] && return 0
  log "gcs: go install github.com/fsouza/fake-gcs-server@$GCS_VERSION into $GCS_BIN_DIR"
  mkdir -p "$GCS_BIN_DIR"
  GOBIN="$GCS_BIN_DIR" GOFLAGS=-modcacherw "$(gcs_go)" install "github.com/fsouza/fake-gcs-server@$GCS_VERSION" \
    >"$GCS_BIN_DIR/go.log" 2>&1 || { tail -n 20 "$GCS_BIN_DIR/go.log" >&2; die "gcs: go install failed"; }
}

gcs_pid() { read_pid "$GCS_PIDFILE" || true; }
gcs_running() { pid_alive "$(gcs_pid)" "$GCS_PATTERN"; }
gcs_ready() { http_ok "http://$HOST:$GCS_PORT/storage/v1/b"; }

gcs_start() {
  mkdir -p "$GCS_DIR/data"
  log "gcs: starting fake-gcs-server on $HOST:$GCS_PORT"
  start_bg "$GCS_PIDFILE" "$GCS_LOG" "$GCS_BIN_DIR/fake-gcs-server" -scheme http -host "$HOST" -port "$GCS_PORT" \
    -external-url "http://$HOST:$GCS_PORT" -public-host "$HOST:$GCS_PORT" -backend filesystem \
    -filesystem-root "$GCS_DIR/data" -log-level warn
  wait_ready gcs "$GCS_PIDFILE" gcs_ready || fail gcs "$GCS_PIDFILE" "$GCS_PATTERN" "$GCS_LOG"
}

gcs_stop() { stop_pid gcs "$GCS_PIDFILE" "$GCS_PATTERN"; }
gcs_port() { printf '%s' "$GCS_PORT"; }

gcs_env() { echo "export ETL_TEST_GCS_ENDPOINT=http://$HOST:$GCS_PORT"; }

ALL_SERVICES+=(gcs)
