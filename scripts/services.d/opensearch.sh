# shellcheck shell=bash
# opensearch: a real single-node OpenSearch on 127.0.0.1, assembled from OpenSearch's Maven Central
# artifacts (org.opensearch:opensearch and its runtime dependencies on the class path, the
# org.opensearch.plugin:transport-netty4-client module for HTTP) and started with
# `java -cp ... org.opensearch.bootstrap.OpenSearch`; cached under ${ETL_CACHE_DIR}/opensearch/<version>
# (sourced by scripts/services.sh). 2.x runs on Java 11+ (3.x needs Java 21).
OPENSEARCH_VERSION="${ETL_OPENSEARCH_VERSION:-2.19.6}"
OPENSEARCH_PORT="${ETL_TEST_OPENSEARCH_PORT:-59200}"
OPENSEARCH_TRANSPORT_PORT="${ETL_TEST_OPENSEARCH_TRANSPORT_PORT:-59300}"
OPENSEARCH_DIR="$(svc_dir opensearch)"
OPENSEARCH_CACHE="$ETL_CACHE_DIR/opensearch/$OPENSEARCH_VERSION"
OPENSEARCH_PIDFILE="$OPENSEARCH_DIR/opensearch.pid"
OPENSEARCH_LOG="$OPENSEARCH_DIR/opensearch.out"
OPENSEARCH_PATTERN=org.opensearch.bootstrap.OpenSearch

opensearch_apt_packages() { have mvn || echo maven; have java || echo default-jre-headless; have curl || echo curl; }
opensearch_pip_packages() { :; }

opensearch_mvn() { # opensearch_mvn POM_BODY OUTPUT_DIR
  local work
  work="$(mktemp -d)"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.etl-cli</groupId><artifactId>opensearch-node</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>$1</dependencies>
</project>
EOF
  mkdir -p "$2"
  mvn -B -q -f "$work/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$2" -DincludeScope=runtime -DexcludeTypes=pom,test-jar >"$work/mvn.log" 2>&1 ||
    { tail -n 20 "$work/mvn.log" >&2; rm -rf "$work"; die "opensearch: Maven could not resolve OpenSearch $OPENSEARCH_VERSION"; }
  rm -rf "$work"
}

# opensearch_prepare: the server's class path (lib/) and the HTTP module (modules/transport-netty4/, with
# the plug-in descriptor and security policy the distribution would ship), resolved with Maven once.
opensearch_prepare() {
  [[ -f "$OPENSEARCH_CACHE/.complete" ]] && return 0
  local v="$OPENSEARCH_VERSION" netty="$OPENSEARCH_CACHE/modules/transport-netty4"
  rm -rf "$OPENSEARCH_CACHE"
  log "opensearch: resolving org.opensearch:opensearch:$v with Maven into $OPENSEARCH_CACHE"
  opensearch_mvn "
    <dependency><groupId>org.opensearch</groupId><artifactId>opensearch</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.opensearch</groupId><artifactId>opensearch-plugin-classloader</artifactId><version>$v</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.25.4</version></dependency>" \
    "$OPENSEARCH_CACHE/lib"
  opensearch_mvn "
    <dependency><groupId>org.opensearch.plugin</groupId><artifactId>transport-netty4-client</artifactId><version>$v</version>
      <exclusions><exclusion><groupId>org.opensearch</groupId><artifactId>*</artifactId></exclusion></exclusions>
    </dependency>" "$netty"
  cat >"$netty/plugin-descriptor.properties" <<EOF
description=Netty 4 based transport and HTTP implementation
version=$v
name=transport-netty4
classname=org.opensearch.transport.Netty4Plugin
java.version=11
opensearch.version=$v
extended.plugins=
has.native.controller=false
EOF
  cat >"$netty/plugin-security.policy" <<'EOF'
grant codeBase "${codebase.netty-common}" {
  permission java.io.FilePermission "/proc/sys/net/core/somaxconn", "read";
  permission java.net.SocketPermission "*", "accept,connect";
  permission java.lang.RuntimePermission "*", "setContextClassLoader";
};
grant codeBase "${codebase.netty-transport}" {
  permission java.util.PropertyPermission "sun.nio.ch.bugLevel", "write";
};
EOF
  touch "$OPENSEARCH_CACHE/.complete"
}

