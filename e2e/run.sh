#!/usr/bin/env bash
# Real-kernel end-to-end harness for khokit (see e2e/README.md).
#
# One command: install build/boot dependencies from Debian packages, fetch the
# current linux-source-7.x, build a KHO/LUO kernel (cached outside the clone),
# build the Go guest and an initramfs, boot under QEMU TCG, let the guest create
# LUO sessions and memfds, kexec with KHO, and capture guest memory as ELF and
# kdump-zlib: once stopped on entry to machine_kexec (gdb stub) and once after
# the kexec. The guest's expected results are written next to the dumps.
#
# Usage: e2e/run.sh [STEP...]
#   steps: deps source kernel guest initramfs capture verify check   (default: all)
#   A step pulls in what it needs (capture: source, kernel from the cache,
#   guest, initramfs), so "e2e/run.sh capture check" reruns only the capture.
# Environment:
#   KHOKIT_E2E_CACHE     cache and output directory (default /var/tmp/khokit-e2e)
#   KHOKIT_E2E_SOURCE    linux-source package to use (default: newest of 7.3, 7.2)
#   KHOKIT_E2E_MEM       guest memory (default 512M)
#   KHOKIT_E2E_AT_KEXEC  1 (default): also capture at machine_kexec via the gdb stub
#   KHOKIT_E2E_JOBS      make -j (default: nproc)
#   KHOKIT_E2E_SCENARIO  a scenario JSON file instead of the guest's embedded default
set -euo pipefail

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/.." && pwd)
CACHE=${KHOKIT_E2E_CACHE:-/var/tmp/khokit-e2e}
GUEST_MEM=${KHOKIT_E2E_MEM:-512M}
AT_KEXEC=${KHOKIT_E2E_AT_KEXEC:-1}
JOBS=${KHOKIT_E2E_JOBS:-$(nproc)}
SCENARIO=${KHOKIT_E2E_SCENARIO:-}
export PATH="$PATH:/usr/local/go/bin"

# Directories under the cache.
APT_DIR=$CACHE/apt          # private apt config, lists and downloaded .debs
SRC_DIR=$CACHE/src          # unpacked kernel sources, one directory per package version
KBUILD_DIR=$CACHE/kbuild    # out-of-tree kernel builds keyed by source version and config
BIN_DIR=$CACHE/bin          # host tools and the guest binary
RUN_DIR=$CACHE/run          # initramfs, console logs, sockets of the last run
DUMP_DIR=$CACHE/dumps       # memory images and expected.json (read by other tools)

# The compat strings khokit decodes; a kernel with others still builds, loudly.
EXPECTED_COMPAT=("KHO_FDT_COMPATIBLE kho-v4" "LUO_ABI_COMPATIBLE luo-v5" "MEMFD_LUO_FH_COMPATIBLE memfd-v2")

# Kernel options on top of tinyconfig. The first group lets a static Go binary
# and a busybox init run; the second is KHO/LUO (spec/real-kernel.md).
KCONFIG_OPTS=(
  -e 64BIT -e PRINTK -e EARLY_PRINTK -e TTY -e SERIAL_8250 -e SERIAL_8250_CONSOLE
  -e BLK_DEV_INITRD -e BINFMT_ELF -e BINFMT_SCRIPT -e PROC_FS -e SYSFS -e DEVTMPFS -e DEVTMPFS_MOUNT
  -e DEBUG_FS -e DEBUG_FS_ALLOW_ALL -e SHMEM -e TMPFS -e MEMFD_CREATE -e FUTEX -e MULTIUSER
  -e EPOLL -e TIMERFD -e EVENTFD -e SIGNALFD -e ADVISE_SYSCALLS -e MEMBARRIER -e RSEQ
  -e CRYPTO -e CRYPTO_SHA256 -e RELOCATABLE -d RANDOMIZE_BASE
  -e KEXEC_FILE -e KEXEC_HANDOVER -e KEXEC_HANDOVER_DEBUGFS -e KEXEC_HANDOVER_ENABLE_DEFAULT
  -e LIVEUPDATE -e LIVEUPDATE_MEMFD -e RUNTIME_TESTING_MENU -e LIVEUPDATE_TEST
)
KCMDLINE_BASE="console=ttyS0 panic=-1 kho=on liveupdate=on"

