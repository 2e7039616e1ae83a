#!/usr/bin/env bash
# Writes a copy of a Raspberry Pi OS image that installs Prospector on the board's first boot
# (docs/IMAGE.md). Runs on any Linux machine as root, without booting or emulating a Pi: it
# loop-mounts the image's root partition (the second), and puts into it
#   /var/cache/prospector/prospector_<v>_all.deb       the package
#   /var/lib/prospector-firstboot/prospector.conf       the configuration (the package's conffile
#                                                       with broker, fleet, keys set at its end)
#   /var/lib/prospector-firstboot/etc/                  verifier keys, TLS files
#   /usr/local/sbin/prospector-firstboot                what the first boot runs
#   /etc/systemd/system/prospector-firstboot.service    the oneshot unit, enabled
#   /root/.ssh/authorized_keys                          with --operator-key, and ssh enabled
# The boot partition is not touched: Raspberry Pi Imager still recognises the image as Raspberry
# Pi OS and applies its own settings (Wi-Fi, user, hostname, SSH) on the first boot. No device key
# is in the image: the agent makes it on the board.
#
# Usage (as root):
#   customize-image.sh IMAGE.img[.xz] --deb prospector_<v>_all.deb --broker URL --fleet NAME
#       [--verifier-key FILE]... [--operator-key FILE]... [--ca FILE [--cert FILE --key FILE]]
#       [--set KEY=VALUE]... [--out FILE.img[.xz]] [--force]
#   customize-image.sh --root-dir DIR --deb ... (the same files into a directory tree: a root
#       file system mounted elsewhere, or a test)
# Needs losetup, mount, partx, blkid, e2fsck (util-linux, e2fsprogs), dpkg-deb, and xz for .xz.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
prog=customize-image

die() { echo "$prog: $*" >&2; exit 2; }
say() { echo "$prog: $*"; }

usage() {
  sed -n '/^# Usage/,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'
}

image="" root_dir="" deb="" broker="" fleet="" out="" ca="" cert="" key="" force=0
verifier_keys=() operator_keys=() sets=()
need_value() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (--help)"; fi; }
while [ $# -gt 0 ]; do
  case "$1" in
    --deb | --broker | --fleet | --verifier-key | --operator-key | --ca | --cert | --key | --set | --out | --root-dir)
      need_value "$@"
      case "$1" in
        --deb) deb="$2" ;;
        --broker) broker="$2" ;;
        --fleet) fleet="$2" ;;
        --verifier-key) verifier_keys+=("$2") ;;
        --operator-key) operator_keys+=("$2") ;;
        --ca) ca="$2" ;;
        --cert) cert="$2" ;;
        --key) key="$2" ;;
        --set) sets+=("$2") ;;
        --out) out="$2" ;;
        --root-dir) root_dir="$2" ;;
      esac
      shift 2
      ;;
    --force) force=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (--help lists them)" ;;
    *)
      [ -z "$image" ] || die "one image only: $image and $1"
      image="$1"
      shift
      ;;
  esac
done

# --- The inputs: every check before anything is written -----------------------------------------
if [ -n "$root_dir" ]; then
  [ -z "$image" ] || die "--root-dir DIR or IMAGE, not both"
  [ -d "$root_dir" ] || die "--root-dir $root_dir is not a directory"
else
  [ -n "$image" ] || die "no image given: customize-image.sh IMAGE.img[.xz] --deb FILE --broker URL --fleet NAME (--help)"
  [ -f "$image" ] || die "image $image: no such file"
fi
[ -n "$deb" ] || die "--deb prospector_<version>_all.deb is required (mvn -B package -pl packaging/deb -am builds it)"
[ -f "$deb" ] || die "--deb $deb: no such file (mvn -B package -pl packaging/deb -am builds it)"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing: apt-get install dpkg"
package="$(dpkg-deb -f "$deb" Package 2>/dev/null)" || die "--deb $deb is not a Debian package"
[ "$package" = "prospector" ] || die "--deb $deb is the package $package, not prospector"
deb_version="$(dpkg-deb -f "$deb" Version)"
deb_name="prospector_${deb_version}_all.deb"

