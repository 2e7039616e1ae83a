#!/bin/bash -e
# pi-gen sub-stage (../README.md): installs Prospector into the image at build time. pi-gen runs
# this in its own directory, with ROOTFS_DIR and on_chroot from its scripts/common. It runs the
# same two programs as an image customised with customize-image.sh, one after the other:
#   customize-image.sh --root-dir "$ROOTFS_DIR" with the options in files/customize.conf and the
#     newest files/prospector_*_all.deb (checks them, stages the configuration and the .deb);
#   /usr/local/sbin/prospector-firstboot in pi-gen's chroot, at once instead of on the first boot
#     (apt-get installs the .deb and its Java runtime; the configuration goes into /etc/prospector).
# The board then boots with the agent installed, configured and enabled; it makes its device key
# on its first start. PROSPECTOR_IMAGE_DIR names packaging/image when this stage was copied out of
# the Prospector tree.

files="$(pwd)/files"
image_dir="${PROSPECTOR_IMAGE_DIR:-$(cd ../../.. && pwd)}"
fail() { echo "stage-prospector: $*" >&2; exit 1; }

[ -x "$image_dir/customize-image.sh" ] ||
	fail "no customize-image.sh in $image_dir: set PROSPECTOR_IMAGE_DIR to the Prospector tree's packaging/image"
[ -f "$files/customize.conf" ] || fail "no $files/customize.conf (start from customize.conf.example)"
deb="$(find "$files" -maxdepth 1 -name 'prospector_*_all.deb' | sort -V | tail -n 1)"
[ -n "$deb" ] || fail "no prospector_<version>_all.deb in $files"

args=()
while read -r option value; do
	case "$option" in "" | "#"*) continue ;; esac
	case "$option" in
		--verifier-key | --operator-key | --ca | --cert | --key)
			case "$value" in /*) ;; *) value="$files/$value" ;; esac
			;;
		--broker | --fleet | --set) ;;
		*) fail "customize.conf: $option is not for this file (--broker --fleet --verifier-key --operator-key --ca --cert --key --set)" ;;
	esac
	args+=("$option" "$value")
done <"$files/customize.conf"

"$image_dir/customize-image.sh" --root-dir "${ROOTFS_DIR}" --deb "$deb" "${args[@]}"
on_chroot <<CHROOT
/usr/local/sbin/prospector-firstboot
rm -f /etc/systemd/system/prospector-firstboot.service /usr/local/sbin/prospector-firstboot
CHROOT
[ -f "${ROOTFS_DIR}/usr/share/prospector/prospector.jar" ] || fail "prospector is not installed in the image"
[ ! -e "${ROOTFS_DIR}/var/lib/prospector/device.key" ] || fail "a device key is in the image"
