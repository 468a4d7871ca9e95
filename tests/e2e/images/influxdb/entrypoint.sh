#!/bin/sh
# Started as root, like influxdb:2's entrypoint: resolve the _FILE form of
# the init password, take ownership of the data volume (CHOWN), then run
# the command as influxdb (SETUID, SETGID). The password is never printed;
# only its SHA-256 goes on, for the test to compare.
set -eu

if [ "$(id -u)" = 0 ]; then
  if [ -n "${DOCKER_INFLUXDB_INIT_PASSWORD:-}" ] &&
    [ -n "${DOCKER_INFLUXDB_INIT_PASSWORD_FILE:-}" ]; then
    echo "entrypoint: both DOCKER_INFLUXDB_INIT_PASSWORD and its _FILE are set" >&2
    exit 1
  fi
  source=env
  password=${DOCKER_INFLUXDB_INIT_PASSWORD:-}
  if [ -n "${DOCKER_INFLUXDB_INIT_PASSWORD_FILE:-}" ]; then
    password=$(cat "$DOCKER_INFLUXDB_INIT_PASSWORD_FILE")
    source=file
  fi
  if [ -z "$password" ]; then
    echo "entrypoint: setup needs DOCKER_INFLUXDB_INIT_PASSWORD(_FILE)" >&2
    exit 1
  fi
  INIT_PASSWORD_SOURCE=$source
  INIT_PASSWORD_SHA256=$(printf '%s' "$password" | sha256sum | cut -d ' ' -f 1)
  export INIT_PASSWORD_SOURCE INIT_PASSWORD_SHA256
  unset password DOCKER_INFLUXDB_INIT_PASSWORD DOCKER_INFLUXDB_INIT_PASSWORD_FILE

  chown -R influxdb:influxdb /var/lib/influxdb2
  exec su influxdb -s /bin/sh -c 'exec "$0" "$@"' -- "$@"
fi

exec "$@"