[ -n "$broker" ] || die "--broker URL is required (tcp://HOST:PORT or ssl://HOST:PORT)"
[[ "$broker" =~ ^(tcp|ssl|mqtt|mqtts)://[^[:space:]/\\]+$ ]] ||
  die "--broker $broker: not tcp://HOST:PORT, ssl://HOST:PORT, mqtt:// or mqtts://"
[ -n "$fleet" ] || die "--fleet NAME is required"
[[ "$fleet" =~ ^[a-z0-9._-]+$ ]] || die "--fleet $fleet: lowercase letters, digits, '.', '_', '-' only"
for f in "${verifier_keys[@]}"; do
  [ -f "$f" ] || die "--verifier-key $f: no such file"
  grep -q -- '-----BEGIN PUBLIC KEY-----' "$f" ||
    die "--verifier-key $f: not a PEM public key (the verifier's receipt-key/device.pub)"
done
for f in "${operator_keys[@]}"; do
  [ -f "$f" ] || die "--operator-key $f: no such file"
  bad="$(grep -Ev '^[[:space:]]*(#|$)' "$f" | grep -Evc '^(ssh-|ecdsa-sha2-|sk-)' || true)"
  [ "$bad" = 0 ] || die "--operator-key $f: $bad line(s) are not SSH public keys (ssh-ed25519 AAAA... comment)"
  grep -Eq '^(ssh-|ecdsa-sha2-|sk-)' "$f" || die "--operator-key $f: no SSH public key in it"
done
if [ -n "$cert" ] || [ -n "$key" ]; then
  if [ -z "$cert" ] || [ -z "$key" ]; then die "--cert and --key go together (mutual TLS)"; fi
  [ -n "$ca" ] || die "--cert and --key need --ca (docs/TLS.md)"
fi
if [ -n "$ca" ]; then
  [[ "$broker" =~ ^(ssl|mqtts):// ]] || die "--ca needs an ssl:// or mqtts:// --broker (docs/TLS.md)"
  [ -f "$ca" ] || die "--ca $ca: no such file"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$ca" || die "--ca $ca: not a PEM certificate"
fi
if [ -n "$cert" ]; then
  [ -f "$cert" ] || die "--cert $cert: no such file"
  grep -q -- '-----BEGIN CERTIFICATE-----' "$cert" || die "--cert $cert: not a PEM certificate"
  [ -f "$key" ] || die "--key $key: no such file"
  grep -Eq -- '-----BEGIN (EC |RSA )?PRIVATE KEY-----' "$key" ||
    die "--key $key: not an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)"
fi

if [ -n "$cert" ]; then
  say "warning: every board written from this image shares this client certificate; docs/SECURITY.md's ACL wants the board's device id as its CN (docs/IMAGE.md, \"TLS\")"
fi

# The package's own conffile: the base of the board's configuration, and the list of known keys
# (it names every setting of `prospector run` and every hardware.* key, commented out).
package_conf="$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/prospector/prospector.conf)" ||
  die "--deb $deb has no /etc/prospector/prospector.conf"
known_keys="$(sed -nE 's/^#?[[:space:]]*([a-z][a-z0-9.-]*)[[:space:]]*=.*/\1/p' <<<"$package_conf" | sort -u)"
for s in "${sets[@]}"; do
  [[ "$s" =~ ^([a-z][a-z0-9.-]*)=(.*)$ ]] || die "--set $s: not KEY=VALUE"
  k="${BASH_REMATCH[1]}" v="${BASH_REMATCH[2]}"
  case "$k" in
    broker | fleet | verifier-key | ca | cert | key) die "--set $k: use --$k" ;;
    password-file) die "--set password-file: a password file is not put into images; see docs/IMAGE.md" ;;
  esac
  grep -qxF "${k#run.}" <<<"$known_keys" || die "--set $k: not a setting of prospector run (see /etc/prospector/prospector.conf)"
  [[ "$v" != *\\* ]] || die "--set $k: a backslash in a value is read as an escape; leave it out"
done

# --- What goes into the root file system ----------------------------------------------------------
board_conf() {
  local i paths=() s
  printf '%s\n\n' "$package_conf"
  printf '# --- Set for this fleet by customize-image.sh (packaging/image) on %s ---\n' "$(date -u +%F)"
  printf 'broker = %s\nfleet = %s\n' "$broker" "$fleet"
  for i in "${!verifier_keys[@]}"; do paths+=("/etc/prospector/$(verifier_key_name "$i")"); done
  if [ ${#paths[@]} -gt 0 ]; then
    (IFS=,; printf 'verifier-key = %s\n' "${paths[*]}")
  fi
  if [ -n "$ca" ]; then printf 'ca = /etc/prospector/ca.pem\n'; fi
  if [ -n "$cert" ]; then printf 'cert = /etc/prospector/board.pem\nkey = /etc/prospector/board.key.pem\n'; fi
  for s in "${sets[@]}"; do printf '%s = %s\n' "${s%%=*}" "${s#*=}"; done
}
verifier_key_name() { if [ "$1" -eq 0 ]; then echo verifier.pub; else echo "verifier-$(($1 + 1)).pub"; fi; }

# place ROOT: every file of the first boot into the root file system at ROOT.
place() {
  local root="$1" i f
  if [ ! -d "$root/etc" ] || [ ! -d "$root/usr" ]; then die "$root has no etc/ and usr/: not a root file system"; fi
  [ -f "$root/etc/os-release" ] || die "$root/etc/os-release is missing: not a Debian or Raspberry Pi OS root"
  if [ ! -f "$root/etc/rpi-issue" ]; then say "warning: no /etc/rpi-issue: this root was not made by pi-gen (Raspberry Pi OS)"; fi

  install -d -m 0755 "$root/var/cache/prospector"
  rm -f "$root"/var/cache/prospector/prospector_*.deb
  install -m 0644 "$deb" "$root/var/cache/prospector/$deb_name"

  local staged="$root/var/lib/prospector-firstboot"
  rm -rf "$staged"
  install -d -m 0700 "$staged" "$staged/etc"
  board_conf >"$staged/prospector.conf"
  chmod 0644 "$staged/prospector.conf"
  for i in "${!verifier_keys[@]}"; do
    install -m 0644 "${verifier_keys[$i]}" "$staged/etc/$(verifier_key_name "$i")"
  done
  if [ -n "$ca" ]; then install -m 0644 "$ca" "$staged/etc/ca.pem"; fi
  if [ -n "$cert" ]; then
    install -m 0644 "$cert" "$staged/etc/board.pem"
    install -m 0600 "$key" "$staged/etc/board.key.pem"
  fi

  install -d -m 0755 "$root/usr/local/sbin" "$root/etc/systemd/system/multi-user.target.wants"
  install -m 0755 "$here/prospector-firstboot" "$root/usr/local/sbin/prospector-firstboot"
  install -m 0644 "$here/prospector-firstboot.service" "$root/etc/systemd/system/prospector-firstboot.service"
  # What `systemctl enable` makes; the link is read on the board, where its target exists.
  ln -sfn /etc/systemd/system/prospector-firstboot.service \
    "$root/etc/systemd/system/multi-user.target.wants/prospector-firstboot.service"

  if [ ${#operator_keys[@]} -gt 0 ]; then
    install -d -m 0700 "$root/root/.ssh"
    touch "$root/root/.ssh/authorized_keys"
    for f in "${operator_keys[@]}"; do
      grep -E '^(ssh-|ecdsa-sha2-|sk-)' "$f" | while IFS= read -r line; do
        grep -qxF -- "$line" "$root/root/.ssh/authorized_keys" || echo "$line" >>"$root/root/.ssh/authorized_keys"
      done
    done
    chmod 0600 "$root/root/.ssh/authorized_keys"
    # sshd on, as `systemctl enable ssh` (Raspberry Pi OS Lite has openssh-server, disabled).
    local unit=""
    for f in usr/lib/systemd/system/ssh.service lib/systemd/system/ssh.service; do
      if [ -f "$root/$f" ] && [ ! -L "$root/$f" ]; then unit="/$f"; break; fi
    done
    if [ -n "$unit" ]; then
      ln -sfn "$unit" "$root/etc/systemd/system/multi-user.target.wants/ssh.service"
      ln -sfn "$unit" "$root/etc/systemd/system/sshd.service"
    else
      say "warning: no ssh.service in the image: the operator keys are in /root/.ssh/authorized_keys, but nothing serves SSH"
    fi
  fi
}

summary() {
  local tls="no TLS files"
  if [ -n "$cert" ]; then tls="mutual TLS"; elif [ -n "$ca" ]; then tls="TLS with --ca"; fi
  say "broker $broker, fleet $fleet, ${#verifier_keys[@]} verifier key(s), ${#operator_keys[@]} operator key file(s), $tls"
}

if [ -n "$root_dir" ]; then
  place "$root_dir"
  say "placed the first boot of $deb_name into $root_dir (/usr/local/sbin/prospector-firstboot installs it)"
  summary
  exit 0
fi

# --- The image -------------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "run as root: the image's root partition is loop-mounted"
for tool in losetup mount umount mountpoint partx blkid e2fsck; do
  command -v "$tool" >/dev/null || die "$tool is missing (util-linux, e2fsprogs)"
done
case "$image" in *.xz) command -v xz >/dev/null || die "xz is missing: apt-get install xz-utils" ;; esac
if [ -z "$out" ]; then
  base="$(basename "$image")"
  base="${base%.xz}"
  out="$(dirname "$image")/${base%.img}-prospector.img"
fi
case "$out" in *.xz) command -v xz >/dev/null || die "xz is missing: apt-get install xz-utils" ;; esac
[ "$force" -eq 1 ] || [ ! -e "$out" ] || die "$out exists: remove it or add --force"
out_img="${out%.xz}.partial" # the uncompressed image while it is made

mnt="" dev=""
cleanup() {
  if [ -n "$mnt" ] && mountpoint -q "$mnt"; then umount "$mnt" || true; fi
  if [ -n "$mnt" ]; then rmdir "$mnt" 2>/dev/null || true; fi
  if [ -n "$dev" ]; then losetup -d "$dev" 2>/dev/null || true; fi
  rm -f "$out_img"
}
trap cleanup EXIT

say "copying $image to $out_img"
case "$image" in
  *.xz) xz -dc -T0 "$image" >"$out_img" || die "$image: xz could not decompress it" ;;
  *) cp --sparse=always "$image" "$out_img" ;;
esac

# The root partition by its place in the partition table: no partition device nodes needed
# (losetup -P needs udev, which a container or a CI runner may lack).
part="$(partx -g -o NR,START,SECTORS,TYPE --nr 2 "$out_img" 2>/dev/null || true)"
[ -n "$part" ] || die "$image has no second partition: not a Raspberry Pi OS image (boot, root)"
read -r _ start sectors ptype <<<"$part"
case "$ptype" in 0x83 | 0fc63daf-8483-4772-8e79-3d69d8477de4) ;; *) die "$image: partition 2 has type $ptype, not Linux (0x83)" ;; esac
dev="$(losetup --find --show --offset $((start * 512)) --sizelimit $((sectors * 512)) "$out_img")" ||
  die "losetup failed: no free loop device (losetup -f), or no permission (a container needs --privileged)"
