#!/usr/bin/env bash
# Test of customize-image.sh on a small fake Raspberry Pi OS image (packaging/image/README.md):
# an MBR with a FAT boot partition and an ext4 root partition holding just what the script looks
# at (os-release, rpi-issue, ssh.service). It checks the refusals (not root, one partition only,
# no .deb), then customises the image (.img.xz in, .img.xz out) and reads the result back with
# debugfs, without mounting it: the .deb, the staged configuration and keys with their modes,
# the unit and its enablement, the operator keys and ssh's enablement, a clean e2fsck, and a boot
# partition unchanged to the byte. Last, the --root-dir mode and `systemd-analyze verify` of the
# unit in that tree.
#
# Usage (as root): packaging/image/image-test.sh [DEB]   (default: packaging/deb/target's)
# Needs sfdisk, mkfs.vfat, mkfs.ext4, debugfs, losetup (a loop device), openssl, ssh-keygen, xz.
# About 10 s; nothing leaves the temporary directory.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
customize="$here/customize-image.sh"
start=$SECONDS

fail() { echo "image-test: FAIL: $*" >&2; exit 1; }
step() { echo "image-test: [$((SECONDS - start)) s] $*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root (the script under test loop-mounts the image)"
for tool in sfdisk mkfs.vfat mkfs.ext4 debugfs losetup openssl ssh-keygen xz; do
  command -v "$tool" >/dev/null || fail "$tool is missing (fdisk, dosfstools, e2fsprogs, mount, openssl, openssh-client, xz-utils)"
done
deb="${1:-$(find "$here/../deb/target" -maxdepth 1 -name 'prospector_*_all.deb' 2>/dev/null | sort -V | tail -n 1)}"
if [ -z "$deb" ] || [ ! -f "$deb" ]; then fail "no prospector_*_all.deb: mvn -B package -pl packaging/deb -am -DskipTests"; fi

work="$(mktemp -d /tmp/prospector-image-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
cd "$work"

# --- Inputs: keys and certificates as an operator would have them -------------------------------
step "keys and certificates"
openssl genpkey -algorithm ed25519 -out v1.key 2>/dev/null && openssl pkey -in v1.key -pubout -out verifier1.pub
openssl genpkey -algorithm ed25519 -out v2.key 2>/dev/null && openssl pkey -in v2.key -pubout -out verifier2.pub
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=test CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=board" \
  -keyout board.key -out board.csr 2>/dev/null
openssl x509 -req -in board.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out board.pem 2>/dev/null
chmod 0600 board.key
ssh-keygen -q -t ed25519 -N "" -C "operator@test" -f operator
chmod 0644 ./*.pub ca.pem board.pem

# --- A fake Raspberry Pi OS image: 8 MiB gap, 64 MiB FAT, 96 MiB ext4 ---------------------------
step "fake image: MBR, FAT boot partition, ext4 root partition"
mkdir -p rootfs/etc/systemd/system/multi-user.target.wants rootfs/usr/lib/systemd/system rootfs/root \
  rootfs/var/lib rootfs/var/cache rootfs/usr/local/sbin
ln -s usr/lib rootfs/lib
printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n' >rootfs/etc/os-release
echo "Raspberry Pi reference 2024-11-19 (fake, for image-test.sh)" >rootfs/etc/rpi-issue
printf '[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStart=/usr/sbin/sshd -D\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n' \
  >rootfs/usr/lib/systemd/system/ssh.service
truncate -s 96M root.ext4
mkfs.ext4 -q -F -L rootfs -d rootfs root.ext4
mkfs.vfat -n bootfs -C boot.fat $((64 * 1024)) >/dev/null 2>&1 # warns of the lowercase label, as Raspberry Pi OS has it
make_image() { # IMAGE PARTITIONS(1 or 2)
  truncate -s $((8 + 64 + 96))M "$1"
  if [ "$2" -eq 2 ]; then
    printf 'label: dos\nunit: sectors\nstart=16384, size=131072, type=c\nstart=147456, size=196608, type=83\n' | sfdisk -q "$1"
  else
    printf 'label: dos\nunit: sectors\nstart=16384, size=131072, type=c\n' | sfdisk -q "$1"
  fi
  dd if=boot.fat of="$1" bs=512 seek=16384 conv=notrunc,sparse status=none
  if [ "$2" -eq 2 ]; then dd if=root.ext4 of="$1" bs=512 seek=147456 conv=notrunc,sparse status=none; fi
}
make_image raspios.img 2
make_image onepart.img 1
boot_before="$(dd if=raspios.img bs=512 skip=16384 count=131072 status=none | sha256sum)"
xz -T0 -k raspios.img

# --- Refusals: one line each, exit 2 ------------------------------------------------------------
refuses() { # WHAT EXPECTED-TEXT COMMAND...: exit 2 and one line on stderr that contains the text
  local what="$1" text="$2" status=0
  shift 2
  "$@" >refusal.out 2>refusal.err || status=$?
  [ "$status" -eq 2 ] || { cat refusal.out refusal.err; fail "$what: exit $status, not 2"; }
  [ "$(wc -l <refusal.err)" -eq 1 ] || { cat refusal.err; fail "$what: not one line"; }
  grep -qF -- "$text" refusal.err || { cat refusal.err; fail "$what: no \"$text\""; }
  echo "  refused, $what: $(cat refusal.err)"
}
step "refusals"
cp "$deb" ./prospector.deb
chmod 0644 prospector.deb raspios.img
common=(--deb prospector.deb --broker tcp://broker.example:1883 --fleet testfleet)
refuses "not root" "run as root" setpriv --reuid=65534 --regid=65534 --clear-groups "$customize" raspios.img "${common[@]}" --out "$work/x.img"
refuses "one partition only" "has no second partition" "$customize" onepart.img "${common[@]}"
refuses "no .deb" "--deb missing.deb: no such file" "$customize" raspios.img --deb missing.deb --broker tcp://b:1883 --fleet f
refuses "no broker" "--broker URL is required" "$customize" raspios.img --deb prospector.deb --fleet f
refuses "bad fleet" "--fleet Test Fleet" "$customize" raspios.img --deb prospector.deb --broker tcp://b:1883 --fleet "Test Fleet"
refuses "unknown --set key" "--set intervall" "$customize" raspios.img "${common[@]}" --set intervall=1m
refuses "cert without ca" "need --ca" "$customize" raspios.img "${common[@]}" --cert board.pem --key board.key
refuses "not a public key" "not a PEM public key" "$customize" raspios.img "${common[@]}" --verifier-key ca.pem
refuses "not an ssh key" "not SSH public keys" "$customize" raspios.img "${common[@]}" --operator-key ca.pem
[ ! -e raspios-prospector.img ] || fail "a refusal left raspios-prospector.img"

# --- The customisation --------------------------------------------------------------------------
step "customize-image.sh raspios.img.xz ... --out custom.img.xz"
"$customize" raspios.img.xz --deb prospector.deb --broker ssl://broker.example:8883 --fleet testfleet \
  --verifier-key verifier1.pub --verifier-key verifier2.pub --operator-key operator.pub \
  --ca ca.pem --cert board.pem --key board.key --set interval=1m --set hardware.led.pin=17 \
  --out "$work/custom.img.xz"
ls "$work"/*.partial 2>/dev/null && fail "a .partial image was left"
refuses "existing output" "exists: remove it or add --force" "$customize" raspios.img "${common[@]}" --out "$work/custom.img.xz"
[ -z "$(losetup -j custom.img.partial)" ] || fail "a loop device is still attached"

step "reading the result back (debugfs, no mount)"
xz -dc custom.img.xz >custom.img
[ "$(stat -c %s custom.img)" -eq "$(stat -c %s raspios.img)" ] || fail "the image changed size"
boot_after="$(dd if=custom.img bs=512 skip=16384 count=131072 status=none | sha256sum)"
[ "$boot_before" = "$boot_after" ] || fail "the boot partition changed"
echo "  boot partition unchanged"
dd if=custom.img of=custom.ext4 bs=512 skip=147456 count=196608 status=none
e2fsck -fn custom.ext4 >/dev/null 2>&1 || fail "e2fsck finds errors in the root partition"
echo "  e2fsck: clean"
cat_file() { debugfs -R "cat $1" custom.ext4 2>/dev/null; }
mode_of() { # PATH: octal mode, uid, gid as debugfs reads them
  debugfs -R "stat $1" custom.ext4 2>/dev/null | sed -nE 's/.*Mode: +0?([0-7]{4}).*/\1/p; s/^User: +([0-9]+) +Group: +([0-9]+).*/\1:\2/p' | paste -sd' '
}
expect_mode() { # PATH MODE
  local got
  got="$(mode_of "$1")"
  [ "$got" = "$2 0:0" ] || fail "$1: mode and owner $got, not $2 0:0"
  echo "  $1: $2 root"
}
deb_name="prospector_$(dpkg-deb -f prospector.deb Version)_all.deb"
cmp -s <(cat_file "/var/cache/prospector/$deb_name") prospector.deb || fail "/var/cache/prospector/$deb_name differs from the .deb"
echo "  /var/cache/prospector/$deb_name: the .deb, byte for byte"
expect_mode "/var/cache/prospector/$deb_name" 0644
cmp -s <(cat_file /etc/systemd/system/prospector-firstboot.service) "$here/prospector-firstboot.service" || fail "the unit differs"
expect_mode /etc/systemd/system/prospector-firstboot.service 0644
cmp -s <(cat_file /usr/local/sbin/prospector-firstboot) "$here/prospector-firstboot" || fail "the first-boot script differs"
expect_mode /usr/local/sbin/prospector-firstboot 0755
link="$(debugfs -R "stat /etc/systemd/system/multi-user.target.wants/prospector-firstboot.service" custom.ext4 2>/dev/null |
  sed -nE 's/^Fast link dest: "(.*)"/\1/p')"
