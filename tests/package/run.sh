#!/usr/bin/env bash
# The package tier: the Debian packages (packaging/, CPack) built, checked,
# installed and removed as an operator does it.
#   1. build prepop and prepop-dkms (cpack) and check what they hold: files,
#      conffiles, maintainer scripts, Depends, dkms.conf, man pages;
#   2. Debian 13 (trixie.sh): apt install both into a trixie chroot (the
#      archive resolves the Depends; DKMS builds for trixie's kernel headers),
#      run the programs there, apt remove and purge;
#   3. Debian 12 under systemd as PID 1: the emulated hypervisor
#      (tests/lib/hv.sh) boots Debian's 6.1 into a Debian 12 userland whose
#      /sbin/init is systemd, with libvirtd, DKMS and the kernel's headers;
#      pkgtest.sh runs there as a unit (pkgtest.service): apt install of
#      both .debs, the module built by DKMS and loaded, prepopd started by
#      its package under the shipped unit's sandbox populating a KVM guest
#      started through libvirt, the device filter, a module loaded after
#      prepopd started, systemd-analyze security, apt remove (no process,
#      no module, the guest runs on) and purge.  On Debian 13's QEMU
#      (hv_qemu); booted once more when its kernel dies with no sign of
#      kvm_prepop (hv_foreign_crash).
# Prints one PASS/FAIL line per check, ends with "package: N passed, M
# failed", exits 1 on any failure.  Logs in OUT (default build/package).
#   tests/package/run.sh [OUT] [--skip-trixie]
set -euo pipefail
{
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/hv.sh"
. "$SRC/tests/kernels/lib.sh"
OUT=$SRC/build/package TRIXIE=1
while [ $# -gt 0 ]; do
	case $1 in
	--skip-trixie) TRIXIE=0; shift ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) OUT=$1; shift ;;
	esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T=$SRC/tests/package
t0=$(date +%s)
step() { echo "package: $* ($(($(date +%s) - t0)) s)"; }
PASS=0 FAIL=0
pass() { echo "package: PASS $*"; PASS=$((PASS + 1)); }
fail() { echo "package: FAIL $*"; FAIL=$((FAIL + 1)); }

# ---- 1. the packages
B=$OUT/build
# a build tree of another source tree is no use
grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$SRC" "$B/CMakeCache.txt" 2>/dev/null || rm -rf "$B"
rm -rf "$OUT/debs" && mkdir -p "$OUT/debs"
{ cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF &&
	nice cmake --build "$B" -j "$(nproc)" && (cd "$B" && cpack -G DEB -B "$OUT/debs"); } \
	>"$OUT/cpack.log" 2>&1 || { tail -n 30 "$OUT/cpack.log"; fail "build: cmake or cpack failed"; exit 1; }
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$B/CMakeCache.txt")
DEB=$OUT/debs/prepop_${VERSION}_amd64.deb
DKMS=$OUT/debs/prepop-dkms_${VERSION}_all.deb
[ -f "$DEB" ] && [ -f "$DKMS" ] || { fail "build: no $(basename "$DEB") and $(basename "$DKMS")"; exit 1; }
step "built $(basename "$DEB") ($(du -k "$DEB" | cut -f1) KiB), $(basename "$DKMS") ($(du -k "$DKMS" | cut -f1) KiB)"
out=$(bash "$T/contents.sh" "$DEB" "$DKMS" "$VERSION" 2>&1 || true)
echo "$out" | grep -v "^contents: done" | sed "s/^/package: /"
n=$(echo "$out" | grep -c '^PASS' || true) PASS=$((PASS + n))
n=$(echo "$out" | grep -c '^FAIL' || true) FAIL=$((FAIL + n))
echo "$out" | grep -q '^contents: done' || fail "contents: did not finish"

