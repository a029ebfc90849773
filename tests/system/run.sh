#!/usr/bin/env bash
# The system test: an emulated hypervisor (the testbed's kernel and module)
# running a Debian userland with libvirtd and prepopd; a KVM guest started
# through libvirt must be populated by prepopd and keep running.
#   tests/system/run.sh [OUT]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$SRC/build/system}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
bash "$SRC/tests/testbed/build.sh" "$OUT/testbed" >/dev/null
ROOT=$OUT/rootfs
if [ ! -f "$ROOT/.done" ]; then
	rm -rf "$ROOT"
	debootstrap --variant=minbase \
		--include=libvirt-daemon,libvirt-daemon-driver-qemu,libvirt-clients,qemu-system-x86,busybox,kmod,jq,passwd,libevent-2.1-7,libevent-pthreads-2.1-7,libjson-c5,libxml2,libsystemd0 \
		bookworm "$ROOT" http://deb.debian.org/debian >"$OUT/debootstrap.log" 2>&1 ||
		{ tail -20 "$OUT/debootstrap.log"; exit 1; }
	rm -rf "$ROOT"/usr/share/{doc,man,locale,info} "$ROOT"/var/cache/apt/* "$ROOT"/var/lib/apt/lists/*
	touch "$ROOT/.done"
fi
cmake -S "$SRC" -B "$OUT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF >/dev/null
cmake --build "$OUT/build" -j "$(nproc)" >/dev/null

# what the test adds to the rootfs, packed as a second cpio archive
OV=$OUT/overlay
rm -rf "$OV" && mkdir -p "$OV/prepop/modules" "$OV/prepop/guest"
cp "$SRC/tests/system/init" "$OV/init" && chmod +x "$OV/init"
cp "$OUT/build/agent/prepopd" "$OUT/build/agent/prepopctl" "$OV/prepop/"
cp -r "$SRC/tests/system/policy.d" "$OV/prepop/policy.d"
cp "$SRC/tests/system/guest.xml" "$OV/prepop/guest.xml"
cp "$OUT/testbed/initramfs/lib/modules/"*.ko "$OV/prepop/modules/"
cp "$OUT/testbed/vmlinuz" "$OV/prepop/guest/vmlinuz"
G=$OUT/guest-ir
rm -rf "$G" && mkdir -p "$G/bin" "$G/proc"
cp /bin/busybox "$G/bin/" && cp "$SRC/tests/system/guest-init" "$G/init" && chmod +x "$G/init"
(cd "$G" && find . | cpio -o -H newc --quiet | gzip -1) >"$OV/prepop/guest/initrd.gz"
(cd "$ROOT" && find . ! -name .done | cpio -o -H newc --quiet) >"$OUT/rootfs.cpio"
(cd "$OV" && find . | cpio -o -H newc --quiet) >"$OUT/overlay.cpio"
cat "$OUT/rootfs.cpio" "$OUT/overlay.cpio" >"$OUT/initramfs.cpio"

LOG=$OUT/console.log
timeout 1500 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 4096 \
	-kernel "$OUT/testbed/vmlinuz" -initrd "$OUT/initramfs.cpio" \
	-append "console=ttyS0 quiet nokaslr panic=-1 rdinit=/init" \
	-nographic -no-reboot -monitor none -serial stdio </dev/null >"$LOG" 2>&1 || true
tr -d '\r' <"$LOG" | grep -a '^SYSTEM:' | sed -n '/dmesg begin/,/dmesg end/!p'
fail=0
grep -aq '^SYSTEM: agent: sys1 settled eligible' "$LOG" || { echo "system: the guest was not populated"; fail=1; }
grep -aq 'populate done' "$LOG" || { echo "system: prepopd did not report a finished populate"; fail=1; }
cov=$(tr -d '\r' <"$LOG" | sed -n 's/^SYSTEM: coverage: \([0-9]*\) of.*/\1/p' | sed -n 1p)
[ "${cov:-0}" -ge 29491 ] || { echo "system: only ${cov:-0} of 32768 pages mapped after populate (want >= 90 %)"; fail=1; }
grep -aq '^SYSTEM: guest state: running' "$LOG" || { echo "system: the guest is not running"; fail=1; }
grep -aq '^SYSTEM: paused record: \[\]' "$LOG" || { echo "system: the crash-safety record is not empty"; fail=1; }
alarms=$(tr -d '\r' <"$LOG" | sed -n '/SYSTEM: dmesg begin/,/SYSTEM: dmesg end/p' |
	grep -aE 'WARNING:|BUG:|Oops|general protection|Call Trace|lockdep|possible circular|UBSAN' || true)
[ -z "$alarms" ] || { echo "system: kernel log alarms:"; echo "$alarms"; fail=1; }
[ $fail -eq 0 ] && echo "system: 1 passed, 0 failed" || echo "system: 0 passed, 1 failed"
exit $fail
