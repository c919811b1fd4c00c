# shellcheck shell=bash
# Helpers shared by scripts/services.sh and scripts/fetch-jars.sh.
# Source this file; it defines functions and a few variables and runs nothing.

# Repository root (scripts/lib/ -> repo).
# shellcheck disable=SC2034 # used by the scripts that source this file
ETL_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Caches that survive between runs (Kafka jars, Spark connector jars).
ETL_CACHE_DIR="${ETL_CACHE_DIR:-$HOME/.cache/etl-cli}"

log() { printf '[%s] %s\n' "${ETL_LOG_TAG:-etl}" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "${ETL_LOG_TAG:-etl}" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "${ETL_LOG_TAG:-etl}" "$*" >&2
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if is_root; then
    "$@"
  elif have sudo; then
    sudo -n "$@"
  else
    die "need root (or passwordless sudo) to run: $*"
  fi
}

# apt_install PKG... : install Debian packages non-interactively.
# Runs `apt-get update` at most once per process. Daemons the packages ship are
# kept from starting (policy-rc.d exit 101), so installing postgresql or
# mariadb-server does not leave a system-wide server running on 5432/3306.
_ETL_APT_UPDATED=0
apt_install() {
  [[ $# -gt 0 ]] || return 0
  have apt-get || die "apt-get not found; install these packages by hand: $*"
  local policy=/usr/sbin/policy-rc.d created_policy=0 rc=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    created_policy=1
  fi
  if [[ "$_ETL_APT_UPDATED" -eq 0 ]]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
    _ETL_APT_UPDATED=1
  fi
  if [[ "$rc" -eq 0 ]]; then
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq \
      --no-install-recommends -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold "$@" >/dev/null || rc=$?
  fi
  if [[ "$created_policy" -eq 1 ]]; then as_root rm -f "$policy"; fi
  [[ "$rc" -eq 0 ]] || die "apt-get failed (exit $rc) installing: $*"
}

# need_mvn: make sure Maven and a JDK are there.
need_mvn() {
  local missing=()
  have java || missing+=(default-jre-headless)
  have mvn || missing+=(maven)
  if [[ ${#missing[@]} -gt 0 ]]; then apt_install "${missing[@]}"; fi
}
