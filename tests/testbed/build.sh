#!/usr/bin/env bash
# Build the testbed into OUT (default build/testbed): a Debian kernel and its
# KVM modules, kvm_prepop.ko, the hello module (tests/kernels/hello) and the
# write-tracking helper (tests/testbed/track) built against the matching
# headers, the static test VMM and benchmark, and an initramfs holding them.
#   build.sh [--kernel 6.1|6.12|7] [OUT]
# The kernel (default 6.1) comes from tests/kernels/lib.sh: Debian's archive,
# fetched once, cached in build/kernels.
# A kernel that kmod/compat.h refuses (an #error there) gets a testbed without
# kvm_prepop: KVM and the hello module only, and its init says so.  Any other
# build failure fails.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
K=6.1
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) K=$2; shift 2 ;;
	*) OUT=$1; shift ;;
	esac
done
OUT=${OUT:-$SRC/build/testbed}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$SRC/tests/kernels/lib.sh"

pk_kernel "$K"
echo "testbed: kernel $PK_KREL (--kernel $K, Debian $PK_VERSION)"
rm -rf "$OUT"/kernel-* # the image cache of earlier versions of this script
cp "$PK_VMLINUZ" "$OUT/vmlinuz"

# The modules: kbuild wants to write next to the sources, so build copies.
rm -rf "$OUT/kmod" "$OUT/hello" "$OUT/track" && cp -r "$SRC/kmod" "$OUT/kmod" &&
	cp -r "$SRC/tests/kernels/hello" "$OUT/hello" && cp -r "$SRC/tests/testbed/track" "$OUT/track"
pk_make "$OUT/hello" >"$OUT/hello-build.log" 2>&1 || { cat "$OUT/hello-build.log"; exit 1; }
# the helper that write-tracks a guest page (KVM's page-track API, as KVMGT)
if ! pk_make "$OUT/track" >"$OUT/track-build.log" 2>&1 || grep -q 'warning:' "$OUT/track-build.log"; then
	cat "$OUT/track-build.log"
	exit 1
fi
case $(modinfo -F vermagic "$OUT/hello/pp_hello.ko") in
"$PK_KREL "*) ;;
*) echo "testbed: pp_hello.ko is not built for $PK_KREL" >&2; exit 1 ;;
esac
PREPOP=1
if ! pk_make "$OUT/kmod" >"$OUT/kmod-build.log" 2>&1; then
	if grep -q 'compat\.h:[0-9]*:[0-9]*: error: #error' "$OUT/kmod-build.log"; then
		grep 'compat\.h:[0-9]*:[0-9]*: error: #error' "$OUT/kmod-build.log" | head -n1 | sed 's/^/testbed: /'
		echo "testbed: kmod/compat.h refuses $PK_KREL: a testbed without kvm_prepop (KVM and the hello module only)"
		PREPOP=0
	else
		cat "$OUT/kmod-build.log"
		exit 1
	fi
fi

CFLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror -I$SRC/kmod/include/uapi"
T=$SRC/tests/testbed
gcc $CFLAGS -static -I"$SRC/prepopd" -I"$T/track" -o "$OUT/vmm" "$T/scenarios.c" "$T/hold.c" "$T/mapping.c" "$T/numa.c" \
	"$T/vmm_gone.c" "$T/kvmtest.c" "$SRC/prepopd/qemu.c" -lpthread
gcc $CFLAGS -static -o "$OUT/bench" "$SRC/bench/kvm_bench.c" "$SRC/tests/testbed/kvmtest.c" -I"$SRC/tests/testbed" -lpthread

IR=$OUT/initramfs
rm -rf "$IR" && mkdir -p "$IR"/{bin,lib/modules,dev,proc,sys,tmp}
cp /bin/busybox "$IR/bin/busybox"
cp "$OUT/vmm" "$OUT/bench" "$IR/bin/"
cp "$SRC/tests/testbed/init" "$IR/init"
chmod +x "$IR/init"
# kvm-amd and what it needs, in load order (each module's modinfo "depends");
# busybox's insmod wants them uncompressed (6.12 and 7.x ship .ko.xz)
: >"$IR/lib/modules/load"
for m in $(pk_modules kvm-amd); do
	f=$(pk_module_file "$m")
	case $f in
	*.ko) cp "$f" "$IR/lib/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$f" >"$IR/lib/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$f" >"$IR/lib/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$f" >"$IR/lib/modules/$m.ko" ;;
	*) echo "testbed: cannot unpack $f" >&2; exit 1 ;;
	esac
	echo "$m" >>"$IR/lib/modules/load"
done
cp "$OUT/hello/pp_hello.ko" "$OUT/track/pp_track.ko" "$IR/lib/modules/"
[ $PREPOP -eq 0 ] || cp "$OUT/kmod/kvm_prepop.ko" "$IR/lib/modules/"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1 >"$OUT/initramfs.gz")
echo "testbed: built $OUT/initramfs.gz (modules: $(paste -sd' ' "$IR/lib/modules/load")$([ $PREPOP -eq 0 ] || echo ' kvm_prepop') pp_hello pp_track)"
