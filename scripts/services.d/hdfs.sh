# shellcheck shell=bash
# hdfs: a real single-node HDFS (one NameNode, one DataNode) on 127.0.0.1, run from Hadoop's Maven
# artifacts (hadoop-hdfs, hadoop-hdfs-client, hadoop-common and their runtime dependencies), cached
# under ${ETL_CACHE_DIR}/hadoop-<version>/lib (sourced by scripts/services.sh).
HDFS_VERSION="${ETL_HADOOP_VERSION:-3.4.1}" # a Hadoop 3.4 server: pyspark 4.1 bundles the 3.4.2 client, which talks to it
HDFS_PORT="${ETL_TEST_HDFS_PORT:-59820}"
HDFS_HTTP_PORT="${ETL_TEST_HDFS_HTTP_PORT:-59870}"
HDFS_DN_PORT="${ETL_TEST_HDFS_DN_PORT:-59866}"
HDFS_DIR="$(svc_dir hdfs)"
HDFS_LIB="$ETL_CACHE_DIR/hadoop-$HDFS_VERSION/lib"
HDFS_NN_PIDFILE="$HDFS_DIR/namenode.pid"
HDFS_DN_PIDFILE="$HDFS_DIR/datanode.pid"
HDFS_PATTERN=org.apache.hadoop.hdfs.server

hdfs_apt_packages() { have mvn || echo maven; have java || echo default-jre-headless; have curl || echo curl; }
hdfs_pip_packages() { :; }

# hdfs_prepare: resolve the server jars with Maven once (a .complete marker makes the cache reusable).
hdfs_prepare() {
  [[ -f "$HDFS_LIB/../.complete" ]] && return 0
  local work
  work="$(mktemp -d)"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.etl-cli</groupId><artifactId>hdfs-server</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-hdfs</artifactId><version>$HDFS_VERSION</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-hdfs-client</artifactId><version>$HDFS_VERSION</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-common</artifactId><version>$HDFS_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  log "hdfs: resolving Hadoop $HDFS_VERSION server jars with Maven into $HDFS_LIB"
  rm -rf "$HDFS_LIB" && mkdir -p "$HDFS_LIB"
  mvn -B -q -f "$work/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$HDFS_LIB" -DincludeScope=runtime -DexcludeTypes=pom,test-jar >"$work/mvn.log" 2>&1 ||
    { tail -n 20 "$work/mvn.log" >&2; rm -rf "$work"; die "hdfs: Maven could not resolve the Hadoop jars"; }
  rm -rf "$work"
  touch "$HDFS_LIB/../.complete"
}

hdfs_pid() { read_pid "$HDFS_NN_PIDFILE" || true; }
hdfs_running() {
  pid_alive "$(hdfs_pid)" "$HDFS_PATTERN" && pid_alive "$(read_pid "$HDFS_DN_PIDFILE" || true)" "$HDFS_PATTERN"
}
# ready: the NameNode left safe mode and one DataNode is live (so writes can place blocks)
hdfs_ready() {
  curl -s -m 5 "http://$HOST:$HDFS_HTTP_PORT/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState" 2>/dev/null |
    tr -d ' ' | grep -q '"NumLiveDataNodes":1'
}

hdfs_write_config() {
  local conf="$HDFS_DIR/conf" d
  mkdir -p "$conf"
  # the NameNode and DataNode web servers look for these folders on the classpath (the tarball ships them)
  for d in hdfs datanode static; do mkdir -p "$conf/webapps/$d" && touch "$conf/webapps/$d/.keep"; done
  cat >"$conf/core-site.xml" <<EOF
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://$HOST:$HDFS_PORT</value></property>
  <property><name>hadoop.tmp.dir</name><value>$HDFS_DIR/tmp</value></property>
</configuration>
EOF
  cat >"$conf/hdfs-site.xml" <<EOF
<configuration>
  <property><name>dfs.namenode.name.dir</name><value>$HDFS_DIR/name</value></property>
  <property><name>dfs.datanode.data.dir</name><value>$HDFS_DIR/data</value></property>
  <property><name>dfs.replication</name><value>1</value></property>
  <property><name>dfs.namenode.rpc-address</name><value>$HOST:$HDFS_PORT</value></property>
  <property><name>dfs.namenode.http-address</name><value>$HOST:$HDFS_HTTP_PORT</value></property>
  <property><name>dfs.datanode.address</name><value>$HOST:$HDFS_DN_PORT</value></property>
  <property><name>dfs.datanode.http.address</name><value>$HOST:0</value></property>
  <property><name>dfs.datanode.ipc.address</name><value>$HOST:0</value></property>
  <property><name>dfs.datanode.hostname</name><value>$HOST</value></property>
  <property><name>dfs.permissions.enabled</name><value>false</value></property>
  <property><name>dfs.namenode.safemode.extension</name><value>0</value></property>
</configuration>
EOF
  printf '%s\n' 'log4j.rootLogger=INFO,console' 'log4j.appender.console=org.apache.log4j.ConsoleAppender' \
    'log4j.appender.console.target=System.err' 'log4j.appender.console.layout=org.apache.log4j.PatternLayout' \
    'log4j.appender.console.layout.ConversionPattern=%d %p %c{1}: %m%n' >"$conf/log4j.properties"
}

hdfs_classpath() { printf '%s:%s/*' "$HDFS_DIR/conf" "$HDFS_LIB"; }

hdfs_start() {
  mkdir -p "$HDFS_DIR"
  hdfs_write_config
  if [[ ! -d "$HDFS_DIR/name/current" ]]; then
    log "hdfs: formatting the NameNode in $HDFS_DIR/name"
    java -Xmx256m -cp "$(hdfs_classpath)" org.apache.hadoop.hdfs.server.namenode.NameNode -format -nonInteractive \
      >>"$HDFS_DIR/format.log" 2>&1 || { tail -n 20 "$HDFS_DIR/format.log" >&2; die "hdfs: format failed"; }
  fi
  log "hdfs: starting a NameNode on $HOST:$HDFS_PORT and a DataNode"
  start_bg "$HDFS_NN_PIDFILE" "$HDFS_DIR/namenode.log" java -Xmx384m -cp "$(hdfs_classpath)" \
    org.apache.hadoop.hdfs.server.namenode.NameNode
  start_bg "$HDFS_DN_PIDFILE" "$HDFS_DIR/datanode.log" java -Xmx256m -cp "$(hdfs_classpath)" \
    org.apache.hadoop.hdfs.server.datanode.DataNode
  wait_ready hdfs "$HDFS_NN_PIDFILE" hdfs_ready ||
    { stop_pid hdfs-datanode "$HDFS_DN_PIDFILE" "$HDFS_PATTERN" >/dev/null 2>&1 || true
      fail hdfs "$HDFS_NN_PIDFILE" "$HDFS_PATTERN" "$HDFS_DIR/namenode.log" "$HDFS_DIR/datanode.log"; }
}

hdfs_stop() {
  stop_pid hdfs-datanode "$HDFS_DN_PIDFILE" "$HDFS_PATTERN"
  stop_pid hdfs "$HDFS_NN_PIDFILE" "$HDFS_PATTERN"
}
hdfs_port() { printf '%s' "$HDFS_PORT"; }

hdfs_env() {
  cat <<EOT
export ETL_TEST_HDFS_URL=hdfs://$HOST:$HDFS_PORT
export ETL_TEST_HDFS_CLASSPATH=$(hdfs_classpath)
EOT
}

ALL_SERVICES+=(hdfs)
