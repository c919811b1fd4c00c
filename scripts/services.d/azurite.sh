# shellcheck shell=bash
# azurite: Microsoft's Azure Storage emulator (Blob service only) from npm, on 127.0.0.1 (sourced by
# scripts/services.sh). Installed with npm into ${ETL_CACHE_DIR}/azurite-<version>.
# hadoop-azure's wasb emulator mode talks to http://127.0.0.1:10000/devstoreaccount1 (fixed by the Azure
# storage SDK it uses), so the default port is 10000.
AZURITE_VERSION="${ETL_AZURITE_VERSION:-3.37.0}"
AZURITE_PORT="${ETL_TEST_AZURITE_PORT:-10000}"
AZURITE_HOME="$ETL_CACHE_DIR/azurite-$AZURITE_VERSION"
AZURITE_DIR="$(svc_dir azurite)"
AZURITE_PIDFILE="$AZURITE_DIR/azurite.pid"
AZURITE_LOG="$AZURITE_DIR/azurite.log"
AZURITE_PATTERN=azurite
# the emulator's well-known development account (public, the same in every Azurite)
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

azurite_apt_packages() { have npm || echo npm; have curl || echo curl; }
azurite_pip_packages() { :; }
azurite_main() { printf '%s/node_modules/azurite/dist/src/blob/main.js' "$AZURITE_HOME"; }
azurite_prepare() {
  [[ -f "$(azurite_main)" ]] && return 0
  log "azurite: npm install azurite@$AZURITE_VERSION into $AZURITE_HOME"
  mkdir -p "$AZURITE_HOME"
  npm install --no-audit --no-fund --prefix "$AZURITE_HOME" "azurite@$AZURITE_VERSION" >"$AZURITE_HOME/npm.log" 2>&1 ||
    { tail -n 20 "$AZURITE_HOME/npm.log" >&2; die "azurite: npm install failed"; }
}

azurite_pid() { read_pid "$AZURITE_PIDFILE" || true; }
azurite_running() { pid_alive "$(azurite_pid)" "$AZURITE_PATTERN"; }
# an unauthenticated list is refused (403): the server answers
azurite_ready() { [[ "$(http_code "http://$HOST:$AZURITE_PORT/$AZURITE_ACCOUNT?comp=list")" == 403 ]]; }

azurite_start() {
  mkdir -p "$AZURITE_DIR/data"
  log "azurite: starting the Blob service on $HOST:$AZURITE_PORT"
  start_bg "$AZURITE_PIDFILE" "$AZURITE_LOG" node "$(azurite_main)" --blobHost "$HOST" --blobPort "$AZURITE_PORT" \
    --location "$AZURITE_DIR/data" --skipApiVersionCheck --loose
  wait_ready azurite "$AZURITE_PIDFILE" azurite_ready || fail azurite "$AZURITE_PIDFILE" "$AZURITE_PATTERN" "$AZURITE_LOG"
}

azurite_stop() { stop_pid azurite "$AZURITE_PIDFILE" "$AZURITE_PATTERN"; }
azurite_port() { printf '%s' "$AZURITE_PORT"; }

azurite_env() {
  cat <<EOT
export ETL_TEST_AZURITE_BLOB_URL=http://$HOST:$AZURITE_PORT/$AZURITE_ACCOUNT
export ETL_TEST_AZURITE_ACCOUNT=$AZURITE_ACCOUNT
export ETL_TEST_AZURITE_KEY=$AZURITE_KEY
EOT
}

ALL_SERVICES+=(azurite)