# ---- 2. Debian 13
if [ $TRIXIE = 1 ]; then
	bash "$T/trixie.sh" "$OUT/trixie" "$DEB" "$DKMS" >"$OUT/trixie.log" 2>&1 || true
	grep -a '^trixie: \(PASS\|FAIL\|note\)' "$OUT/trixie.log" | sed 's/^/package: /' || true
	n=$(grep -ac '^trixie: PASS' "$OUT/trixie.log" || true) PASS=$((PASS + n))
	n=$(grep -ac '^trixie: FAIL' "$OUT/trixie.log" || true) FAIL=$((FAIL + n))
	grep -aq '^trixie: done' "$OUT/trixie.log" || fail "trixie: did not finish; $OUT/trixie.log's last lines: $(tail -n 5 "$OUT/trixie.log" | tr '\n' ' ')"
	step "Debian 13 (log: $OUT/trixie.log)"
fi

# ---- 3. Debian 12, systemd as PID 1, in the emulated hypervisor
# on Debian 13's QEMU (tests/lib/hv.sh, HV_QEMU): Debian 12's QEMU 7.2 once
# left this tier's guest stuck at its start and then killed the emulated host
hv_qemu || { fail "testbed: no emulator (hv_qemu)"; exit 1; }
step "the emulator: $HV_QEMU_VERSION"
hv_build --kernel 6.1 "$OUT/testbed" >"$OUT/testbed-build.log" 2>&1 ||
	{ cat "$OUT/testbed-build.log"; fail "testbed: build failed"; exit 1; }
