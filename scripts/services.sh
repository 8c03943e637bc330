#!/usr/bin/env bash
# Make sure the database servers the tests talk to are up on loopback: PostgreSQL on 5432
# and MariaDB/MySQL on 3306. Starts a local server that is installed but stopped; fails
# loudly when one cannot be reached. (moto's S3 server and the HTTP servers are started by
# the tests themselves.) Installs Chromium and its driver for the browser tests when missing.
set -euo pipefail

PG_HOST=${ETL_TEST_PG_HOST:-127.0.0.1}
PG_PORT=${ETL_TEST_PG_PORT:-5432}
MYSQL_HOST=${ETL_TEST_MYSQL_HOST:-127.0.0.1}
MYSQL_PORT=${ETL_TEST_MYSQL_PORT:-3306}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() { # name host port
  for _ in $(seq 1 30); do
    port_open "$2" "$3" && { echo "services: $1 is up on $2:$3"; return 0; }
    sleep 1
  done
  echo "services: $1 is NOT reachable on $2:$3" >&2
  return 1
}

if ! port_open "$PG_HOST" "$PG_PORT"; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  elif command -v docker >/dev/null 2>&1; then
    docker compose up -d postgres || true
  fi
fi
wait_for PostgreSQL "$PG_HOST" "$PG_PORT"

if ! port_open "$MYSQL_HOST" "$MYSQL_PORT"; then
  if command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]; then
    echo "services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  elif command -v docker >/dev/null 2>&1; then
    docker compose up -d mysql || true
  fi
fi
wait_for MySQL/MariaDB "$MYSQL_HOST" "$MYSQL_PORT"

# The browser tests drive Airflow's UI with Debian's headless Chromium and its driver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "services: installing chromium and chromium-driver"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  fi
fi
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "services: chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}') and chromedriver are installed"
else
  echo "services: chromium/chromedriver missing; the browser tests will fail (apt-get install chromium chromium-driver)" >&2
  exit 1
fi
