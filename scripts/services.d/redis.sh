# shellcheck shell=bash
# redis: Debian's redis-server on 127.0.0.1, with a password (sourced by scripts/services.sh).
REDIS_PORT="${ETL_TEST_REDIS_PORT:-56379}"
REDIS_PASSWORD="${ETL_TEST_REDIS_PASSWORD:-etl-redis-pw}"
REDIS_DIR="$(svc_dir redis)"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_PATTERN=redis-server

redis_apt_packages() { find_bin redis-server >/dev/null || echo redis-server; }
redis_pip_packages() { :; }
redis_prepare() { :; }

redis_pid() { read_pid "$REDIS_PIDFILE" || true; }
redis_running() { pid_alive "$(redis_pid)" "$REDIS_PATTERN"; }
redis_ready() { port_open "$REDIS_PORT"; }

redis_start() {
  mkdir -p "$REDIS_DIR"
  log "redis: starting redis-server on $HOST:$REDIS_PORT"
  # no persistence: the test data lives in memory only; the password is in a file only root reads, not on argv
  printf 'bind %s\nport %s\nrequirepass %s\ndir %s\nsave ""\nappendonly no\ndaemonize no\nprotected-mode yes\n' \
    "$HOST" "$REDIS_PORT" "$REDIS_PASSWORD" "$REDIS_DIR" >"$REDIS_DIR/redis.conf"
  chmod 600 "$REDIS_DIR/redis.conf"
  start_bg "$REDIS_PIDFILE" "$REDIS_LOG" "$(find_bin redis-server)" "$REDIS_DIR/redis.conf"
  wait_ready redis "$REDIS_PIDFILE" redis_ready || fail redis "$REDIS_PIDFILE" "$REDIS_PATTERN" "$REDIS_LOG"
}

redis_stop() { stop_pid redis "$REDIS_PIDFILE" "$REDIS_PATTERN"; }
redis_port() { printf '%s' "$REDIS_PORT"; }

redis_env() {
  cat <<EOT
export ETL_TEST_REDIS_URL=redis://$HOST:$REDIS_PORT/0
export ETL_TEST_REDIS_PASSWORD=$REDIS_PASSWORD
EOT
}

ALL_SERVICES+=(redis)