pk_kernel 6.1 >/dev/null
KREL=$PK_KREL
# the userland: the emulated host's (HV_PACKAGES) with systemd as init,
# udev, DKMS and a compiler; then the running kernel's headers, from the
# archive's security suite (debootstrap takes one suite)
# shellcheck disable=SC2086
hv_rootfs "$OUT/rootfs" $HV_PACKAGES systemd systemd-sysv udev dkms gcc-12 make libelf1 libssl3
R=$OUT/rootfs
if [ "$(cat "$R/.pp-headers" 2>/dev/null)" != "$KREL $PK_VERSION" ]; then
	rm -rf "$OUT/headers" && mkdir -p "$OUT/headers"
	(cd "$OUT/headers" && apt-get download "linux-headers-$KREL=$PK_VERSION" \
		"linux-headers-${KREL%-amd64}-common=$PK_VERSION" "linux-kbuild-${PK_VERSION%.*}=$PK_VERSION" \
		"linux-compiler-gcc-12-x86=$PK_VERSION") >"$OUT/headers.log" 2>&1 ||
		{ cat "$OUT/headers.log"; fail "testbed: cannot download the headers of $KREL"; exit 1; }
	cp "$OUT"/headers/*.deb "$R/tmp/"
	chroot "$R" sh -c 'dpkg -i /tmp/*.deb && rm -f /tmp/*.deb' >>"$OUT/headers.log" 2>&1 ||
		{ tail -n 20 "$OUT/headers.log"; fail "testbed: the headers of $KREL do not install"; exit 1; }
	rm -rf "$R"/usr/share/{doc,man}/linux-*
	echo "$KREL $PK_VERSION" >"$R/.pp-headers"
	touch "$R/.done"	# hv_pack packs the userland again
fi
[ -e "$R/usr/lib/modules/$KREL/build/include" ] || { fail "testbed: no /lib/modules/$KREL/build in the userland"; exit 1; }

OV=$OUT/overlay
rm -rf "$OV" && mkdir -p "$OV/prepop/guest" "$OV/etc/systemd/system/multi-user.target.wants" \
	"$OV/etc/modules-load.d" "$OV/etc/libvirt"
# the kernel's KVM modules where modprobe finds them (DKMS adds kvm_prepop)
M=$OUT/modules
rm -rf "$M" && mkdir -p "$M/lib/modules/$KREL/kernel/testbed"
for m in $(cat "$OUT/testbed/initramfs/lib/modules/load"); do
	cp "$OUT/testbed/initramfs/lib/modules/$m.ko" "$M/lib/modules/$KREL/kernel/testbed/"
done
cp "$PK_MODDIR"/modules.builtin "$PK_MODDIR"/modules.builtin.modinfo "$PK_MODDIR"/modules.order "$M/lib/modules/$KREL/"
depmod -b "$M" "$KREL"
mkdir -p "$OV/usr/lib/modules"
cp -r "$M/lib/modules/$KREL" "$OV/usr/lib/modules/"
echo kvm_amd >"$OV/etc/modules-load.d/testbed-kvm.conf"
# the packages, the test and its unit
cp "$DEB" "$DKMS" "$OV/prepop/"
install -m 755 "$T/pkgtest.sh" "$OV/prepop/pkgtest.sh"
cp "$T/pkgtest.service" "$OV/etc/systemd/system/"
ln -s ../pkgtest.service "$OV/etc/systemd/system/multi-user.target.wants/pkgtest.service"
echo "$HV_ALARM_RE" >"$OV/prepop/alarms.re"
# nothing else on the console, nothing the test does not start
for u in serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer \
	dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
	ln -s /dev/null "$OV/etc/systemd/system/$u"
done
# a KVM guest: the same kernel, a busybox initrd that says it is up
cp "$OUT/testbed/vmlinuz" "$OV/prepop/guest/vmlinuz"
G=$OUT/guest-ir
rm -rf "$G" && mkdir -p "$G/bin" "$G/proc"
cp /bin/busybox "$G/bin/"
printf '#!/bin/busybox sh\n/bin/busybox --install -s /bin\nmount -t proc proc /proc\necho "INNER GUEST UP"\nwhile :; do sleep 1; done\n' >"$G/init"
chmod 755 "$G/init"
(cd "$G" && find . | cpio -o -H newc --quiet | gzip -1) >"$OV/prepop/guest/initrd.gz"
# its domain XML: hvh_guest_xml, as every emulated host makes it
install -D -m 644 "$SRC/tests/lib/hvhost.sh" "$OV/prepop/lib/hvhost.sh"
hv_pack "$OUT"
step "testbed: $KREL, userland $(du -sm "$R" | cut -f1) MiB, initramfs $(($(stat -c %s "$OUT/initramfs.cpio") / 1048576)) MiB; booting systemd"

LOG=$OUT/console.log
# boot: one boot of the emulated host, its PKG lines as they come
boot() {
	local boot0=$(date +%s) b
	rm -f "$LOG"
	hv_boot --smp 2 --mem 4096 --timeout 2400 --monitor "$OUT/monitor.sock" "$OUT/testbed/vmlinuz" "$OUT/initramfs.cpio" \
		"console=ttyS0 quiet nokaslr panic=-1 rdinit=/sbin/init systemd.show_status=error" "$LOG" &
	b=$!
	{ tail -n +1 -F --pid=$b "$LOG" 2>/dev/null || true; } |
		sed -u -n -e 's/\r$//' -e '/^PKG: dmesg \(begin\|end\)$/d' -e '/^PKG: done$/d' -e 's/^PKG: /package: /p' || true
	wait $b || true
	step "the emulated host powered off after $(($(date +%s) - boot0)) s"
}
boot
# the emulator's own crash (tests/lib/hv.sh: hv_foreign_crash): once more,
# and only the second boot's checks count
hv_boot_again "$LOG" PKG "package: " && boot

# the logs handed out on the console
rm -rf "$OUT/files" && mkdir -p "$OUT/files"
tr -d '\r' <"$LOG" | awk -v d="$OUT/files" '/^PKGFILE [^ ]*: / {
	f = $2; sub(/:$/, "", f); line = $0; sub(/^PKGFILE [^ ]*: /, "", line); print line > (d "/" f) }'
n=$(grep -ac '^PKG: PASS' "$LOG" || true) PASS=$((PASS + n))
n=$(grep -ac '^PKG: FAIL' "$LOG" || true) FAIL=$((FAIL + n))
if ! grep -aq '^PKG: dmesg end' "$LOG"; then
	echo "package: FAIL testbed: the emulated host did not finish; its console's last lines:"
	{ tr -d '\r' <"$LOG" | grep -av '^PKGFILE' || true; } | tail -n 25 | sed 's/^/    /'
	FAIL=$((FAIL + 1))
elif alarms=$(hv_alarms "$LOG" PKG); then
	pass "kernel-log"
else
	fail "kernel-log: alarms:"
	echo "$alarms" | sed 's/^/    /'
fi
step "logs in $OUT/console.log and $OUT/files"
echo "package: $PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]
exit
}
