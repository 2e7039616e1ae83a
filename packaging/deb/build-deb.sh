#!/usr/bin/env bash
# Builds the Debian packages from a built tree (`mvn package` runs it in packaging/deb's package
# phase, after agent/cli):
#   prospector_<version>_all.deb          the board: launcher, the board's jars, unit, conffile
#   prospector-network_<version>_all.deb  the network side: agent/network's jar (`verifier`,
#                                         `measure`) and prospector-verifier.service
# Usage: build-deb.sh VERSION REPO_ROOT OUT_DIR
# Without dpkg-deb it says so and builds nothing, unless CI=true, where that is a failure.
# DEB_MAINTAINER overrides the Maintainer field; SOURCE_DATE_EPOCH the files' time (default: the
# last commit's).
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 VERSION REPO_ROOT OUT_DIR" >&2
  exit 2
fi
version="$1"
repo="$(cd "$2" && pwd)"
out="$3"
here="$repo/packaging/deb"
cli="$repo/agent/cli/target"

if ! command -v dpkg-deb >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "build-deb: dpkg-deb is missing (apt-get install dpkg); CI=true, so this fails" >&2
    exit 1
  fi
  echo "build-deb: dpkg-deb is missing: no .deb built (apt-get install dpkg to build it)" >&2
  exit 0
fi

# Debian orders 0.2.0~SNAPSHOT before 0.2.0; a hyphen would split off a Debian revision.
deb_version="${version//-/\~}"
maintainer="${DEB_MAINTAINER:-Prospector developers <dev@prospector.invalid>}"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH="$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)"
fi
export SOURCE_DATE_EPOCH
umask 022

for f in "$cli/prospector.jar" "$cli/lib"; do
  if [ ! -e "$f" ]; then
    echo "build-deb: $f is missing: build agent/cli first (mvn -B package -pl packaging/deb -am)" >&2
    exit 1
  fi
done

# The network side's jar; every other jar of agent/cli's lib/ is the board's runtime class path.
network_jar="$(find "$cli/lib" -maxdepth 1 -name 'prospector-agent-network-*.jar' -printf '%f\n')"
if [ -z "$network_jar" ]; then
  echo "build-deb: no prospector-agent-network jar in $cli/lib" >&2
  exit 1
fi

work="$out/deb"
rm -rf "$work"
mkdir -p "$work"

changelog() { # PACKAGE DIR: a Debian changelog entry for this version, gzipped for a native package
  local date
  date="$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
  printf '%s (%s) unstable; urgency=medium\n\n  * Built from commit %s of the Prospector tree.\n\n -- %s  %s\n' \
    "$1" "$deb_version" "$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)" \
    "$maintainer" "$date" | gzip -9n >"$2/changelog.gz"
}