fstype="$(blkid -o value -s TYPE "$dev" || true)"
[ "$fstype" = ext4 ] || die "$image: partition 2 is ${fstype:-not a file system}, not ext4"
mnt="$(mktemp -d /tmp/prospector-image.XXXXXX)"
mount -t ext4 "$dev" "$mnt" || die "mount $dev (partition 2 of $out_img) failed"

need_kib=$(($(stat -c %s "$deb") / 1024 + 1024))
free_kib="$(df --output=avail -k "$mnt" | tail -n 1 | tr -d ' ')"
[ "$free_kib" -ge "$need_kib" ] ||
  die "the root partition has ${free_kib} KiB free, ${need_kib} KiB needed: grow the image first (docs/IMAGE.md, \"Too little room\")"

place "$mnt"
sync
umount "$mnt"
rmdir "$mnt"
mnt=""
e2fsck -fn "$dev" >/dev/null 2>&1 || die "e2fsck finds errors on partition 2 after the change: not written"
losetup -d "$dev"
dev=""

case "$out" in
  *.xz)
    say "compressing to $out"
    xz -T0 -c "$out_img" >"$out" || die "xz could not write $out"
    ;;
  *) mv "$out_img" "$out" ;;
esac
say "wrote $out"
summary
say "on the first boot with a network: apt-get install /var/cache/prospector/$deb_name, then the agent starts"
say "write it with Raspberry Pi Imager (Use custom; OS customisation sets Wi-Fi, user, SSH), then boot the board"
