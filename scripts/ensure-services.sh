#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, as the tests need: start them when installed
# and stopped, install them with apt-get when missing (root only). Idempotent.
set -euo pipefail

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "error: $1 is not installed; install it (Debian: apt-get install $2) or run as root" >&2
    exit 1
  fi
}

apt_install() {
  need_root "$1" "$2"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$2" >/dev/null
}

wait_for() {  # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "error: $name did not start; see its log" >&2
  exit 1
}

# PostgreSQL
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "PostgreSQL is missing: installing it"
    apt_install PostgreSQL postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
  # A fresh Debian install asks TCP clients for a password: give the postgres role the one the
  # tests use (trust authentication, where configured, ignores it).
  if [ "$(id -u)" = 0 ]; then
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null || true
  fi
fi
echo "PostgreSQL answers on 127.0.0.1:5432"

# Redis
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "Redis is missing: installing it"
    apt_install Redis redis-server
  fi
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
fi
echo "Redis answers on 127.0.0.1:6379"