finish() { # ROOT PACKAGE: md5sums, times, modes, then the .deb
  local root="$1" package="$2"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) >"$root/DEBIAN/md5sums"
  local size
  size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
  sed -i "s/@SIZE@/$size/" "$root/DEBIAN/control"
  find "$root" -type d -exec chmod 0755 {} +
  find "$root" -type f -exec chmod 0644 {} +
  for f in "$root"/usr/bin/* "$root"/DEBIAN/postinst "$root"/DEBIAN/prerm "$root"/DEBIAN/postrm; do
    if [ -f "$f" ]; then chmod 0755 "$f"; fi
  done
  find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out/${package}_${deb_version}_all.deb" >/dev/null
  echo "build-deb: $out/${package}_${deb_version}_all.deb"
}

# --- prospector: the board -----------------------------------------------------------------
root="$work/prospector"
share="$root/usr/share/prospector"
doc="$root/usr/share/doc/prospector"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$share/lib" "$doc" "$root/lib/systemd/system" \
  "$root/etc/prospector" "$root/usr/share/man/man1"

install -m 0755 "$here/prospector" "$root/usr/bin/prospector"
install -m 0644 "$cli/prospector.jar" "$share/prospector.jar"
find "$cli/lib" -maxdepth 1 -type f -name '*.jar' ! -name "$network_jar" -exec install -m 0644 -t "$share/lib" {} +
# What never goes on a board: the embedded broker, benchmarks, the demo, Kafka, test libraries.
forbidden="$(find "$share" -name '*.jar' -printf '%f\n' |
  grep -Ei 'hivemq|bench|jmh|demo|testkit|junit|jqwik|awaitility|archunit|mockito|prospector-agent-network|kafka' || true)"
if [ -n "$forbidden" ]; then
  echo "build-deb: not for a board, but in agent/cli's lib/: $forbidden" >&2
  exit 1
fi
install -m 0644 "$repo/systemd/prospector.service" "$root/lib/systemd/system/prospector.service"
install -m 0644 "$here/prospector.conf" "$root/etc/prospector/prospector.conf"
install -m 0644 "$here/debian/copyright" "$doc/copyright"
install -m 0644 "$repo/README.md" "$doc/README.md"
for d in OPERATIONS HARDWARE TLS SECURITY REWARDS; do
  install -m 0644 "$repo/docs/$d.md" "$doc/$d.md"
done
changelog prospector "$doc"
gzip -9n <"$here/debian/prospector.1" >"$root/usr/share/man/man1/prospector.1.gz"

for s in postinst prerm postrm; do
  install -m 0755 "$here/debian/prospector.$s" "$root/DEBIAN/$s"
done
echo /etc/prospector/prospector.conf >"$root/DEBIAN/conffiles"
cat >"$root/DEBIAN/control" <<EOF
Package: prospector
Version: $deb_version
Architecture: all
Maintainer: $maintainer
Installed-Size: @SIZE@
Depends: default-jre-headless (>= 2:1.17) | java17-runtime-headless, adduser
Suggests: prospector-network
Section: net
Priority: optional
Description: proof-of-service agent for Raspberry Pi boards
 Prospector measures what a board serves (bandwidth, storage, uptime) through
 the board's hardware, signs that evidence as a COSE_Sign1 report with the
 board's Ed25519 key and delivers it over MQTT 5 without losing a report when
 the network or the power fails.
 .
 This package is the board: the prospector command and a hardened systemd
 service that runs the agent as the system user prospector. The device key is
 made on the service's first start. The network side (verifier, bandwidth
 measurement endpoint) is in prospector-network.
EOF
finish "$root" prospector

# --- prospector-network: the network side --------------------------------------------------
root="$work/prospector-network"
doc="$root/usr/share/doc/prospector-network"
mkdir -p "$root/DEBIAN" "$root/usr/share/prospector/lib" "$doc" "$root/lib/systemd/system"
install -m 0644 "$cli/lib/$network_jar" "$root/usr/share/prospector/lib/$network_jar"
install -m 0644 "$repo/systemd/prospector-verifier.service" "$root/lib/systemd/system/prospector-verifier.service"
install -m 0644 "$here/debian/copyright" "$doc/copyright"
changelog prospector-network "$doc"
for s in postinst prerm postrm; do
  install -m 0755 "$here/debian/prospector-network.$s" "$root/DEBIAN/$s"
done
cat >"$root/DEBIAN/control" <<EOF
Package: prospector-network
Version: $deb_version
Architecture: all
Maintainer: $maintainer
Installed-Size: @SIZE@
Depends: prospector (= $deb_version)
Section: net
Priority: optional
Description: proof-of-service network side: verifier and measurement endpoint
 Prospector boards send signed reports of what they serve over MQTT 5. This
 package adds the commands of the network side to the prospector program:
 prospector verifier, which appraises a fleet's reports and answers each with
 a signed receipt, and prospector measure, a bandwidth measurement endpoint;
 and prospector-verifier.service, installed but not enabled.
EOF
finish "$root" prospector-network
