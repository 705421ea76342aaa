#!/usr/bin/env bash
# Full install test of the .deb on a clean Debian whose own nodejs is >= 20.19 (trixie;
# bookworm's is 18): debootstrap a minimal system into a folder, `apt-get install` the .deb
# there (apt resolves nodejs, adduser and the addon's libraries from Debian), then run the
# installed programs as the rbdm user the package created, and purge.
#
#   bash packaging/test-debootstrap.sh [path/to/rbdm_*.deb]     (as root; needs debootstrap)
#
# Env: SUITE (trixie), MIRROR (http://deb.debian.org/debian), KEEP=1 keeps the chroot,
# CACHE=DIR keeps downloaded .debs between runs (debootstrap --cache-dir).
# Takes minutes (it downloads a base system), so it is not part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

deb=${1:-$(ls -t packaging/out/rbdm_*.deb 2>/dev/null | head -1 || true)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "no .deb: run npm run package first, or pass its path" >&2; exit 2; }
suite=${SUITE:-trixie}
mirror=${MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/rbdm-debootstrap.XXXXXX)
# mktemp makes it 0700: the chroot's / must be traversable by the rbdm user.
chmod 0755 "$root"
start=$(date +%s)

cleanup() {
  # A daemon left running (a failed step) would keep the chroot's mounts busy.
  [ -n "${daemon:-}" ] && kill -KILL "$daemon" 2>/dev/null
  # Unmount before removing: rm -rf must never walk into the host's /proc.
  for m in "$root/proc" "$root/dev/pts" "$root/dev"; do
    mountpoint -q "$m" && umount -l "$m"
  done
  if [ "${KEEP:-}" = 1 ]; then echo "# kept $root"; else rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT

step() { echo "# $(( $(date +%s) - start ))s: $*"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

step "debootstrap $suite into $root"
cache_args=()
if [ -n "${CACHE:-}" ]; then mkdir -p "$CACHE"; cache_args=(--cache-dir="$(realpath "$CACHE")"); fi
debootstrap --variant=minbase "${cache_args[@]}" "$suite" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
  || { tail -20 "$root.debootstrap.log"; exit 1; }
rm -f "$root.debootstrap.log"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

step "apt-get install ./$(basename "$deb")"
cp "$deb" "$root/tmp/"
in_root apt-get update -q >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" \
  | grep -E '^(Setting up|Unpacking|Get:.*nodejs)' || true
in_root dpkg -s rbdm | grep -E '^(Status|Version|Depends)'
in_root node --version

step "installed programs"
echo "rbdm --version: $(in_root rbdm --version)"
in_root rbdm-mirror --help | head -3
in_root id rbdm
in_root stat -c '%n %U:%G %a' /var/lib/rbdm /var/log/rbdm /etc/rbdm
in_root test -f /usr/lib/systemd/system/rbdm-mirror@.service
in_root test -L /etc/systemd/system/multi-user.target.wants/rbdm-mirror.target \
  && echo "rbdm-mirror.target enabled (multi-user.target.wants)"

step "an embedded cluster and the daemon as the rbdm user, as the unit runs it"
in_root rbdm --cluster ceph cluster create --data-dir /var/lib/rbdm/ceph
in_root rbdm --cluster ceph pool create image-pool
in_root rbdm --cluster ceph auth get-or-create client.rbd-mirror.a mon 'profile rbd' osd 'profile rbd' \
  -o /etc/rbdm/ceph.client.rbd-mirror.a.keyring
# What the README tells the admin to do: the daemon's user reads its keyring and owns the data.
in_root chown rbdm:rbdm /etc/rbdm/ceph.client.rbd-mirror.a.keyring
in_root chown -R rbdm:rbdm /var/lib/rbdm/ceph
in_root install -d -o rbdm -g rbdm /run/rbdm   # systemd's RuntimeDirectory=rbdm
# setpriv execs (no intermediate process), so the SIGTERM below reaches the daemon itself.
# Not through in_root: a backgrounded shell function is a subshell, and $! would be its pid.
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin LANG=C.UTF-8 \
  setpriv --reuid=rbdm --regid=rbdm --init-groups rbdm-mirror -f --cluster ceph --id rbd-mirror.a \
  --log-file=/var/log/rbdm/ceph-client.rbd-mirror.a.log &
daemon=$!
asok=/run/rbdm/ceph-client.rbd-mirror.a.asok
for _ in $(seq 50); do [ -S "$root$asok" ] && break; sleep 0.2; done
in_root rbdm daemon "$asok" status | grep -E '"(entity|version)"'
kill -TERM "$daemon"  # chroot, env, setpriv and the wrapper all exec: this is node
rc=0
wait "$daemon" || rc=$?
daemon=
echo "daemon exit on SIGTERM: $rc"
[ "$rc" = 0 ]
tail -3 "$root/var/log/rbdm/ceph-client.rbd-mirror.a.log"

step "apt-get purge rbdm"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q rbdm >/dev/null
in_root test ! -e /var/log/rbdm && echo "purged: /var/log/rbdm removed, /var/lib/rbdm kept (holds cluster data)"
in_root test -d /var/lib/rbdm/ceph

step "ok"
