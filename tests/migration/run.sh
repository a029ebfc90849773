#!/usr/bin/env bash
# The migration tier: live migration of KVM guests between two libvirt hosts
# inside one emulated hypervisor (tests/lib/hv.sh), each host in its own
# network, mount and UTS namespace with its own libvirtd and prepopd
# (tests/migration/init, host.sh), the scenarios of scenarios.sh in one boot
# (docs/migration.md).  Prints one PASS/FAIL line per scenario (and one for
# the kernel log), the scenarios' figures, and ends with
# "migration: N passed, M failed"; exits 1 on any failure.  The console log
# and every host's logs (prepopd, libvirtd, events, QEMU, guest consoles) are
# left in OUT and OUT/files.
#   tests/migration/run.sh [OUT] [--only SCENARIO,...] [--kernel 6.1|6.12|7]
#                          [--module-args k=v,...]
# OUT defaults to build/migration (build/migration-KERNEL for another kernel).
# --only also takes the scenarios not run by default: early, early-suspend,
# early-control (the experiment: a populate during the incoming migration,
# and the same migration without it) and bench
# (bench/migration-bench.sh).  When the emulated host's kernel dies with no
# sign of kvm_prepop (tests/lib/hv.sh, hv_foreign_crash), the scenarios
# without a verdict run in a second boot, once.
set -euo pipefail
# all of it in one block: bash reads it whole before running it
{
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/hv.sh"
OUT='' ONLY=all KERNEL=6.1 MODARGS=
while [ $# -gt 0 ]; do
	case $1 in
	--only) ONLY=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--module-args) MODARGS=$2; shift 2 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) OUT=$1; shift ;;
	esac
done
[ "$KERNEL" = 6.1 ] && OUT=${OUT:-$SRC/build/migration} || OUT=${OUT:-$SRC/build/migration-$KERNEL}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T=$SRC/tests/migration
t0=$(date +%s)
step() { echo "migration: $* ($(($(date +%s) - t0)) s)"; }

# its guests run side by side: Debian 13's QEMU (tests/lib/hv.sh, HV_QEMU)
hv_qemu || exit 1
step "the emulator: $HV_QEMU_VERSION"
# the emulated host (tests/lib/hv.sh), with iproute2 for the network namespaces
hv_userland --kernel "$KERNEL" --packages iproute2 "$OUT"
step "built the emulated host ($KERNEL) and prepopd"

# what the tier adds: its init, hosts, scenarios, helpers, policy, guest
CFLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror"
gcc $CFLAGS -static -o "$OUT/migload" "$T/migload.c" -lpthread
gcc $CFLAGS -I"$SRC/kmod/include/uapi" -I"$SRC/prepopd" -o "$OUT/migtool" "$T/migtool.c" "$SRC/prepopd/qemu.c"
# the system tier's helper: an action at once when a slice is in flight
gcc $CFLAGS -o "$OUT/systool" "$SRC/tests/system/systool.c" -lvirt
OV=$OUT/overlay
# veth, for the veth pair between the hosts' network namespaces (the
# testbed's build stages only KVM's modules); its load order in modules/net
. "$SRC/tests/kernels/lib.sh"
pk_kernel "$KERNEL" >/dev/null
: >"$OV/prepop/modules/net"
for m in $(pk_modules veth); do
	f=$(pk_module_file "$m")
	case $f in
	*.ko) cp "$f" "$OV/prepop/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$OV/prepop/modules/$m.ko" ;;
	*) echo "run.sh: cannot unpack $f" >&2; exit 1 ;;
	esac
	echo "$m" >>"$OV/prepop/modules/net"
done
install -m 755 "$T/init" "$OV/init"
install -m 755 "$T/scenarios.sh" "$T/host.sh" "$SRC/tests/integration/libvirt-host.sh" \
	"$OUT/migtool" "$OUT/systool" "$OV/prepop/"
cp -r "$T/policy.d" "$OV/prepop/policy.d"
cp "$T/guest.xml" "$OV/prepop/guest.xml"
hv_guest_initrd "$OUT" "$T/guest-init" "$OUT/migload"
hv_pack "$OUT"
step "built the guests and the initramfs; booting"

# boot SCENARIOS LOG: one boot running SCENARIOS; their lines as they come
boot() {
	hv_run --smp 2 --mem 6144 --timeout 3000 --monitor "$OUT/monitor.sock" "$OUT/testbed/vmlinuz" "$OUT/initramfs.cpio" \
		"console=ttyS0 quiet nokaslr panic=-1 oops=panic rdinit=/init scenarios=$1${MODARGS:+ prepop_args=$MODARGS}" \
		"$2" MIGRATION 'migration: '
}
all=$(sed -n 's/^ALL="\(.*\)"$/\1/p' "$T/scenarios.sh")
[ "$ONLY" = all ] && want=$all || want=$(echo "$ONLY" | tr , ' ')
# the boots (a second one after QEMU TCG's own crash), the verdict
hv_scenarios MIGRATION "$OUT" "$want" boot
exit
}
