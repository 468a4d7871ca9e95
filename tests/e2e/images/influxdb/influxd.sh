#!/bin/sh
# The server: records the setup in the data volume and writes its config
# to /tmp (as influxdb:2's setup does), then answers HTTP on 8086.
set -eu

echo "influxd: running as uid $(id -u)"
printf 'source=%s sha256=%s\n' "${INIT_PASSWORD_SOURCE:-none}" \
  "${INIT_PASSWORD_SHA256:-none}" > /var/lib/influxdb2/setup.status
echo '{"bolt-path": "/var/lib/influxdb2/influxd.bolt"}' > /tmp/config.json
exec httpd -f -p 8086 -h /usr/share/influxdb
