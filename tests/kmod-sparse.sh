#!/usr/bin/env bash
# kvm_prepop.ko builds warning-free, with sparse (make C=1), against the
# testbed's kernel headers.  Any compiler or sparse warning fails.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/build/kmod-sparse}
KREL=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[^ ,]*' | sed -n '1s/^linux-headers-//p')
rm -rf "$OUT" && mkdir -p "$OUT" && cp -r "$SRC/kmod/." "$OUT/"
make -C "$OUT" KDIR="/usr/src/linux-headers-$KREL" C=1 >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
if grep -E 'warning:|error:' "$OUT/build.log"; then
	echo "kmod: warnings above"
	exit 1
fi
grep -c '^  CHECK' "$OUT/build.log" | xargs echo "kmod: sparse checked files:"
echo "kmod: clean build against $KREL, sparse clean"
