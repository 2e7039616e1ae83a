#!/usr/bin/env bash
# Smoke test of the board jar on an emulated arm64 board: Debian's arm64 OpenJDK 17 run by
# qemu-user (qemu-aarch64-static) on an x86 host, from a sysroot of unpacked arm64 packages.
# Nothing arm64 is installed on the host. See packaging/arm64/README.md.
#
# usage: packaging/arm64/smoke.sh [--jar-dir DIR] [--sysroot DIR] [--cpu MODEL] [--refresh] [--keep]
set -euo pipefail
export LC_ALL=C

here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
launcher="$repo/prospector"
fixture="$repo/hardware/src/test/resources/fixtures/pi-4"

jar_dir="$repo/agent/cli/target"
sysroot="${XDG_CACHE_HOME:-$HOME/.cache}/prospector/arm64-sysroot"
cpu="cortex-a72"
refresh=0
keep=0

# The arm64 packages the sysroot is made of: the headless JRE and the libraries its core
# (bin/java, libjli, libjvm, libjava, libzip, libnet, libnio, libjimage, ...) links against.
# readelf -d of those needs nothing else; the JRE's other Depends (fonts, sound, jpeg, lcms,
# cups, nss, pcsclite) serve AWT, sound and PKCS#11/PC/SC libraries a headless agent never loads.
packages=(openjdk-17-jre-headless libc6 zlib1g libgcc-s1 libstdc++6)
# Bump when the way the sysroot is made changes, so an old one is rebuilt.
sysroot_format=1
jvm_rel="usr/lib/jvm/java-17-openjdk-arm64"