[ "$link" = /etc/systemd/system/prospector-firstboot.service ] || fail "the unit is not enabled (link: $link)"
echo "  prospector-firstboot.service enabled in multi-user.target.wants"
expect_mode /var/lib/prospector-firstboot 0700
conf="$(cat_file /var/lib/prospector-firstboot/prospector.conf)"
for line in "broker = ssl://broker.example:8883" "fleet = testfleet" \
  "verifier-key = /etc/prospector/verifier.pub,/etc/prospector/verifier-2.pub" "ca = /etc/prospector/ca.pem" \
  "cert = /etc/prospector/board.pem" "key = /etc/prospector/board.key.pem" "interval = 1m" "hardware.led.pin = 17"; do
  grep -qxF "$line" <<<"$conf" || fail "prospector.conf lacks: $line"
done
grep -qF '# --- Where the reports go (required)' <<<"$conf" || fail "prospector.conf is not based on the package's conffile"
echo "  prospector.conf: the package's conffile, then broker, fleet, 2 verifier keys, TLS, interval, hardware.led.pin"
for pair in verifier.pub:verifier1.pub verifier-2.pub:verifier2.pub ca.pem:ca.pem board.pem:board.pem board.key.pem:board.key; do
  cmp -s <(cat_file "/var/lib/prospector-firstboot/etc/${pair%%:*}") "${pair#*:}" || fail "staged ${pair%%:*} differs from ${pair#*:}"