opensearch_pid() { read_pid "$OPENSEARCH_PIDFILE" || true; }
opensearch_running() { pid_alive "$(opensearch_pid)" "$OPENSEARCH_PATTERN"; }
opensearch_ready() {
  curl -s -m 5 "http://$HOST:$OPENSEARCH_PORT/_cluster/health" 2>/dev/null | grep -q '"status":"\(green\|yellow\)"'
}

opensearch_start() {
  local home="$OPENSEARCH_DIR/home" run_as=()
  mkdir -p "$OPENSEARCH_DIR"
  # the node's home: its own copy of the cached jars (hard links where possible), config, data and logs
  rm -rf "$home/lib" "$home/modules"
  mkdir -p "$home/config" "$home/plugins" "$OPENSEARCH_DIR/data" "$OPENSEARCH_DIR/logs"
  cp -al "$OPENSEARCH_CACHE/lib" "$OPENSEARCH_CACHE/modules" "$home/" 2>/dev/null ||
    cp -r "$OPENSEARCH_CACHE/lib" "$OPENSEARCH_CACHE/modules" "$home/"
  cat >"$home/config/opensearch.yml" <<EOF
cluster.name: etl-test
node.name: etl-node
path.data: $OPENSEARCH_DIR/data
path.logs: $OPENSEARCH_DIR/logs
network.host: $HOST
http.port: $OPENSEARCH_PORT
transport.port: $OPENSEARCH_TRANSPORT_PORT
discovery.type: single-node
action.auto_create_index: true
# a test node on a shared disk: past the disk watermarks (90 % high, 95 % flood stage, on a machine whose
# tests fill its disk) OpenSearch leaves new shards unassigned and answers writes 403 with an index block
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  cat >"$home/config/log4j2.properties" <<'EOF'
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n
rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
logger.node.name = org.opensearch.node.Node
logger.node.level = info
EOF
  # one logging context for the whole JVM: log4j's default selector asks for class loaders, which the
  # security manager refuses to log4j-core in the shutdown hook, so SIGTERM would not stop the node
  if is_root; then
    # OpenSearch refuses to run as root: run it as nobody, owning only the node's own folder
    chown -R nobody "$OPENSEARCH_DIR"
    chmod o+rx "$OPENSEARCH_DIR"
    run_as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --)
  fi
  log "opensearch: starting $OPENSEARCH_VERSION on $HOST:$OPENSEARCH_PORT"
  start_bg "$OPENSEARCH_PIDFILE" "$OPENSEARCH_LOG" "${run_as[@]}" java -Xms512m -Xmx512m \
    -Dopensearch.path.home="$home" -Dopensearch.path.conf="$home/config" -Dopensearch.distribution.type=tar \
    -Djava.io.tmpdir="$OPENSEARCH_DIR/data" \
    -Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.BasicContextSelector -cp "$home/lib/*" "$OPENSEARCH_PATTERN"
  wait_ready opensearch "$OPENSEARCH_PIDFILE" opensearch_ready ||
    fail opensearch "$OPENSEARCH_PIDFILE" "$OPENSEARCH_PATTERN" "$OPENSEARCH_LOG"
}

opensearch_stop() { stop_pid opensearch "$OPENSEARCH_PIDFILE" "$OPENSEARCH_PATTERN"; }
opensearch_port() { printf '%s' "$OPENSEARCH_PORT"; }

opensearch_env() {
  cat <<EOT
export ETL_TEST_OPENSEARCH_URL=http://$HOST:$OPENSEARCH_PORT
EOT
}

ALL_SERVICES+=(opensearch)
