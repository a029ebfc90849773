#!/usr/bin/env bash
# The system tier: the emulated hypervisor (tests/lib/hv.sh: Debian's 6.1,
# nested KVM, kvm_prepop.ko built from kmod/) booting a Debian userland with
# libvirtd and prepopd, and the scenarios of tests/system/scenarios.sh run
# in that one boot, each against KVM guests started through libvirt.
# Prints one PASS/FAIL line per scenario (and one for the kernel log), ends
# with "system: N passed, M failed", exits 1 on any failure (tests/lib/hv.sh:
# hv_scenarios).  The console log,
# and prepopd's, libvirtd's, the guests' and the sanitizers' logs, are left
# in OUT (default build/system) and OUT/files.
#   tests/system/run.sh [OUT] [--only SCENARIO,...]
# When the emulated host's kernel dies with no sign of kvm_prepop (QEMU TCG's
# own faults: tests/lib/hv.sh, hv_foreign_crash), the scenarios that had no
# verdict run in a second boot, once; any other crash fails.
set -euo pipefail
# all of it in one block: bash reads it whole before running it, so an edit
# to this file during a run cannot change the run
{
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/hv.sh"
OUT=$SRC/build/system ONLY=all
while [ $# -gt 0 ]; do
	case $1 in
	--only) ONLY=$2; shift 2 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) OUT=$1; shift ;;
	esac
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T=$SRC/tests/system
t0=$(date +%s)
step() { echo "system: $* ($(($(date +%s) - t0)) s)"; }

# its guests run side by side: Debian 13's QEMU (tests/lib/hv.sh, HV_QEMU)
hv_qemu || exit 1
step "the emulator: $HV_QEMU_VERSION"
# the emulated host: kernel, KVM, the module, the userland, prepopd (tests/lib/hv.sh)
hv_userland "$OUT"
step "built the emulated host and prepopd"

# what the tier adds: its init, scenarios, helper, policy, the guests' initramfs
CFLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror"
gcc $CFLAGS -static -o "$OUT/clockloop" "$T/clockloop.c" -lpthread
gcc $CFLAGS -o "$OUT/systool" "$T/systool.c" -lvirt
OV=$OUT/overlay
install -m 755 "$T/init" "$OV/init"
install -m 755 "$T/scenarios.sh" "$OUT/systool" "$OV/prepop/"
cp -r "$T/policy.d" "$OV/prepop/policy.d"
echo "$HV_ALARM_RE" >"$OV/prepop/alarms.re"	# what counts as a kernel-log alarm
hv_guest_initrd "$OUT" "$T/guest-init" "$OUT/clockloop"
hv_pack "$OUT"
step "built the guests and the initramfs; booting"

# boot SCENARIOS LOG: one boot running SCENARIOS; their lines as they come
# (QEMU's monitor on OUT/monitor.sock, to look at a stuck emulated host)
boot() {
	hv_run --smp 2 --mem 6144 --timeout 1500 --monitor "$OUT/monitor.sock" "$OUT/testbed/vmlinuz" "$OUT/initramfs.cpio" \
		"console=ttyS0 quiet nokaslr panic=-1 oops=panic rdinit=/init scenarios=$1" "$2" SYSTEM 'system: '
}
all=$(sed -n 's/^ALL="\(.*\)"$/\1/p' "$T/scenarios.sh")
[ "$ONLY" = all ] && want=$all || want=$(echo "$ONLY" | tr , ' ')
# the boots (a second one after QEMU TCG's own crash), the verdict
hv_scenarios SYSTEM "$OUT" "$want" boot
exit
}
