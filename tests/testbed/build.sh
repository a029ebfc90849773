#!/usr/bin/env bash
# Build the testbed once into OUT (default build/testbed): Debian's 6.1
# kernel and KVM modules, kvm_prepop.ko built against the matching headers,
# the static test VMM and benchmark, and an initramfs holding them.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$SRC/build/testbed}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# The kernel release the headers metapackage points at; the image must match.
KREL=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[^ ,]*' | sed -n '1s/^linux-headers-//p')
KDIR=/usr/src/linux-headers-$KREL
[ -d "$KDIR" ] || { echo "testbed: $KDIR missing (run tests/setup-deps.sh)" >&2; exit 2; }
echo "testbed: kernel $KREL"

KROOT=$OUT/kernel-$KREL
if [ ! -f "$KROOT/.done" ]; then
	rm -rf "$KROOT" && mkdir -p "$KROOT"
	(cd "$KROOT" && apt-get download "linux-image-$KREL" >/dev/null 2>&1 ||
		apt-get download "linux-image-$KREL-unsigned")
	dpkg-deb -x "$KROOT"/linux-image-*.deb "$KROOT/root"
	rm -f "$KROOT"/linux-image-*.deb
	touch "$KROOT/.done"
fi
cp "$KROOT/root/boot/vmlinuz-$KREL" "$OUT/vmlinuz"

# The module: kbuild wants to write next to the sources, so build a copy.
rm -rf "$OUT/kmod" && cp -r "$SRC/kmod" "$OUT/kmod"
make -s -C "$OUT/kmod" KDIR="$KDIR" >"$OUT/kmod-build.log" 2>&1 || { cat "$OUT/kmod-build.log"; exit 1; }

CFLAGS="-std=gnu11 -O2 -Wall -Wextra -Werror -I$SRC/kmod/include/uapi"
gcc $CFLAGS -static -I"$SRC/agent" -o "$OUT/vmm" "$SRC/tests/testbed/scenarios.c" "$SRC/tests/testbed/hold.c" \
	"$SRC/tests/testbed/kvmtest.c" "$SRC/agent/qemu.c" -lpthread
gcc $CFLAGS -static -o "$OUT/bench" "$SRC/bench/kvm_bench.c" "$SRC/tests/testbed/kvmtest.c" -I"$SRC/tests/testbed" -lpthread

IR=$OUT/initramfs
rm -rf "$IR" && mkdir -p "$IR"/{bin,lib/modules,dev,proc,sys,tmp}
cp /bin/busybox "$IR/bin/busybox"
cp "$OUT/vmm" "$OUT/bench" "$IR/bin/"
cp "$SRC/tests/testbed/init" "$IR/init"
chmod +x "$IR/init"
M=$KROOT/root/lib/modules/$KREL/kernel
for ko in virt/lib/irqbypass.ko drivers/crypto/ccp/ccp.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko; do
	cp "$M/$ko" "$IR/lib/modules/"
done
cp "$OUT/kmod/kvm_prepop.ko" "$IR/lib/modules/"
(cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1 >"$OUT/initramfs.gz")
echo "testbed: built $OUT/initramfs.gz"
