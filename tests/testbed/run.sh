#!/usr/bin/env bash
# Boot the emulated hypervisor and run MODE (vmm: the scenarios; bench: the
# benchmark) inside it.  Fails if the mode fails, the module does not unload,
# or the kernel log has any WARN/BUG/lockdep/oops line.
#   run.sh [--mode vmm|bench] [--filter NAME] [--out DIR] [--smp N]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MODE=vmm FILTER=all OUT=$SRC/build/testbed SMP=2 REPEAT=1 QUIET=quiet
while [ $# -gt 0 ]; do
	case $1 in
	--mode) MODE=$2; shift 2 ;;
	--filter) FILTER=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--repeat) REPEAT=$2; shift 2 ;;
	--verbose) QUIET=; shift ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
bash "$SRC/tests/testbed/build.sh" "$OUT"
LOG=$OUT/console-$MODE.log
APPEND="console=ttyS0 $QUIET nokaslr panic=-1 hung_task_timeout_secs=30 watchdog_thresh=5 oops=panic hugepagesz=1G hugepages=1 hugepages2m=192 mode=$MODE"
APPEND="$APPEND filter=$FILTER repeat=$REPEAT"
timeout 1500 qemu-system-x86_64 -accel tcg -cpu max -smp "$SMP" -m 3072 \
	-kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.gz" -append "$APPEND" \
	-nographic -no-reboot -monitor unix:$OUT/monitor.sock,server,nowait -serial stdio </dev/null >"$LOG" 2>&1 || true
tr -d '\r' <"$LOG" | sed -e 's/^.*TESTBED: npt/TESTBED: npt/' | sed -n '/^TESTBED: npt/,/^TESTBED: dmesg begin/p' | grep -av '^TESTBED: dmesg begin'

fail=0
grep -aq "^TESTBED: $MODE exit 0" "$LOG" || { echo "testbed: $MODE failed or did not finish"; fail=1; }
grep -aq "^TESTBED: rmmod ok" "$LOG" || { echo "testbed: rmmod kvm_prepop failed"; fail=1; }
alarms=$(tr -d '\r' <"$LOG" | sed -n '/^TESTBED: dmesg begin/,/^TESTBED: dmesg end/p' |
	grep -aE 'WARNING:|BUG:|Oops|general protection|Call Trace|lockdep|possible circular|INFO: task .* blocked|UBSAN|KASAN' || true)
if [ -n "$alarms" ]; then
	echo "testbed: kernel log alarms:"
	echo "$alarms"
	fail=1
fi
[ $fail -eq 0 ] && echo "testbed: kernel log clean"
exit $fail
