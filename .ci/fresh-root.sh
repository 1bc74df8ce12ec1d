#!/usr/bin/env bash
# Runs a command in a clone of this repository's committed HEAD inside a fresh Debian 12 root, so that CI sees
# what a newcomer's machine sees: a debootstrap'd minbase system (git and ca-certificates, nothing else) on
# which only the project's own files (setup.sh) install anything. A package that the host happens to have
# cannot hide a missing install step here.
#
#   usage: .ci/fresh-root.sh 'COMMAND'        (as root; needs the Debian package registry)
#
# The pristine base root is made once with debootstrap and kept in $QH_CI_ROOT (default
# /var/tmp/qharness-ci-root); every run works in a copy of it that is deleted afterwards. The host's apt
# sources (its Debian mirror) are used for debootstrap and copied into the root.
set -euo pipefail
cmd=${1:?usage: .ci/fresh-root.sh COMMAND}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${QH_CI_ROOT:-/var/tmp/qharness-ci-root}
[ "$(id -u)" -eq 0 ] || { echo "fresh-root: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

sources=/etc/apt/sources.list.d/debian.sources
mirror=$(sed -n 's/^URIs: *//p' "$sources" 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

# The base root: made once, by debootstrap only. A half-made one (interrupted) has no marker and is redone.
if [ ! -f "$cache/base/.qharness-base-complete" ]; then
  rm -rf "$cache/base"
  mkdir -p "$cache"
  echo "fresh-root: debootstrap bookworm from $mirror (once)" >&2
  if ! debootstrap --variant=minbase --include=git,ca-certificates bookworm "$cache/base" "$mirror" \
      >"$cache/debootstrap.log" 2>&1; then
    tail -5 "$cache/debootstrap.log" >&2
    rm -rf "$cache/base"
    echo "fresh-root: debootstrap failed" >&2
    exit 1
  fi
  if [ -f "$sources" ]; then
    cp "$sources" "$cache/base/etc/apt/sources.list.d/" && rm -f "$cache/base/etc/apt/sources.list"
  fi
  touch "$cache/base/.qharness-base-complete"
fi

run=$(mktemp -d "$cache/run.XXXXXX")
cleanup() {
  # Processes a test left running inside the root (daemons) would keep the mounts busy: stop them first.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$run/root-fs" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  sleep 1
  for m in dev/shm dev/pts dev sys proc; do
    mountpoint -q "$run/root-fs/$m" && umount -l "$run/root-fs/$m" || true
  done
  rm -rf "$run"
}
trap cleanup EXIT
cp -a "$cache/base" "$run/root-fs"
root=$run/root-fs
git clone -q "$top" "$root/root/project"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true
mount -t tmpfs tmpfs "$root/dev/shm"

SECONDS=0
set +e
chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" PATH=/usr/sbin:/usr/bin:/sbin:/bin CI=true \
  /bin/bash -c "cd /root/project && $cmd"
rc=$?
set -e
echo "fresh-root: '$cmd' -> exit $rc in ${SECONDS}s" >&2
exit $rc
