#!/usr/bin/env bash
# A private Docker engine for the end-to-end suite (tests/e2e.rs), as root
# on Debian 12. See docs/e2e.md.
#
#   scripts/e2e-docker.sh install   apt-get install docker.io busybox-static
#   scripts/e2e-docker.sh start     start a private dockerd, print its socket
#   scripts/e2e-docker.sh build     build the test images into it
#   scripts/e2e-docker.sh stop      stop that dockerd by its pid, remove its folder
#   scripts/e2e-docker.sh env       print the variables the tests read
#
# The daemon keeps its socket, data and exec folders under one folder
# ($HARDEN_E2E_DIR, default /tmp/harden-e2e), never touches a system
# dockerd, and runs with --iptables=false --ip-forward=false --bridge=none:
# no default bridge, no NAT, no published ports, so containers reach only
# each other on the networks Compose creates. No image is pulled: the base
# image is Debian's busybox-static imported into an empty root filesystem,
# and every other image is built on it from tests/e2e/images/ with the
# network off.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd -P)
STATE=${HARDEN_E2E_DIR:-/tmp/harden-e2e}
SOCKET="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
BASE_IMAGE=harden-e2e/busybox:1

# Debian's client, which matches Debian's engine (API 1.41).
docker_cli() {
  local cli=/usr/bin/docker
  [ -x "$cli" ] || cli=$(command -v docker)
  DOCKER_HOST="unix://$SOCKET" DOCKER_CONFIG="$STATE/client" "$cli" "$@"
}

install() {
  local missing=() package
  # busybox-static, not busybox: its binary is copied into an image that
  # has no C library.
  for package in docker.io busybox-static; do
    dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "docker.io and busybox-static are installed"
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Only the binaries are wanted: a policy-rc.d that refuses keeps the
  # package from starting the system's own dockerd (with iptables on).
  local policy=/usr/sbin/policy-rc.d own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
  fi
  local status=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
  [ -z "$own_policy" ] || rm -f "$policy"
  return "$status"
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start() {
  if running; then
    echo "dockerd already running (pid $(cat "$PIDFILE")) on $SOCKET"
    return
  fi
  mkdir -p "$STATE/data" "$STATE/exec" "$STATE/client"
  # The pid file is written here, not by dockerd's --pidfile, so that
  # `stop` kills exactly the process this script started.
  /usr/sbin/dockerd \
    --host "unix://$SOCKET" \
    --data-root "$STATE/data" \
    --exec-root "$STATE/exec" \
    --pidfile "$STATE/dockerd.own.pid" \
    --iptables=false --ip-forward=false --ip-masq=false \
    --bridge=none --userland-proxy=false \
    >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"

  local i
  for i in $(seq 60); do
    if docker_cli version >/dev/null 2>&1; then
      echo "dockerd running (pid $(cat "$PIDFILE")) on $SOCKET"
      return
    fi
    running || break
    sleep 0.5
  done
  echo "dockerd did not start; last lines of $LOG:" >&2
  tail -n 20 "$LOG" >&2 || true
  stop
  exit 1
}

build() {
  running || { echo "dockerd is not running: run '$0 start' first" >&2; exit 1; }

  # The base: busybox-static, one link per applet, and the passwd and group
  # files the images append their users to.
  local rootfs
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/run"
  cp /bin/busybox "$rootfs/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
  done
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/var"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
    docker_cli import --change 'CMD ["/bin/sh"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  echo "imported $BASE_IMAGE"

  # Each folder of tests/e2e/images is one image; its Dockerfile's first
  # comment says what it stands for, and tests/e2e.rs knows its tag.
  local dir name tag
  for dir in "$ROOT"/tests/e2e/images/*/; do
    name=$(basename "$dir")
    case "$name" in
      influxdb | nginx) tag="$name:e2e-standin" ;;
      *) tag="harden-e2e/$name:1" ;;
    esac
    DOCKER_BUILDKIT=0 docker_cli build --quiet --network none -t "$tag" "$dir" >/dev/null
    echo "built $tag"
  done
}

stop() {
  if ! [ -f "$PIDFILE" ]; then
    echo "no dockerd pid file in $STATE: nothing to stop"
    return
  fi
  local pid
  pid=$(cat "$PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    # Containers first, so nothing is left mounted in the data folder.
    local ids
    ids=$(docker_cli ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker_cli rm -f $ids >/dev/null 2>&1 || true
    kill "$pid"
    local i
    for i in $(seq 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "dockerd (pid $pid) did not stop in 30 s: killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "dockerd (pid $pid) stopped"
  fi
  rm -f "$PIDFILE"
  # The overlay mounts are gone with the containers; anything still
  # mounted under the folder is left in place rather than forced.
  if grep -q " $STATE/" /proc/self/mounts; then
    echo "mounts remain under $STATE: folder kept" >&2
  else
    rm -rf "$STATE"
  fi
}

print_env() {
  echo "export HARDEN_DOCKER_HOST=unix://$SOCKET"
  echo "export HARDEN_DOCKER_CLI=$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker)"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  build) build ;;
  stop) stop ;;
  env) print_env ;;
  *)
    echo "usage: $0 install|start|build|stop|env" >&2
    exit 2
    ;;
esac
