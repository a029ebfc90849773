#!/usr/bin/env bash
# Boot the emulated hypervisor and run MODE (vmm: the scenarios; bench: the
# benchmark) inside it.  Fails if the mode fails, the module does not unload,
# or the kernel log has any WARN/BUG/lockdep/oops line.
#   run.sh [--mode vmm|bench] [--filter NAME[,NAME...]] [--out DIR] [--smp N] [--kernel 6.1|6.12|7]
# --kernel: Debian 12's 6.1 (default), Debian 13's 6.12, Debian's newest 7.x
# (tests/kernels/lib.sh); OUT defaults to build/testbed[-KERNEL].  A kernel
# kmod/compat.h refuses boots without kvm_prepop (to show KVM and the hello
# module work there) and fails.  --module-args a=1,b=2: kvm_prepop's parameters.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/hv.sh"
MODE=vmm FILTER=all OUT='' SMP=2 REPEAT=1 QUIET=quiet KERNEL=6.1
MODARGS=
while [ $# -gt 0 ]; do
	case $1 in
	--mode) MODE=$2; shift 2 ;;
	--filter) FILTER=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--repeat) REPEAT=$2; shift 2 ;;
	--verbose) QUIET=; shift ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--module-args) MODARGS=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ "$KERNEL" = 6.1 ] && OUT=${OUT:-$SRC/build/testbed} || OUT=${OUT:-$SRC/build/testbed-$KERNEL}
hv_build --kernel "$KERNEL" "$OUT"
LOG=$OUT/console-$MODE.log
APPEND="console=ttyS0 $QUIET nokaslr panic=-1 hung_task_timeout_secs=30 watchdog_thresh=5 oops=panic hugepagesz=1G hugepages=1 hugepages2m=192 mode=$MODE"
# two NUMA nodes (numa-vmm-bound-node1), given an even number of CPUs
NODES=1
[ $((SMP % 2)) -eq 0 ] && NODES=2
APPEND="$APPEND filter=$FILTER repeat=$REPEAT nodes=$NODES${MODARGS:+ prepop_args=$MODARGS}"
hv_boot --smp "$SMP" --nodes "$NODES" --mem 3072 --timeout 1500 --monitor "$OUT/monitor.sock" \
	"$OUT/vmlinuz" "$OUT/initramfs.gz" "$APPEND" "$LOG"
# the emulator's own crash (tests/lib/hv.sh: hv_foreign_crash): boot once more
if hv_boot_again "$LOG" TESTBED "testbed: "; then
	hv_boot --smp "$SMP" --nodes "$NODES" --mem 3072 --timeout 1500 --monitor "$OUT/monitor.sock" \
		"$OUT/vmlinuz" "$OUT/initramfs.gz" "$APPEND" "$LOG"
fi
tr -d '\r' <"$LOG" | sed -e 's/^.*TESTBED: npt/TESTBED: npt/' | sed -n '/^TESTBED: npt/,/^TESTBED: dmesg begin/p' | grep -av '^TESTBED: dmesg begin'

fail=0 skip=0
grep -aq "^TESTBED: kvm_prepop not built" "$LOG" && skip=1
grep -aq "^TESTBED: hello ok" "$LOG" || { echo "testbed: the hello module did not load and unload"; fail=1; }
if [ $skip -eq 1 ]; then
	grep -aq "^TESTBED: kvm ok" "$LOG" || { echo "testbed: KVM is not npt=Y nested=1 tdp_mmu=Y"; fail=1; }
else
	grep -aq "^TESTBED: $MODE exit 0" "$LOG" || { echo "testbed: $MODE failed or did not finish"; fail=1; }
	# the bench's second run, on the pre-fault engine (6.12)
	if grep -aq "^TESTBED: bench engine=2 exit" "$LOG" && ! grep -aq "^TESTBED: bench engine=2 exit 0" "$LOG"; then
		echo "testbed: bench on engine=2 failed"; fail=1
	fi
	grep -aq "^TESTBED: rmmod ok" "$LOG" || { echo "testbed: rmmod kvm_prepop failed"; fail=1; }
fi
if ! alarms=$(hv_alarms "$LOG" TESTBED); then
	echo "testbed: kernel log alarms:"
	echo "$alarms"
	fail=1
fi
[ $fail -eq 0 ] && echo "testbed: kernel log clean"
[ $skip -eq 1 ] && { echo "testbed: kvm_prepop does not build for this kernel"; fail=1; }
exit $fail
