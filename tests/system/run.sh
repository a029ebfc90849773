#!/usr/bin/env bash
# The system tier: the emulated hypervisor (tests/lib/hv.sh: Debian's 6.1,
# nested KVM, kvm_prepop.ko built from kmod/) booting a Debian userland with
# libvirtd and prepopd, and the scenarios of tests/system/scenarios.sh run
# in that one boot, each against KVM guests started through libvirt.
# Prints one PASS/FAIL line per scenario (and one for the kernel log), ends
# with "system: N passed, M failed", exits 1 on any failure.  The console log,
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

# the emulated host: kernel, KVM, the module, the userland, prepopd (tests/lib/hv.sh)
hv_userland "$OUT"
step "built the emulated host and prepopd"

# what the tier adds: its init, scenarios, helper, policy, guest
CFLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror"
gcc $CFLAGS -static -o "$OUT/clockloop" "$T/clockloop.c" -lpthread
gcc $CFLAGS -o "$OUT/systool" "$T/systool.c" -lvirt
OV=$OUT/overlay
install -m 755 "$T/init" "$OV/init"
install -m 755 "$T/scenarios.sh" "$OUT/systool" "$OV/prepop/"
cp -r "$T/policy.d" "$OV/prepop/policy.d"
cp "$T/guest.xml" "$OV/prepop/guest.xml"
echo "$HV_ALARM_RE" >"$OV/prepop/alarms.re"	# what counts as a kernel-log alarm
G=$OUT/guest-ir
rm -rf "$G" && mkdir -p "$G/bin" "$G/proc"
cp /bin/busybox "$OUT/clockloop" "$G/bin/"
install -m 755 "$T/guest-init" "$G/init"
(cd "$G" && find . | cpio -o -H newc --quiet | gzip -1) >"$OV/prepop/guest/initrd.gz"
hv_pack "$OUT"
step "built the guests and the initramfs; booting"

# boot SCENARIOS LOG: one boot running SCENARIOS; their lines as they come
# (QEMU's monitor on OUT/monitor.sock, to look at a stuck emulated host)
boot() {
	local pid
	rm -f "$2"
	hv_boot --smp 2 --mem 6144 --timeout 1500 --monitor "$OUT/monitor.sock" "$OUT/testbed/vmlinuz" "$OUT/initramfs.cpio" \
		"console=ttyS0 quiet nokaslr panic=-1 oops=panic rdinit=/init scenarios=$1" "$2" &
	pid=$!
	{ tail -n +1 -F --pid=$pid "$2" 2>/dev/null || true; } |
		sed -u -n -e 's/\r$//' -e '/^SYSTEM: dmesg \(begin\|end\)$/d' -e '/^SYSTEM: done$/d' -e 's/^SYSTEM: /system: /p' || true
	wait $pid || true
}
all=$(sed -n 's/^ALL="\(.*\)"$/\1/p' "$T/scenarios.sh")
[ "$ONLY" = all ] && want=$all || want=$(echo "$ONLY" | tr , ' ')
LOG=$OUT/console.log CRASHED=$OUT/console-crashed.log
rm -f "$CRASHED"
boot "$ONLY" "$LOG"
# the emulator's own crash (tests/lib/hv.sh: hv_foreign_crash): once, a
# second boot for the scenarios without a verdict; its console is the one
# judged, the first is kept
if ! grep -aq '^SYSTEM: dmesg end' "$LOG" && crash=$(hv_foreign_crash "$LOG"); then
	left=
	for sc in $want; do
		grep -aqE "^SYSTEM: (PASS|FAIL) $sc " "$LOG" || left=$left,$sc
	done
	echo "system: NOTE: the emulated host's kernel died with no sign of kvm_prepop (QEMU TCG):"
	echo "$crash" | sed 's/^/    /'
	if [ -n "$left" ]; then
		mv "$LOG" "$CRASHED"
		step "kept its console in $CRASHED; booting again for ${left#,}"
		boot "${left#,}" "$LOG"
	fi
fi

# the logs handed out on the console
rm -rf "$OUT/files" && mkdir -p "$OUT/files"
tr -d '\r' <"$LOG" | awk -v d="$OUT/files" '/^SYSFILE [^ ]*: / {
	f = $2; sub(/:$/, "", f); line = $0; sub(/^SYSFILE [^ ]*: /, "", line); print line > (d "/" f) }'

# the verdict: every scenario asked for (in either boot), and the kernel log
pass=0 fail=0
for sc in $want; do
	if grep -aqs "^SYSTEM: PASS $sc " "$LOG" "$CRASHED"; then
		pass=$((pass + 1))
	else
		grep -aqs "^SYSTEM: FAIL $sc " "$LOG" "$CRASHED" ||
			echo "system: FAIL $sc: did not run (the run ended early)"
		fail=$((fail + 1))
	fi
done
if ! grep -aq '^SYSTEM: dmesg end' "$LOG"; then
	echo "system: FAIL kernel-log: the emulated host did not finish; its console's last lines:"
	{ tr -d '\r' <"$LOG" | grep -av '^SYSFILE' || true; } | tail -n 25 | sed 's/^/    /'
	fail=$((fail + 1))
elif alarms=$(hv_alarms "$LOG" SYSTEM); then
	echo "system: PASS kernel-log"
	pass=$((pass + 1))
else
	echo "system: FAIL kernel-log: alarms:"
	echo "$alarms" | sed 's/^/    /'
	fail=$((fail + 1))
fi
step "logs in $OUT/console.log and $OUT/files"
echo "system: $pass passed, $fail failed"
[ $fail -eq 0 ]
exit
}
