#!/bin/sh
# Resolves API_TOKEN as docker-library entrypoints resolve NAME_FILE. The
# token itself is never printed: /tmp/token-reader.status records where it
# came from and its SHA-256, so a test can check the value arrived.
set -eu
trap 'exit 0' TERM INT

if [ -n "${API_TOKEN:-}" ] && [ -n "${API_TOKEN_FILE:-}" ]; then
  echo "token-reader: both API_TOKEN and API_TOKEN_FILE are set" >&2
  exit 1
fi
if [ -n "${API_TOKEN_FILE:-}" ]; then
  if ! token=$(cat "$API_TOKEN_FILE"); then
    echo "token-reader: cannot read API_TOKEN_FILE ($API_TOKEN_FILE)" >&2
    exit 1
  fi
  source=file
else
  token=${API_TOKEN:-}
  source=env
fi
if [ -z "$token" ]; then
  echo "token-reader: no API token given" >&2
  exit 1
fi

digest=$(printf '%s' "$token" | sha256sum | cut -d ' ' -f 1)
unset token
printf 'source=%s sha256=%s\n' "$source" "$digest" > /tmp/token-reader.status
echo "token-reader: token read from $source"
while :; do
  sleep 5 &
  wait $!
done