done
expect_mode /var/lib/prospector-firstboot/etc/board.key.pem 0600
expect_mode /var/lib/prospector-firstboot/etc/verifier.pub 0644
grep -qxF "$(cat operator.pub)" <(cat_file /root/.ssh/authorized_keys) || fail "the operator key is not in /root/.ssh/authorized_keys"
expect_mode /root/.ssh 0700
expect_mode /root/.ssh/authorized_keys 0600
for l in /etc/systemd/system/multi-user.target.wants/ssh.service /etc/systemd/system/sshd.service; do
  debugfs -R "stat $l" custom.ext4 2>/dev/null | grep -qF 'Fast link dest: "/usr/lib/systemd/system/ssh.service"' ||
    fail "$l does not link to ssh.service"
done
echo "  ssh enabled (multi-user.target.wants/ssh.service, sshd.service)"
for p in /var/lib/prospector /etc/prospector /var/lib/prospector/device.key; do
  if debugfs -R "stat $p" custom.ext4 2>/dev/null | grep -q 'Inode:'; then fail "$p is in the image"; fi
done
echo "  no /etc/prospector, no /var/lib/prospector, no device key in the image"

# --- --root-dir, and the unit as systemd reads it ----------------------------------------------
step "customize-image.sh --root-dir, systemd-analyze verify"
mkdir tree
cp -a rootfs/. tree/
"$customize" --root-dir tree "${common[@]}" --verifier-key verifier1.pub >/dev/null
if [ ! -x tree/usr/local/sbin/prospector-firstboot ] || [ ! -f tree/var/cache/prospector/"$deb_name" ] ||
  ! grep -qxF 'verifier-key = /etc/prospector/verifier.pub' tree/var/lib/prospector-firstboot/prospector.conf; then
  fail "--root-dir did not place the files"
fi
echo "  --root-dir: placed"
if command -v systemd-analyze >/dev/null; then
  # The host's units stand in for the board's (network-online.target, multi-user.target).
  cp -an /usr/lib/systemd/system/. tree/usr/lib/systemd/system/
  systemd-analyze verify --root="$work/tree" /etc/systemd/system/prospector-firstboot.service ||
    fail "systemd-analyze verify prospector-firstboot.service"
  echo "  systemd-analyze verify: no complaint"
fi

step "PASS"
