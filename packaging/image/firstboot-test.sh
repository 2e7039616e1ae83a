#!/usr/bin/env bash
# Test of the first boot (packaging/image/README.md): customize-image.sh --root-dir puts its files
# into a clean Debian 12 root (debootstrap minbase, as packaging/deb/install-test.sh makes it, plus
# systemd, not running), then /usr/local/sbin/prospector-firstboot runs in that root with chroot as
# the unit would run it on the board: apt-get installs the .deb and pulls a Java runtime from the
# mirror, the configuration and keys land in /etc/prospector with their owners and modes, the
# staged files and the .deb are deleted and the unit disables itself. Then the agent is started as
# the service starts it (user prospector, PROSPECTOR_CONFIG) against a broker that is not there:
# it must keep running (the configuration, the TLS files and their modes accepted) and make its
# device key. A second run of the first-boot script must do nothing.
#
# Usage (as root): packaging/image/firstboot-test.sh [DEB]   (default: packaging/deb/target's)
# Needs debootstrap, chroot, mount, openssl and the mirror (SUITE, MIRROR as install-test.sh).
# Shares install-test.sh's cache (~/.cache/prospector/install-test): about 2 minutes with it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
suite="${SUITE:-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
cache="${PROSPECTOR_CACHE:-$HOME/.cache/prospector}/install-test"
start=$SECONDS

fail() { echo "firstboot-test: FAIL: $*" >&2; exit 1; }
step() { echo "firstboot-test: [$((SECONDS - start)) s] $*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot, mount)"
command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install debootstrap"
deb="${1:-$(find "$here/../deb/target" -maxdepth 1 -name 'prospector_*_all.deb' 2>/dev/null | sort -V | tail -n 1)}"
if [ -z "$deb" ] || [ ! -f "$deb" ]; then fail "no prospector_*_all.deb: mvn -B package -pl packaging/deb -am -DskipTests"; fi

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

work="$(mktemp -d /var/tmp/prospector-firstboot-test.XXXXXX)"
root="$work/root"
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
step "copying the clean root to $root"
mkdir "$root"
cp -a "$base/." "$root/"
rm -f "$root/.complete"
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
mount --bind "$cache/archives" "$root/var/cache/apt/archives" && mounted+=("$root/var/cache/apt/archives")
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# Raspberry Pi OS has systemd (systemctl, deb-systemd-helper); minbase has not.
step "apt-get install systemd (not running, as on the board before its first boot)"
in_root apt-get -o Dpkg::Use-Pty=0 update -qq >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 install -y -qq --no-install-recommends systemd \
  >"$work/systemd.log" 2>&1 || { cat "$work/systemd.log"; fail "systemd did not install"; }
if in_root dpkg-query -W default-jre-headless >/dev/null 2>&1; then fail "the root already has a JRE"; fi

step "keys, certificates; customize-image.sh --root-dir"
cd "$work"
openssl genpkey -algorithm ed25519 -out v.key 2>/dev/null && openssl pkey -in v.key -pubout -out verifier.pub
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=test CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=board" \
  -keyout board.key -out board.csr 2>/dev/null
openssl x509 -req -in board.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out board.pem 2>/dev/null
chmod 0600 board.key
# 127.0.0.1:1: nobody listens there; the agent buffers its reports and keeps trying.
"$here/customize-image.sh" --root-dir "$root" --deb "$deb" --broker ssl://127.0.0.1:1 --fleet testfleet \
  --verifier-key verifier.pub --ca ca.pem --cert board.pem --key board.key --set plot-size=0 --set interval=2s
cp "$root/var/lib/prospector-firstboot/prospector.conf" "$work/staged.conf"
deb_name="$(basename "$(find "$root/var/cache/prospector" -name 'prospector_*_all.deb')")"

step "chroot: /usr/local/sbin/prospector-firstboot (apt-get installs the .deb and a Java runtime)"
in_root /usr/local/sbin/prospector-firstboot >"$work/firstboot.log" 2>&1 || { cat "$work/firstboot.log"; fail "the first boot failed"; }
grep '^prospector-firstboot: ' "$work/firstboot.log"

step "what the first boot left"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
status="$(in_root dpkg-query -W -f='${db:Status-Abbrev} ${Version}' prospector)"
[[ "$status" == "ii "* ]] || fail "prospector is not installed: $status"
in_root java -version >/dev/null 2>&1 || fail "no Java runtime came with the package"
echo "  prospector $status, and a Java runtime"
cmp -s "$root/etc/prospector/prospector.conf" "$work/staged.conf" || fail "/etc/prospector/prospector.conf is not the staged one"
expect() { # PATH "MODE USER GROUP"
  local got
  got="$(in_root stat -c '%a %U %G' "$1")"
  [ "$got" = "$2" ] || fail "$1: $got, not $2"
  echo "  $1: $got"
}
expect /etc/prospector/prospector.conf "644 root root"
expect /etc/prospector/verifier.pub "644 root root"
expect /etc/prospector/ca.pem "644 root root"
expect /etc/prospector/board.pem "644 root root"
expect /etc/prospector/board.key.pem "600 prospector prospector"
cmp -s "$root/etc/prospector/board.key.pem" board.key || fail "board.key.pem is not the --key file"
for p in /var/lib/prospector-firstboot "/var/cache/prospector/$deb_name" \
  /etc/systemd/system/multi-user.target.wants/prospector-firstboot.service; do
  if [ -e "$root$p" ] || [ -L "$root$p" ]; then fail "$p is still there"; fi
done
echo "  the staged files, the .deb and the unit's enablement are gone"
[ -L "$root/etc/systemd/system/multi-user.target.wants/prospector.service" ] || fail "prospector.service is not enabled"
echo "  prospector.service enabled"

step "the agent as the service starts it: it must keep running"
set +e
in_root timeout 25 runuser -u prospector -- env PROSPECTOR_CONFIG=/etc/prospector/prospector.conf \
  XDG_CACHE_HOME=/tmp/.cache prospector run >"$work/agent.log" 2>&1
status=$?
set -e
head -n 8 "$work/agent.log"
[ "$status" -eq 124 ] || { cat "$work/agent.log"; fail "the agent stopped with exit $status (2: configuration refused)"; }
[ -f "$root/var/lib/prospector/device.key" ] || fail "the agent made no device key"
expect /var/lib/prospector/device.key "600 prospector prospector"
echo "  the agent ran 25 s with the placed configuration and made its key on the board"

step "a second run of the first boot does nothing"
in_root /usr/local/sbin/prospector-firstboot | grep -qF 'nothing to do' || fail "the second run did something"
echo "  nothing to do"

# --- The pi-gen stage: its 00-run.sh in a fresh root, with a stand-in for pi-gen's on_chroot ------
step "pi-gen stage: 00-prospector/00-run.sh with ROOTFS_DIR and on_chroot as pi-gen sets them"
for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}"; done
mounted=()
rm -rf "$root"
mkdir "$root"
cp -a "$base/." "$root/"
rm -f "$root/.complete"
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
mount --bind "$cache/archives" "$root/var/cache/apt/archives" && mounted+=("$root/var/cache/apt/archives")
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root apt-get -o Dpkg::Use-Pty=0 update -qq >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 install -y -qq --no-install-recommends systemd \
  >"$work/systemd.log" 2>&1 || { cat "$work/systemd.log"; fail "systemd did not install"; }