T0=$(date +%s)
log() { printf '[e2e %4ds] %s\n' "$(($(date +%s) - T0))" "$*" >&2; }
die() { printf '[e2e] FAILED: %s\n' "$*" >&2; exit 1; }
# step_time NAME START: record how long a step took (summarised at the end).
TIMES=()
step_time() { TIMES+=("$1 $(($(date +%s) - $2))s"); }

# ---------------------------------------------------------------- deps
step_deps() {
  local t=$(date +%s)
  local pkgs=(qemu-system-x86 flex bison libelf-dev bc cpio busybox-static libssl-dev make gcc
              xz-utils binutils file ca-certificates debian-archive-keyring)
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing Debian packages ${missing[*]}: run as root or install them first"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  fi
  command -v go >/dev/null || die "go not found in PATH (need Go >= 1.25)"
  step_time deps "$t"
}

# ---------------------------------------------------------------- source
# private_apt CMD...: run an apt command against trixie(-backports) and sid
# without touching the system's sources or lists. The mirror comes from the
# system's own sources file at run time.
private_apt() { APT_CONFIG=$APT_DIR/apt.conf "$@"; }

setup_private_apt() {
  local sources=/etc/apt/sources.list.d/debian.sources mirror
  [ -r "$sources" ] || die "$sources not found: cannot learn the Debian mirror"
  mirror=$(awk '/^URIs:/ {print $2; exit}' "$sources")
  [ -n "$mirror" ] || die "no URIs: line in $sources"
  mkdir -p "$APT_DIR"/lists/partial "$APT_DIR"/cache/archives/partial "$APT_DIR"/etc "$APT_DIR"/debs
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg s
  : > "$APT_DIR/etc/sources.list"
  for s in trixie trixie-backports sid; do
    printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$mirror" "$s" >> "$APT_DIR/etc/sources.list"
  done
  cat > "$APT_DIR/apt.conf" <<EOF
Dir::Etc::sourcelist "$APT_DIR/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::State::Lists "$APT_DIR/lists";
Dir::Cache "$APT_DIR/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Sandbox::User "root";
EOF
  # Refresh the lists at most once a day.
  if [ -z "$(find "$APT_DIR/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
    log "apt-get update (private config: trixie, trixie-backports, sid)"
    private_apt apt-get update -qq >/dev/null 2>"$APT_DIR/update.err" ||
      die "private apt-get update failed: $(tail -3 "$APT_DIR/update.err")"
  fi
}

# Sets SRC_PKG, SRC_VER, SRC_TREE.
step_source() {
  local t=$(date +%s)
  setup_private_apt
  # One apt-cache call: the candidate version of each wanted package.
  local wanted=(linux-source-7.3 linux-source-7.2) p cand
  [ -n "${KHOKIT_E2E_SOURCE:-}" ] && wanted=("$KHOKIT_E2E_SOURCE")
  # apt-cache parses all lists (~8 s): remember its answer until the lists change.
  local memo="$APT_DIR/candidates-$(printf '%s_' "${wanted[@]}")"
  if [ -s "$memo" ] && [ -z "$(find "$APT_DIR/lists" -maxdepth 1 -newer "$memo" -name '*Packages*' | head -1)" ]; then
    cand=$(cat "$memo")
  else
    cand=$(private_apt apt-cache policy "${wanted[@]}" 2>/dev/null |
      awk '/^[^ ].*:$/ {pkg=substr($1, 1, length($1)-1)} /^  Candidate:/ && $2 != "(none)" {print pkg, $2}')
    printf '%s\n' "$cand" > "$memo"
  fi
  SRC_PKG= SRC_VER=
  for p in "${wanted[@]}"; do
    SRC_VER=$(awk -v p="$p" '$1 == p {print $2; exit}' <<< "$cand")
    if [ -n "$SRC_VER" ]; then SRC_PKG=$p; break; fi
  done
  [ -n "$SRC_PKG" ] || die "none of ${wanted[*]} is available from trixie, trixie-backports or sid"
  local safe_ver=${SRC_VER//[^A-Za-z0-9.+-]/_}
  local dest=$SRC_DIR/$SRC_PKG-$safe_ver
  if [ ! -f "$dest/.unpacked" ]; then
    log "downloading $SRC_PKG $SRC_VER"
    rm -rf "$dest"; mkdir -p "$dest"
    (cd "$APT_DIR/debs" && private_apt apt-get download -q "$SRC_PKG=$SRC_VER" >/dev/null 2>"$APT_DIR/download.err") ||
      die "apt-get download $SRC_PKG=$SRC_VER failed: $(tail -3 "$APT_DIR/download.err")"
    local deb
    deb=$(ls -t "$APT_DIR"/debs/"${SRC_PKG}"_*.deb | head -1)
    log "unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$dest/deb" || die "dpkg-deb -x $deb failed"
    local tarball
    tarball=$(ls "$dest"/deb/usr/src/"$SRC_PKG".tar.* 2>/dev/null | head -1)
    [ -n "$tarball" ] || die "no usr/src/$SRC_PKG.tar.* in $deb"
    tar -xf "$tarball" -C "$dest" || die "tar -xf $tarball failed"
    rm -rf "$dest/deb"
    rm -f "$deb"
    touch "$dest/.unpacked"
  fi
  SRC_TREE=$dest/$SRC_PKG
  [ -f "$SRC_TREE/Makefile" ] || die "$SRC_TREE/Makefile missing (bad unpack? remove $dest and rerun)"
  log "kernel source: $SRC_PKG $SRC_VER in $SRC_TREE"
  step_time source "$t"
}

# ---------------------------------------------------------------- kernel
# check_compat: read the ABI compat strings from the source headers.
check_compat() {
  local out=$1 pair name want got changed=0
  : > "$out"
  for pair in "${EXPECTED_COMPAT[@]}"; do
    name=${pair% *}; want=${pair#* }
    got=$(grep -rhoE "#define[[:space:]]+$name[[:space:]]+\"[^\"]*\"" "$SRC_TREE/include" | head -1 | sed -E 's/.*"(.*)"/\1/')
    printf '%s %s\n' "$name" "${got:-MISSING}" >> "$out"
    if [ "$got" != "$want" ]; then
      changed=1
      printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
      printf '!!! WARNING: %s is "%s" in %s %s, khokit expects "%s".\n' "$name" "${got:-MISSING}" "$SRC_PKG" "$SRC_VER" "$want" >&2
      printf '!!! The handover format changed: the decoder may reject this kernel.\n' >&2
      printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
    fi
  done
  [ $changed = 0 ] && log "compat strings unchanged: $(tr '\n' ' ' < "$out")"
  return 0
}

# Sets KERNEL_DIR (holding bzImage, System.map, config, compat.txt).
step_kernel() {
  local t=$(date +%s)
  [ -n "${SRC_TREE:-}" ] || step_source
  local key
  key=$(printf '%s\n' "$SRC_PKG" "$SRC_VER" "${KCONFIG_OPTS[@]}" "$(gcc --version | head -1)" | sha256sum | cut -c1-12)
  KERNEL_DIR=$KBUILD_DIR/${SRC_PKG}-${SRC_VER//[^A-Za-z0-9.+-]/_}-$key
  mkdir -p "$KERNEL_DIR"
  check_compat "$KERNEL_DIR.compat.tmp"
  mv "$KERNEL_DIR.compat.tmp" "$KERNEL_DIR/compat.txt"
  if [ -f "$KERNEL_DIR/bzImage" ] && [ -f "$KERNEL_DIR/System.map" ]; then
    log "cached kernel: $KERNEL_DIR/bzImage"
    step_time kernel-cached "$t"
    return
  fi
  local obj=$KERNEL_DIR/obj
  mkdir -p "$obj"
  log "building the kernel in $obj (make -j$JOBS; several minutes; log in $KERNEL_DIR/build.log)"
  {
    make -C "$SRC_TREE" O="$obj" tinyconfig &&
    "$SRC_TREE/scripts/config" --file "$obj/.config" "${KCONFIG_OPTS[@]}" &&
    make -C "$SRC_TREE" O="$obj" olddefconfig &&
    make -C "$SRC_TREE" O="$obj" -j"$JOBS" bzImage
  } > "$KERNEL_DIR/build.log" 2>&1 || die "kernel build failed: see $KERNEL_DIR/build.log: $(tail -5 "$KERNEL_DIR/build.log")"
  # Every option asked for must have survived olddefconfig.
  local i opt want
  for ((i = 0; i < ${#KCONFIG_OPTS[@]}; i += 2)); do
    opt=${KCONFIG_OPTS[i+1]}
    if [ "${KCONFIG_OPTS[i]}" = -e ]; then
      grep -q "^CONFIG_$opt=y" "$obj/.config" || die "CONFIG_$opt=y did not survive olddefconfig (dependency missing?)"
    else
      grep -q "^CONFIG_$opt=y" "$obj/.config" && die "CONFIG_$opt is still set"
    fi
  done
  cp "$obj/arch/x86/boot/bzImage" "$obj/System.map" "$KERNEL_DIR/"
  cp "$obj/.config" "$KERNEL_DIR/config"
  cp "$obj/vmlinux" "$KERNEL_DIR/vmlinux" 2>/dev/null || true
  # The object tree is large and only useful for incremental rebuilds.
  rm -rf "$obj"
  log "kernel built: $(stat -c %s "$KERNEL_DIR/bzImage") bytes"
  step_time kernel-build "$t"
}

# ---------------------------------------------------------------- guest
step_guest() {
  local t=$(date +%s)
  mkdir -p "$BIN_DIR"
  (cd "$REPO_DIR" &&
    CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags='-s -w' -o "$BIN_DIR/guest" ./e2e/guest &&
    go build -o "$BIN_DIR/qmp" ./e2e/qmp &&
    go build -o "$BIN_DIR/gdbstop" ./e2e/gdbstop &&
    go build -o "$BIN_DIR/e2etool" ./e2e/e2etool) || die "go build of the guest or host tools failed"
  file "$BIN_DIR/guest" | grep -q 'statically linked' || die "guest binary is not static: $(file "$BIN_DIR/guest")"
  step_time guest "$t"
}

# ---------------------------------------------------------------- initramfs
# The stage-1 initramfs holds busybox, /init, the guest and /kexec/{bzImage,base.cpio};
# base.cpio (the stage-2 initramfs) is the same root without /kexec.
step_initramfs() {
  local t=$(date +%s)
  [ -n "${KERNEL_DIR:-}" ] || step_kernel
  local root=$RUN_DIR/root
  rm -rf "$root"; mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,kexec}
  cp /bin/busybox "$root/bin/busybox"
  local a
  for a in sh mount cat ls grep sleep dmesg reboot echo mkdir; do ln -s busybox "$root/bin/$a"; done
  cp "$BIN_DIR/guest" "$root/bin/guest"
  if [ -n "$SCENARIO" ]; then
    cp "$SCENARIO" "$root/scenario.json" || die "cannot read KHOKIT_E2E_SCENARIO=$SCENARIO"
  fi
  cat > "$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs none /sys/kernel/debug
/bin/guest
echo "KHOKIT-E2E: guest exited with $?"
reboot -f
EOF
  chmod 755 "$root/init"
  (cd "$root" && find . -path ./kexec -prune -o -print | LC_ALL=C sort | cpio -o -H newc --quiet > "$RUN_DIR/base.cpio") ||
    die "cpio (base) failed"
  cp "$KERNEL_DIR/bzImage" "$root/kexec/bzImage"
  cp "$RUN_DIR/base.cpio" "$root/kexec/base.cpio"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet > "$RUN_DIR/stage1.cpio") ||
    die "cpio (stage 1) failed"
  log "initramfs: $(stat -c %s "$RUN_DIR/stage1.cpio") bytes"
  step_time initramfs "$t"
}

# ---------------------------------------------------------------- capture
# wait_console PATTERN TIMEOUT: wait for PATTERN on the serial console log.
wait_console() {
  local pat=$1 limit=$2 i=0
  while ! grep -qa -- "$pat" "$RUN_DIR/console.log" 2>/dev/null; do
    if [ -n "${QEMU_PID:-}" ] && ! kill -0 "$QEMU_PID" 2>/dev/null; then
      die "QEMU exited before '$pat' appeared; console: $RUN_DIR/console.log: $(tail -5 "$RUN_DIR/console.log")"
    fi
    i=$((i + 1))
    [ $i -gt $((limit * 10)) ] && die "timeout (${limit}s) waiting for '$pat' on the console ($RUN_DIR/console.log): $(tail -5 "$RUN_DIR/console.log")"
    sleep 0.1
  done
}

stop_qemu() {
  if [ -n "${GDB_PID:-}" ]; then kill "$GDB_PID" 2>/dev/null || true; GDB_PID=; fi
  if [ -n "${QEMU_PID:-}" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
    "$BIN_DIR/qmp" -socket "$RUN_DIR/qmp.sock" quit >/dev/null 2>&1 || true
    local i
    for i in $(seq 50); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
    kill "$QEMU_PID" 2>/dev/null || true
  fi
  QEMU_PID=
}

# dump NAME: ELF and kdump-zlib images of guest physical memory.
dump() {
  local name=$1 t=$(date +%s%N)
  rm -f "$DUMP_DIR/$name.elf" "$DUMP_DIR/$name.kdump"
  "$BIN_DIR/qmp" -socket "$RUN_DIR/qmp.sock" dump "$DUMP_DIR/$name.elf" elf >/dev/null ||
    die "QMP dump-guest-memory (elf) to $DUMP_DIR/$name.elf failed"
  local t2=$(date +%s%N)
  "$BIN_DIR/qmp" -socket "$RUN_DIR/qmp.sock" dump "$DUMP_DIR/$name.kdump" kdump-zlib >/dev/null ||
    die "QMP dump-guest-memory (kdump-zlib) to $DUMP_DIR/$name.kdump failed"
  local t3=$(date +%s%N)
  chmod 644 "$DUMP_DIR/$name.elf" "$DUMP_DIR/$name.kdump"   # QEMU creates them 0400; other tools read them
  log "dumped $name.elf ($(stat -c %s "$DUMP_DIR/$name.elf") bytes, $(((t2 - t) / 1000000)) ms) and $name.kdump ($(stat -c %s "$DUMP_DIR/$name.kdump") bytes, $(((t3 - t2) / 1000000)) ms)"
}

# boot_qemu MODE: start QEMU in the background on the stage-1 initramfs.
# MODE "capture": stage 2 holds for the dump; "verify": stage 2 retrieves and checks.
boot_qemu() {
  local mode=$1; shift
  rm -f "$RUN_DIR/console.log" "$RUN_DIR/qmp.sock" "$RUN_DIR/gdb.sock" "$RUN_DIR/gdb.release" "$RUN_DIR/gdbstop.log"
  qemu-system-x86_64 -accel tcg -m "$GUEST_MEM" -smp 1 -display none -no-reboot \
    -serial "file:$RUN_DIR/console.log" -monitor none \
    -qmp "unix:$RUN_DIR/qmp.sock,server=on,wait=off" "$@" \
    -kernel "$KERNEL_DIR/bzImage" -initrd "$RUN_DIR/stage1.cpio" \
    -append "$KCMDLINE_BASE khokit.mode=$mode${SCENARIO:+ khokit.scenario=/scenario.json}" > "$RUN_DIR/qemu-$mode.log" 2>&1 &
  QEMU_PID=$!
  local i
  for i in $(seq 100); do [ -S "$RUN_DIR/qmp.sock" ] && break; sleep 0.1; done
  [ -S "$RUN_DIR/qmp.sock" ] || die "QEMU did not open its QMP socket: $(cat "$RUN_DIR/qemu-$mode.log")"
}

step_capture() {
  local t=$(date +%s)
  [ -n "${KERNEL_DIR:-}" ] || step_kernel
  [ -f "$RUN_DIR/stage1.cpio" ] || step_initramfs
  mkdir -p "$DUMP_DIR"
  # Outputs of an earlier capture must not mix with this one.
  rm -f "$DUMP_DIR"/expected.json "$DUMP_DIR"/{at,post}-kexec.{elf,kdump,scan.txt} "$DUMP_DIR"/console*.log
  trap stop_qemu EXIT
  local gdbargs=()
  [ "$AT_KEXEC" = 1 ] && gdbargs=(-gdb "unix:$RUN_DIR/gdb.sock,server=on,wait=off" -S)
  log "booting under QEMU TCG (-m $GUEST_MEM)"
  local tb=$(date +%s%N)
  boot_qemu capture "${gdbargs[@]}"
  if [ "$AT_KEXEC" = 1 ]; then
    local addr
    addr=$(awk '$3 == "machine_kexec" {print $1; exit}' "$KERNEL_DIR/System.map")
    [ -n "$addr" ] || die "machine_kexec not in $KERNEL_DIR/System.map"
    local i
    for i in $(seq 50); do [ -S "$RUN_DIR/gdb.sock" ] && break; sleep 0.1; done
    # gdbstop sets the breakpoint, resumes the (-S) paused guest and returns once it is hit.
    "$BIN_DIR/gdbstop" -socket "$RUN_DIR/gdb.sock" -addr "0x$addr" -timeout 300s -hold "$RUN_DIR/gdb.release" -hold-timeout 600s \
      > "$RUN_DIR/gdbstop.log" 2>&1 &
    GDB_PID=$!
    for i in $(seq 3000); do
      grep -q '^stopped' "$RUN_DIR/gdbstop.log" 2>/dev/null && break
      kill -0 "$GDB_PID" 2>/dev/null || die "gdbstop failed: $(cat "$RUN_DIR/gdbstop.log")"
      sleep 0.1
    done
    grep -q '^stopped' "$RUN_DIR/gdbstop.log" || die "machine_kexec breakpoint not hit: $(cat "$RUN_DIR/gdbstop.log")"
    log "stopped at machine_kexec (0x$addr) after $((($(date +%s%N) - tb) / 1000000)) ms"
    # The guest must still be held by the debugger while QEMU dumps it.
    "$BIN_DIR/qmp" -socket "$RUN_DIR/qmp.sock" status | grep -q '"status": *"debug"' ||
      die "guest not stopped by the debugger before the at-kexec dump: $("$BIN_DIR/qmp" -socket "$RUN_DIR/qmp.sock" status)"
    dump at-kexec
    "$BIN_DIR/qmp" -socket "$RUN_DIR/qmp.sock" status | grep -q '"status": *"debug"' ||
      die "guest left the debugger stop during the at-kexec dump"
    touch "$RUN_DIR/gdb.release"   # gdbstop removes the breakpoint and detaches (the guest resumes)
    wait "$GDB_PID" || die "gdbstop failed to detach: $(cat "$RUN_DIR/gdbstop.log")"
    GDB_PID=
  fi
  wait_console 'KHOKIT-E2E-HOLD' 300
  log "stage 2 holding after $((($(date +%s%N) - tb) / 1000000)) ms"
  "$BIN_DIR/qmp" -socket "$RUN_DIR/qmp.sock" stop >/dev/null || die "QMP stop failed"
  dump post-kexec
  stop_qemu
  trap - EXIT
  "$BIN_DIR/e2etool" expected -console "$RUN_DIR/console.log" -compat "$KERNEL_DIR/compat.txt" \
    -source "$SRC_PKG $SRC_VER" -o "$DUMP_DIR/expected.json" || die "could not build expected.json from $RUN_DIR/console.log"
  cp "$RUN_DIR/console.log" "$DUMP_DIR/console.log"
  cp "$KERNEL_DIR/System.map" "$DUMP_DIR/System.map"
  log "expected results: $DUMP_DIR/expected.json"
  step_time capture "$t"
}

# ---------------------------------------------------------------- verify
# A second boot of the same kernel and scenario whose stage 2 retrieves every
# session and memfd through /dev/liveupdate and compares them with the
# scenario: proves the expected JSON is what the kernel actually handed over.
step_verify() {
  local t=$(date +%s)
  [ -n "${KERNEL_DIR:-}" ] || step_kernel
  [ -f "$RUN_DIR/stage1.cpio" ] || step_initramfs
  trap stop_qemu EXIT
  boot_qemu verify
  wait_console 'KHOKIT-E2E-VERIFY-' 300
  stop_qemu
  trap - EXIT
  cp "$RUN_DIR/console.log" "$DUMP_DIR/console-verify.log"
  grep -qa 'KHOKIT-E2E-VERIFY-OK' "$RUN_DIR/console.log" ||
    die "guest verification after kexec failed: $(grep -a 'KHOKIT-E2E-\|mismatch' "$RUN_DIR/console.log" | tail -20)"
  local cmp_expected=()
  [ -f "$DUMP_DIR/expected.json" ] && cmp_expected=(-expected "$DUMP_DIR/expected.json")
  "$BIN_DIR/e2etool" retrieved -console "$RUN_DIR/console.log" "${cmp_expected[@]}" >&2 ||
    die "what the guest retrieved after the kexec differs from what it preserved (console: $DUMP_DIR/console-verify.log)"
  log "guest retrieved every session and memfd after the kexec and found them equal to the scenario"
  step_time verify "$t"
}

# ---------------------------------------------------------------- check
# check_dump: THE HOOK for the decoder. For now it checks that the dumps exist,
# are ELF / flattened kdump, and contain the session names. Once khodump decodes,
# replace the body below the marker with e.g.:
#   go run ./cmd/khodump --json "$DUMP_DIR/post-kexec.elf" | e2etool compare -expected "$DUMP_DIR/expected.json"
check_dump() {
  local t=$(date +%s) name f
  [ -f "$DUMP_DIR/expected.json" ] || die "check: $DUMP_DIR/expected.json missing (run the capture step)"
  local names=()
  mapfile -t names < <("$BIN_DIR/e2etool" names "$DUMP_DIR/expected.json")
  [ ${#names[@]} -gt 0 ] || die "check: no session names in expected.json"
  local images=(post-kexec)
  [ -f "$DUMP_DIR/at-kexec.elf" ] && images+=(at-kexec)
  for name in "${images[@]}"; do
    f=$DUMP_DIR/$name.elf
    [ -s "$f" ] || die "check: $f missing or empty"
    readelf -h "$f" 2>/dev/null | grep -q 'Type:.*CORE' || die "check: $f is not an ELF core file"
    file "$DUMP_DIR/$name.kdump" | grep -qi 'kdump' || die "check: $DUMP_DIR/$name.kdump is not a kdump file: $(file "$DUMP_DIR/$name.kdump")"
    # Session names live in the session blocks in guest memory: one grep pass
    # over the ELF bytes finds which of them occur (grep -c per name is 54 passes).
    local found missing=0 n
    printf '%s\n' "${names[@]}" > "$RUN_DIR/names.txt"
    found=$(grep -aoF -f "$RUN_DIR/names.txt" "$f" | LC_ALL=C sort -u)
    for n in "${names[@]}"; do
      if ! grep -qxF -- "$n" <<< "$found"; then echo "check: session name '$n' not found in $f" >&2; missing=$((missing + 1)); fi
    done
    [ $missing = 0 ] || die "check: $missing session names missing from $f"
    # Where the KHO FDTs and LUO structures are (a quick look, not a decoder).
    "$BIN_DIR/e2etool" scan "$f" > "$DUMP_DIR/$name.scan.txt" || die "check: scan of $f failed"
    grep -q 'KHO FDT "kho-' "$DUMP_DIR/$name.scan.txt" || die "check: no KHO FDT found in $f (see $DUMP_DIR/$name.scan.txt)"
    # The root the first kernel handed over (SETUP_KEXEC_KHO, seen by stage 2) must be a KHO FDT in the image.
    local root
    root=$(grep -o '"root_fdt_phys": "0x[0-9a-f]*"' "$DUMP_DIR/expected.json" | grep -o '0x[0-9a-f]*' || true)
    if [ -n "$root" ]; then
      grep -q "^$root KHO FDT" "$DUMP_DIR/$name.scan.txt" || die "check: no KHO FDT at the handover root $root in $f"
    fi
  done
  # khodump with no flags but the path must find the incoming handover in
  # every image and report what the guest preserved (cmd/khodump TestE2EDumps);
  # the library's own e2e tests check the locator, decoder and recovery.
  log "check: khodump and the kho e2e tests against $DUMP_DIR/expected.json"
  (cd "$REPO_DIR" && KHOKIT_E2E_DUMPS="$DUMP_DIR" go test -count=1 -run 'E2E' ./cmd/khodump ./kho) ||
    die "check: khodump does not report what the guest preserved (rerun: KHOKIT_E2E_DUMPS=$DUMP_DIR go test -run E2E -v ./cmd/khodump ./kho)"
  log "check: dumps present, ELF/kdump, ${#names[@]} session names found in ${images[*]}"
  step_time check "$t"
}

# ---------------------------------------------------------------- main
main() {
  local all=(deps source kernel guest initramfs capture verify check)
  local -A want=()
  local s
  [ $# -gt 0 ] || set -- "${all[@]}"
  for s in "$@"; do
    case " ${all[*]} " in *" $s "*) want[$s]=1 ;; *) die "unknown step '$s' (steps: ${all[*]})" ;; esac
  done
  # Prerequisites run as steps of their own (each once, timed separately):
  # booting needs a fresh guest and initramfs, which need the kernel and its source.
  [ -n "${want[capture]:-}${want[verify]:-}" ] && want[initramfs]=1
  [ -n "${want[initramfs]:-}" ] && want[guest]=1 && want[kernel]=1
  [ -n "${want[kernel]:-}" ] && want[source]=1
  [ -n "${want[check]:-}" ] && want[guest]=1
  mkdir -p "$CACHE" "$BIN_DIR" "$RUN_DIR" "$DUMP_DIR"
  log "steps: $(for s in "${all[@]}"; do [ -n "${want[$s]:-}" ] && printf '%s ' "$s"; done)"
  for s in "${all[@]}"; do
    [ -n "${want[$s]:-}" ] || continue
    case $s in
      check) check_dump ;;
      *) "step_$s" ;;
    esac
  done
  log "done in $(($(date +%s) - T0)) s: ${TIMES[*]}"
  ls -l "$DUMP_DIR" >&2
  return 0
}

main "$@"
