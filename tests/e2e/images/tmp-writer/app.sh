#!/bin/sh
# Writes a scratch file in /tmp at start and again every few seconds, as an
# app with a cache or upload buffer does; any failed write ends it.
set -eu
trap 'exit 0' TERM INT

echo "tmp-writer: running as uid $(id -u)"
while :; do
  date > /tmp/scratch.$$
  sleep 2 &
  wait $!
done
