#!/usr/bin/env bash
# Install test of the Debian packages, run before each release (packaging/deb/README.md): installs
# target/prospector_<version>_all.deb with apt into a clean Debian root made with debootstrap
# (minbase, so the JRE and adduser come from the mirror through Depends), then as the prospector
# user runs `prospector --version` and `prospector hardware --board emulated`; checks the user,
# groups, state directory, the unit (systemd-analyze verify against the root), remove (keeps key,
# state and config) and purge (nothing of the package left: every file of the root is compared
# with the list taken before the install). The network package is installed and removed on the way.
#
# Usage (as root): packaging/deb/install-test.sh [DEB_DIR]    (default: packaging/deb/target)
# Needs debootstrap, chroot and network access to the mirror. The minbase root and the downloaded
# packages are kept in ~/.cache/prospector/install-test and reused: the first run downloads about
# 90 MB. SUITE (default bookworm) and MIRROR (default http://deb.debian.org/debian) choose the root.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
debs="$(cd "${1:-$here/target}" && pwd)"
suite="${SUITE:-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
cache="${PROSPECTOR_CACHE:-$HOME/.cache/prospector}/install-test"
start=$SECONDS

fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
step() { echo "install-test: [$((SECONDS - start)) s] $*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install debootstrap"
board_deb="$(find "$debs" -maxdepth 1 -name 'prospector_*_all.deb' | sort | tail -n 1)"
network_deb="$(find "$debs" -maxdepth 1 -name 'prospector-network_*_all.deb' | sort | tail -n 1)"
[ -n "$board_deb" ] || fail "no prospector_*_all.deb in $debs: run mvn -B package -pl packaging/deb -am"
[ -n "$network_deb" ] || fail "no prospector-network_*_all.deb in $debs"

# A clean minbase root, made once and copied for each run.
base="$cache/$suite-minbase"
mkdir -p "$cache/archives/partial"
if [ ! -f "$base/.complete" ]; then
  step "debootstrap --variant=minbase $suite (once; kept in $base)"
  rm -rf "$base"
  debootstrap --variant=minbase --cache-dir="$cache/archives" "$suite" "$base" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    fail "debootstrap failed: $cache/debootstrap.log"
  rm -f "$base"/var/cache/apt/archives/*.deb
  touch "$base/.complete"
fi

root="$(mktemp -d /var/tmp/prospector-install-test.XXXXXX)"
mounted=()
cleanup() {
  local m
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    m="${mounted[$i]}"
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$root"
}
trap cleanup EXIT
step "copying the clean root to $root"
cp -a "$base/." "$root/"
rm -f "$root/.complete"
for m in proc dev; do
  case "$m" in
    proc) mount -t proc proc "$root/proc" ;;
    dev) mount --bind /dev "$root/dev" ;;
  esac
  mounted+=("$root/$m")
done
mount --bind "$cache/archives" "$root/var/cache/apt/archives"
mounted+=("$root/var/cache/apt/archives")
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
as_prospector() { in_root runuser -u prospector -- "$@"; }
apt_get() { in_root apt-get -o Dpkg::Use-Pty=0 "$@"; } # no /dev/pts in the chroot

# What is in the root before: after purge nothing may be added to it. apt's, dpkg's and the
# logs' own bookkeeping, and the JRE that apt pulled in, are left out of the comparison.
snapshot() {
  in_root find / -xdev \( -path /proc -o -path /dev -o -path /tmp -o -path /var/cache -o -path /var/lib/apt \
    -o -path /var/lib/dpkg -o -path /var/log -o -path /usr/lib/jvm -o -path /etc/java-17-openjdk \
    -o -path /etc/ssl -o -path /etc/ca-certificates -o -path /usr/share/ca-certificates -o -path /run \) -prune \
    -o -print | LC_ALL=C sort
}

step "apt-get update"
apt_get update -qq >/dev/null
# adduser and a JRE first, for the before-and-after comparison; the .deb's Depends name them.
# systemd (not running: this is a chroot) and procps (/bin/kill) as on a board, for the unit's
# systemd-analyze verify against this root.
step "installing the dependencies from the mirror (default-jre-headless, adduser; systemd, procps)"
apt_get install -y -qq --no-install-recommends default-jre-headless adduser systemd procps >"$root/tmp/deps.log" 2>&1 ||
  { cat "$root/tmp/deps.log"; fail "the dependencies did not install"; }
snapshot >"$root/tmp/before.txt"
echo "$(wc -l <"$root/tmp/before.txt") paths in the root before the install"

cp "$board_deb" "$network_deb" "$root/tmp/"
board_name="$(basename "$board_deb")"
network_name="$(basename "$network_deb")"
step "apt-get install ./$board_name"
apt_get install -y --no-install-recommends "/tmp/$board_name" >"$root/tmp/install.log" 2>&1 ||
  { cat "$root/tmp/install.log"; fail "the package did not install"; }
grep -E '^prospector: ' "$root/tmp/install.log" || true

step "user, groups, state directory, unit"
in_root id prospector
groups="$(in_root id -nG prospector)"
for g in prospector gpio i2c; do
  [[ " $groups " == *" $g "* ]] || fail "prospector is not in group $g ($groups)"
done
in_root getent passwd prospector | grep -q ':/nonexistent:/usr/sbin/nologin$' || fail "prospector has a home or a shell"
state="$(in_root stat -c '%a %U %G' /var/lib/prospector)"
[ "$state" = "700 prospector prospector" ] || fail "/var/lib/prospector: $state"
[ -z "$(ls -A "$root/var/lib/prospector")" ] || fail "the package put files in /var/lib/prospector (a key?)"
[ -f "$root/etc/prospector/prospector.conf" ] || fail "no /etc/prospector/prospector.conf"
[ -L "$root/etc/systemd/system/multi-user.target.wants/prospector.service" ] || fail "prospector.service is not enabled"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --root="$root" /lib/systemd/system/prospector.service || fail "systemd-analyze verify"
  echo "systemd-analyze verify --root: ok"
fi

step "as the prospector user: prospector --version"
as_prospector prospector --version || fail "prospector --version"
step "as the prospector user: prospector hardware --board emulated"
as_prospector prospector hardware --board emulated >"$root/tmp/hardware.txt" || { cat "$root/tmp/hardware.txt"; fail "prospector hardware"; }
head -n 5 "$root/tmp/hardware.txt"
step "as the prospector user: prospector verifier without the network package"
set +e
as_prospector prospector verifier --broker tcp://127.0.0.1:1 --fleet f 2>"$root/tmp/verifier.err"
status=$?
set -e
cat "$root/tmp/verifier.err"
if [ "$status" -ne 2 ] || ! grep -q "prospector-network package" "$root/tmp/verifier.err"; then
  fail "verifier without the network side: exit $status"
fi

step "apt-get install ./$network_name, prospector verifier --help, purge"
apt_get install -y --no-install-recommends "/tmp/$network_name" >"$root/tmp/network.log" 2>&1 ||
  { cat "$root/tmp/network.log"; fail "the network package did not install"; }
as_prospector prospector verifier --help | grep -q -- '--state-dir' || fail "verifier --help with the network package"
apt_get purge -y -qq prospector-network >/dev/null || fail "purge prospector-network"

step "first start's key (keygen as the service would make it), then apt-get remove"
as_prospector prospector keygen --dir /var/lib/prospector >/dev/null || fail "keygen"
echo "# local change" >>"$root/etc/prospector/prospector.conf"
apt_get remove -y -qq prospector >/dev/null || fail "apt-get remove"
[ -f "$root/var/lib/prospector/device.key" ] || fail "remove deleted the key"
[ -f "$root/etc/prospector/prospector.conf" ] || fail "remove deleted the configuration"
if [ -e "$root/usr/share/prospector" ] || [ -e "$root/usr/bin/prospector" ]; then fail "remove left the program"; fi
echo "remove: key, state and configuration kept; program gone"

step "apt-get purge"
apt_get purge -y -qq prospector >/dev/null || fail "apt-get purge"
for p in /etc/prospector /var/lib/prospector /usr/share/prospector /usr/bin/prospector /usr/share/doc/prospector \
  /lib/systemd/system/prospector.service /etc/systemd/system/multi-user.target.wants/prospector.service; do
  if [ -e "$root$p" ] || [ -L "$root$p" ]; then fail "purge left $p"; fi
done
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
status="$(in_root dpkg-query -W -f='${db:Status-Abbrev}' prospector 2>/dev/null || true)"
case "$status" in "" | un* | n*) ;; *) fail "dpkg still knows prospector: $status" ;; esac
snapshot >"$root/tmp/after.txt"
left="$(LC_ALL=C comm -13 "$root/tmp/before.txt" "$root/tmp/after.txt" |
  grep -Ev '^/etc/(passwd|group|shadow|gshadow)-$' || true)"
[ -z "$left" ] || fail "purge left behind: $left"
echo "purge: nothing left (the user prospector and the groups gpio, i2c stay, as Debian packages keep their users)"

step "PASS in $((SECONDS - start)) s"