cp -r "$here/pi-gen/stage-prospector" "$work/stage"
cp "$deb" verifier.pub ca.pem "$work/stage/00-prospector/files/"
printf '%s\n' "# as an operator writes it" "--broker ssl://127.0.0.1:1" "--fleet testfleet" \
  "--verifier-key verifier.pub" "--ca ca.pem" "--set plot-size=0" >"$work/stage/00-prospector/files/customize.conf"
# pi-gen's on_chroot: `capsh --chroot=ROOTFS_DIR -- -e` reading the commands on stdin.
on_chroot() { chroot "$ROOTFS_DIR" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /bin/bash -e; }
export -f on_chroot
(cd "$work/stage/00-prospector" && ROOTFS_DIR="$root" PROSPECTOR_IMAGE_DIR="$here" ./00-run.sh) >"$work/stage.log" 2>&1 ||
  { cat "$work/stage.log"; fail "the stage failed"; }
grep -E '^(prospector-firstboot|customize-image): ' "$work/stage.log"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
[[ "$(in_root dpkg-query -W -f='${db:Status-Abbrev}' prospector)" == "ii "* ]] || fail "the stage did not install prospector"
grep -qxF "broker = ssl://127.0.0.1:1" "$root/etc/prospector/prospector.conf" || fail "the stage's configuration is not in place"
expect /etc/prospector/verifier.pub "644 root root"
for p in /etc/systemd/system/prospector-firstboot.service /usr/local/sbin/prospector-firstboot /var/lib/prospector-firstboot \
  /var/lib/prospector/device.key; do
  if [ -e "$root$p" ]; then fail "the stage left $p"; fi
done
[ -L "$root/etc/systemd/system/multi-user.target.wants/prospector.service" ] || fail "prospector.service is not enabled"
echo "  installed, configured, enabled; no first-boot unit and no device key left in the image"

step "PASS in $((SECONDS - start)) s"