usage() {
  cat <<'EOF'
usage: packaging/arm64/smoke.sh [--jar-dir DIR] [--sysroot DIR] [--cpu MODEL] [--refresh] [--keep]

Runs the built prospector.jar (and DIR/lib/*.jar) with Debian's arm64 OpenJDK 17 under
qemu-aarch64-static, through the ./prospector launcher (so with its JVM options), and checks
--version, keygen, report, inspect, hardware on a Pi 4 fixture, Pi4J's native gpiod loading
and a 30 s demo. Prints a table (step, seconds, result); exits non-zero naming the failed step.

  --jar-dir DIR   where prospector.jar and lib/ are (default: agent/cli/target)
  --sysroot DIR   arm64 sysroot, built on first use and reused
                  (default: ${XDG_CACHE_HOME:-$HOME/.cache}/prospector/arm64-sysroot)
  --cpu MODEL     qemu CPU model (default: cortex-a72, the Pi 4's core; `max` for every feature)
  --refresh       rebuild the sysroot even if one is there
  --keep          keep the work directory (outputs of every step) instead of deleting it
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --jar-dir) jar_dir="${2:?--jar-dir needs a directory}"; shift 2 ;;
    --jar-dir=*) jar_dir="${1#*=}"; shift ;;
    --sysroot) sysroot="${2:?--sysroot needs a directory}"; shift 2 ;;
    --sysroot=*) sysroot="${1#*=}"; shift ;;
    --cpu) cpu="${2:?--cpu needs a model}"; shift 2 ;;
    --cpu=*) cpu="${1#*=}"; shift ;;
    --refresh) refresh=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "smoke: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

die() { echo "smoke: $*" >&2; exit 1; }

jar_dir="$(readlink -m "$jar_dir")"
sysroot="$(readlink -m "$sysroot")"
jar="$jar_dir/prospector.jar"
[ -f "$jar" ] || die "no prospector.jar in $jar_dir: build it with \`mvn -q -B package -DskipTests\` (or give --jar-dir)"
[ -d "$jar_dir/lib" ] || die "no lib/ beside $jar: the jar's Class-Path needs $jar_dir/lib/*.jar"
[ -x "$launcher" ] || die "no launcher at $launcher"
[ -d "$fixture/proc" ] || die "no Pi 4 fixture tree at $fixture"

work="$(mktemp -d "${TMPDIR:-/tmp}/prospector-arm64-smoke.XXXXXX")"
cleanup() { if [ "$keep" = 1 ]; then echo "smoke: outputs kept in $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

# ---------------------------------------------------------------- table
rows=()
started="$EPOCHREALTIME"
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
row() { rows+=("$(printf '%-24s %8s  %s' "$1" "$2" "$3")"); printf '  %-24s %8s  %s\n' "$1" "$2" "$3" >&2; }
table() {
  printf '%-24s %8s  %s\n' "step" "seconds" "result"
  printf '%s\n' "${rows[@]}"
  printf '%-24s %8s\n' "total" "$(seconds_since "$started")"
}

# A failed step: the table so far, the tail of the step's output, then one line naming the step.
fail() { # fail STEP SECONDS REASON
  row "$1" "$2" "FAIL: $3"
  echo
  table
  for f in "$work/$1.out" "$work/$1.err"; do
    if [ -s "$f" ]; then
      echo
      echo "--- last 40 lines of $(basename "$f") ---"
      tail -n 40 "$f"
    fi
  done
  echo
  echo "smoke: FAILED at step '$1': $3" >&2
  keep=1
  exit 1
}

# ---------------------------------------------------------------- host tools
need_root_for() {
  [ "$(id -u)" = 0 ] || die "$1 is missing and installing it needs root: apt-get install -y $1"
}
t0="$EPOCHREALTIME"
if command -v qemu-aarch64-static >/dev/null 2>&1; then
  qemu_note="present"
else
  need_root_for qemu-user-static
  echo "smoke: installing qemu-user-static (Debian's; binfmt-support is not needed: qemu is called directly)" >&2
  apt-get update -qq >"$work/apt-host.log" 2>&1 || { tail -n 5 "$work/apt-host.log" >&2; die "FAILED at step 'qemu-user-static': apt-get update failed"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static \
    >>"$work/apt-host.log" 2>&1 || { tail -n 5 "$work/apt-host.log" >&2; die "FAILED at step 'qemu-user-static': apt-get install qemu-user-static failed"; }
  qemu_note="installed"
fi
for tool in readelf:binutils dpkg-deb:dpkg apt-get:apt flock:util-linux timeout:coreutils; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    need_root_for "${tool#*:}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool#*:}" >>"$work/apt-host.log" 2>&1 \
      || die "apt-get install ${tool#*:} failed"
  fi
done
qemu_version="$(qemu-aarch64-static --version | head -n 1 | sed 's/^qemu-aarch64 version //')"
cpu_models="$( (qemu-aarch64-static -cpu help || true) | tail -n +2 | tr -s ' \n' ' ')"
grep -qw -- "$cpu" <<<"$cpu_models" || die "--cpu $cpu is not a CPU model of this qemu-aarch64: one of$cpu_models"
row "qemu-user-static" "$(seconds_since "$t0")" "$qemu_note: $qemu_version, -cpu $cpu"

# ---------------------------------------------------------------- sysroot
java_in() { echo "$1/$jvm_rel/bin/java"; }
stamp_text() { printf 'format %s\npackages %s\n' "$sysroot_format" "${packages[*]}"; }

# The NEEDED entries of the JRE's core binaries must all be in the sysroot.
check_needed() { # check_needed ROOT
  local root="$1" jdk="$1/$jvm_rel" f lib found dir missing=()
  local core=(bin/java bin/keytool lib/libjli.so lib/server/libjvm.so lib/libjava.so lib/libzip.so
    lib/libnet.so lib/libnio.so lib/libjimage.so lib/libverify.so lib/libextnet.so
    lib/libmanagement.so lib/libj2pkcs11.so)
  for f in "${core[@]}"; do
    [ -f "$jdk/$f" ] || die "FAILED at step 'sysroot': $jvm_rel/$f is missing from openjdk-17-jre-headless"
    while read -r lib; do
      found=0
      for dir in "$root/lib/aarch64-linux-gnu" "$root/usr/lib/aarch64-linux-gnu" "$root/lib" "$jdk/lib" "$jdk/lib/server"; do
        if [ -e "$dir/$lib" ]; then found=1; break; fi
      done
      [ "$found" = 1 ] || missing+=("$lib (needed by $f)")
    done < <(readelf -d "$jdk/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  done
  [ "${#missing[@]}" = 0 ] || die "FAILED at step 'sysroot': not in the ${#packages[@]} packages: ${missing[*]}"
  local header
  header="$(readelf -h "$jdk/bin/java")"
  grep -q 'Machine:.*AArch64' <<<"$header" || die "FAILED at step 'sysroot': $jvm_rel/bin/java is not an AArch64 binary"
}

build_sysroot() {
  local cache apt_dir partial deb link target bytes=0
  cache="$(dirname "$sysroot")"
  apt_dir="$cache/arm64-apt"
  partial="$sysroot.partial"
  rm -rf "$apt_dir" "$partial"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$partial"
  : >"$apt_dir/status"
  # A private apt state: arm64 package lists in $apt_dir, an empty dpkg status, the host's
  # sources and keys. The host's dpkg architectures, lists and status are not touched
  # (no dpkg --add-architecture).
  local apt_opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache" -o "Dir::Cache::archives=$apt_dir/cache/archives"
    -o APT::Sandbox::User=root)
  echo "smoke: building the arm64 sysroot in $sysroot (apt-get download: ${packages[*]})" >&2
  apt-get "${apt_opts[@]}" update >"$work/apt-arm64.log" 2>&1 \
    || { tail -n 5 "$work/apt-arm64.log" >&2; die "FAILED at step 'sysroot': apt-get update of the arm64 lists failed (see above)"; }
  local pkg_args=()
  for deb in "${packages[@]}"; do pkg_args+=("$deb:arm64"); done
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download "${pkg_args[@]}") >>"$work/apt-arm64.log" 2>&1 \
    || { tail -n 5 "$work/apt-arm64.log" >&2; die "FAILED at step 'sysroot': apt-get download failed: do the host's apt sources carry arm64? (deb.debian.org does)"; }
  : >"$partial/PACKAGES"
  for deb in "$apt_dir"/debs/*.deb; do
    dpkg-deb -x "$deb" "$partial"
    bytes=$((bytes + $(stat -c %s "$deb")))
    # shellcheck disable=SC2016 # dpkg-deb's own ${Field} syntax
    dpkg-deb --showformat='${Package} ${Version} ${Architecture}\n' -W "$deb" >>"$partial/PACKAGES"
  done
  echo "downloaded $bytes bytes" >>"$partial/PACKAGES"

  # qemu -L looks every absolute path the program opens up in the sysroot first and falls back
  # to the host's. So nothing may sit where the host's live state is (/proc, /sys, /dev, /tmp,
  # /var, /run, /home, /root): the packages bring none of these.
  for d in proc sys dev tmp var run home root; do
    [ ! -e "$partial/$d" ] || die "FAILED at step 'sysroot': the packages brought /$d, which would hide the host's"
  done

  # Absolute links (the JDK's conf/, lib/jvm.cfg, lib/security/* -> /etc/java-17-openjdk/...,
  # lib/security/cacerts -> /etc/ssl/certs/java/cacerts) are resolved by the kernel, not by
  # qemu, so they would read the host's /etc. Make each relative, into the sysroot's own /etc.
  while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    ln -sfn "$(realpath -ms --relative-to="$(dirname "$link")" "$partial$target")" "$link"
    echo "link ${link#"$partial"} -> $target (now $(readlink "$link"))" >>"$partial/LINKS"
  done < <(find "$partial" -type l -lname '/*' -print0)

  check_needed "$partial"

  # Files qemu would otherwise take from the host's /etc:
  # - ld.so.cache: the host's lists x86-64 libraries; an empty one makes the aarch64 ld.so search
  #   its default directories (/lib/aarch64-linux-gnu, /usr/lib/aarch64-linux-gnu) only;
  # - ld.so.preload: the host's would name x86-64 libraries to preload.
  : >"$partial/etc/ld.so.cache"
  : >"$partial/etc/ld.so.preload"
  # - the Java trust store (cacerts), which ca-certificates-java makes at install time and is not
  #   in any package: an empty PKCS12 store, made by the sysroot's own keytool.
  local cacerts="$partial/etc/ssl/certs/java/cacerts"
  mkdir -p "$(dirname "$cacerts")"
  local keytool=(env QEMU_LD_PREFIX="$partial" QEMU_CPU="$cpu" qemu-aarch64-static -L "$partial"
    "$partial/$jvm_rel/bin/keytool" -J-XX:TieredStopAtLevel=1 -keystore "$cacerts" -storetype pkcs12 -storepass changeit)
  { "${keytool[@]}" -genkeypair -alias empty -keyalg EC -dname CN=empty -validity 1 \
      && "${keytool[@]}" -delete -alias empty; } >"$work/keytool.log" 2>&1 \
    || { tail -n 5 "$work/keytool.log" >&2; die "FAILED at step 'sysroot': keytool under qemu could not make the empty cacerts"; }
  [ -e "$partial/$jvm_rel/lib/security/cacerts" ] || die "FAILED at step 'sysroot': lib/security/cacerts does not resolve inside the sysroot"

  # Any absolute link left, or a link that leads nowhere, is a bug here (except in
  # usr/share/doc, where libgcc-s1's and libstdc++6's point to gcc-12-base's, not needed).
  [ -z "$(find "$partial" -type l -lname '/*')" ] || die "FAILED at step 'sysroot': absolute links left"
  local dangling
  dangling="$(find "$partial" -path "$partial/usr/share/doc" -prune -o -xtype l -print | sed "s|^$partial||" | paste -sd ' ')"
  [ -z "$dangling" ] || die "FAILED at step 'sysroot': links that lead nowhere: $dangling"

  stamp_text >"$partial/.prospector-sysroot"
  rm -rf "$sysroot" "$apt_dir"
  mv "$partial" "$sysroot"
}

t0="$EPOCHREALTIME"
mkdir -p "$(dirname "$sysroot")"
exec 9>"$sysroot.lock"
flock 9
if [ "$refresh" = 0 ] && [ -x "$(java_in "$sysroot")" ] && [ -f "$sysroot/.prospector-sysroot" ] && [ "$(cat "$sysroot/.prospector-sysroot")" = "$(stamp_text)" ]; then
  sysroot_note="reused"
else
  build_sysroot
  sysroot_note="built"
fi
flock -u 9
java_version="$(sed -n 's/^openjdk-17-jre-headless \([^ ]*\) arm64$/\1/p' "$sysroot/PACKAGES")"
row "sysroot" "$(seconds_since "$t0")" "$sysroot_note: ${#packages[@]} packages, $(du -sm "$sysroot" | cut -f1) MB, openjdk $java_version"

# ---------------------------------------------------------------- the emulated java
# A JAVA_HOME whose bin/java runs the sysroot's arm64 java under qemu. The ./prospector launcher
# takes it (JAVA_HOME/bin/java) and adds the JVM options it uses on a board; each call is logged.
mkdir -p "$work/jhome/bin"
cat >"$work/jhome/bin/java" <<'EOF'
#!/bin/sh
printf '%s:' "${SMOKE_STEP:-?}" >>"$SMOKE_JAVA_LOG"
printf ' %s' "$@" >>"$SMOKE_JAVA_LOG"
echo >>"$SMOKE_JAVA_LOG"
exec qemu-aarch64-static -L "$QEMU_LD_PREFIX" "$SMOKE_ARM64_JAVA" "$@"
EOF
chmod +x "$work/jhome/bin/java"
SMOKE_ARM64_JAVA="$(java_in "$sysroot")"
export QEMU_LD_PREFIX="$sysroot" QEMU_CPU="$cpu" SMOKE_ARM64_JAVA
export SMOKE_JAVA_LOG="$work/java-calls.log" JAVA_HOME="$work/jhome" PROSPECTOR_JAR="$jar"
unset PROSPECTOR_JAVA_OPTS PROSPECTOR_CONFIG
: >"$SMOKE_JAVA_LOG"

# Host JVM (x86_64) for cross-checks, when there is one of version 17 or newer.
host_java=""
if command -v java >/dev/null 2>&1; then
  host_java_version="$(java -version 2>&1 || true)"
  if grep -Eq 'version "(1[7-9]|[2-9][0-9])' <<<"$host_java_version"; then host_java="$(command -v java)"; fi
fi

# step NAME LIMIT_SECONDS CHECK COMMAND...: runs COMMAND (stdout and stderr to NAME.out/.err),
# times it, then CHECK NAME RC prints a short result and returns 0, or prints why and returns 1.
step() {
  local name="$1" limit="$2" check="$3" t rc=0 secs detail
  shift 3
  t="$EPOCHREALTIME"
  SMOKE_STEP="$name" timeout --kill-after=10 "$limit" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  secs="$(seconds_since "$t")"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then fail "$name" "$secs" "no exit after ${limit} s"; fi
  if detail="$("$check" "$name" "$rc")"; then row "$name" "$secs" "ok: $detail"; else fail "$name" "$secs" "$detail"; fi
}

has() { grep -qF -- "$2" "$work/$1"; }
exit_zero() { [ "$2" = 0 ] || { echo "exit $2, expected 0"; return 1; }; }

check_jvm() {
  exit_zero "$@" || return 1
  has "$1.err" "os.arch = aarch64" || { echo "os.arch is not aarch64"; return 1; }
  echo "os.arch aarch64, $(sed -n 's/^ *java.runtime.version = //p' "$work/$1.err")"
}
check_version() {
  exit_zero "$@" || return 1
  if ! grep -q '^prospector ' "$work/$1.out" || ! grep -q '^Java 17' "$work/$1.out"; then
    echo "expected 'prospector …' and 'Java 17…' lines"; return 1
  fi
  paste -sd ',' "$work/$1.out" | sed 's/,/, /'
}
check_keygen() {
  exit_zero "$@" || return 1
  [ "$(stat -c %a "$work/keys/device.key" 2>/dev/null)" = 600 ] || { echo "no device.key of mode 0600"; return 1; }
  echo "device $(tail -n 1 "$work/$1.out")"
}
check_report() {
  exit_zero "$@" || return 1
  [ -s "$work/keys/r.cbor" ] || { echo "r.cbor not written"; return 1; }
  echo "$(stat -c %s "$work/keys/r.cbor") bytes, board emulated"
}
check_inspect() {
  exit_zero "$@" || return 1
  has "$1.out" "signature: valid" || { echo "no 'signature: valid'"; return 1; }
  echo "signature: valid, $(grep -c '^meas ' "$work/$1.out") measurements"
}
# Readings that depend on the host or on the time, not on the fixture.
stable_readings() { grep -Ev '^(clock\.step|storage\.total|storage\.free) ' "$1"; }
check_hardware() {
  exit_zero "$@" || return 1
  local board="board: pi-4 (Raspberry Pi 4 Model B Rev 1.4, aarch64, sha2 no)"
  [ "$(head -n 1 "$work/$1.out" | cut -c1-${#board})" = "$board" ] || { echo "first line is not '$board'"; return 1; }
  local n; n="$(($(wc -l <"$work/$1.out") - 2))"
  if [ -n "$host_java" ]; then
    (cd "$work" && "$host_java" -jar "$jar" hardware --root "$fixture" --board linux) >"$work/$1.x86.out" 2>/dev/null \
      || { echo "the host JVM could not run the same command"; return 1; }
    if ! diff <(stable_readings "$work/$1.out") <(stable_readings "$work/$1.x86.out") >"$work/$1.diff"; then
      echo "readings differ from the host x86_64 JVM's (see $1.diff)"; return 1
    fi
    echo "pi-4, $n readings, same as the host x86_64 JVM reads"
  else
    echo "pi-4, $n readings"
  fi
}
check_pi4j() {
  # Expected: our code picks the native providers, Pi4J loads its aarch64 libgpiod.so and
  # libpi4j-gpiod.so and scans the GPIO chips through them, finds none (an x86 host has no Pi
  # GPIO chip) and the agent stops with its GPIO error (exit 2).
  [ "$2" != 0 ] || { echo "exit 0: the agent found a GPIO chip on an x86 host?"; return 1; }
  has "$1.err" "UnsatisfiedLinkError" && { echo "UnsatisfiedLinkError: $(grep -m1 -o 'UnsatisfiedLinkError.*' "$work/$1.err")"; return 1; }
  has "$1.err" "Pi4J: gpiod for GPIO, linuxfs for I2C" || { echo "the agent did not pick Pi4J's native providers"; return 1; }
  has "$1.err" "board model is unknown" && { echo "Pi4J did not see a Pi (board model unknown)"; return 1; }
  has "$1.err" "Library [libgpiod.so] loaded successfully" || { echo "libgpiod.so was not loaded"; return 1; }
  has "$1.err" "Library [libpi4j-gpiod.so] loaded successfully" || { echo "libpi4j-gpiod.so was not loaded"; return 1; }
  has "$1.err" "Couldn't identify gpiochip!" || { echo "the gpiod chip scan did not run"; return 1; }
  has "$1.err" "cannot open the status LED or button GPIO" || { echo "no GPIO error from the agent (exit $2)"; return 1; }
  echo "libgpiod.so + libpi4j-gpiod.so loaded, chip scan ran (no gpiochip here), exit $2"
}
check_demo() {
  exit_zero "$@" || return 1
  has "$1.out" "every report made was delivered and accepted once" || { echo "not every report made was delivered and accepted"; return 1; }
  awk '$2 ~ /^[0-9]+$/ && NF == 6 { b++; m += $2; d += $3; a += $4; q += $6 }
       END { printf "%d boards, %d made, %d delivered, %d accepted, %d answered\n", b, m, d, a, q }' "$work/$1.out"
}

# ---------------------------------------------------------------- the steps
# Every step runs in the work directory (the default data dir of `hardware` when
# /var/lib/prospector does not exist), the host's reference runs too.
P="$launcher"
mkdir -p "$work/keys" "$work/run"
cd "$work"
step jvm 120 check_jvm qemu-aarch64-static -L "$sysroot" "$SMOKE_ARM64_JAVA" -XshowSettings:properties -version
step version 120 check_version "$P" --version
step keygen 120 check_keygen "$P" keygen --dir "$work/keys"
step report 120 check_report "$P" report --once --key-dir "$work/keys" --out "$work/keys/r.cbor" --board emulated
step inspect 120 check_inspect "$P" inspect "$work/keys/r.cbor"
if [ -n "$host_java" ]; then
  step inspect-on-x86 120 check_inspect "$host_java" -jar "$jar" inspect "$work/keys/r.cbor"
fi
step hardware 120 check_hardware "$P" hardware --root "$fixture" --board linux

# Pi4J decides by itself whether it runs on a Pi, from /proc/cpuinfo (Revision) and
# /proc/device-tree/model, before it loads its native gpiod library. For this one step the
# program sees a Pi 4's two files: a second qemu prefix with the sysroot's lib, usr and etc and
# the fixture's proc/cpuinfo and proc/device-tree/model (qemu looks absolute paths up there first).
piview="$work/pi4-view"
mkdir -p "$piview/proc/device-tree"
for d in lib usr etc; do ln -s "$sysroot/$d" "$piview/$d"; done
cp "$fixture/proc/cpuinfo" "$piview/proc/cpuinfo"
cp "$fixture/proc/device-tree/model" "$piview/proc/device-tree/model"
cat >"$work/run.conf" <<EOF
broker = tcp://127.0.0.1:9
fleet = smoke
data-dir = $work/run
board = auto
hardware.root = $fixture
hardware.led.pin = 17
hardware.button.pin = 27
EOF
step pi4j-gpiod 180 check_pi4j env QEMU_LD_PREFIX="$piview" "$P" run --config "$work/run.conf" --debug

step demo 600 check_demo "$P" demo --devices 2 --duration 30s

echo
table
echo
echo "JVM options the launcher gave (from $launcher):"
for s in version demo; do
  printf '  %-8s %s\n' "$s" "$(grep -m1 "^$s:" "$SMOKE_JAVA_LOG" | sed "s/^$s: //; s/ -jar .*//")"
done
echo "smoke: all steps passed on emulated arm64 ($cpu)" >&2
