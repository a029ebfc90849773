#!/usr/bin/env bash
# kvm_prepop.ko builds warning-free, with sparse (make C=1), against a Debian
# kernel's headers: 6.1 (default; the host's headers, gcc-12, sparse), 6.12 or
# 7 (tests/kernels/lib.sh: fetched once, built in a trixie chroot with gcc-14
# and sid's sparse).  Any compiler or sparse warning fails, and so does a
# kernel kmod/compat.h refuses; the hello module (tests/kernels/hello) is
# built first, to tell the build plumbing from the port.
#   kmod-sparse.sh [--kernel 6.1|6.12|7] [OUT]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
K=6.1 OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) K=$2; shift 2 ;;
	*) OUT=$1; shift ;;
	esac
done
[ "$K" = 6.1 ] && OUT=${OUT:-$SRC/build/kmod-sparse} || OUT=${OUT:-$SRC/build/kmod-sparse-$K}
. "$SRC/tests/kernels/lib.sh"
pk_kernel "$K" headers

# check DIR NAME: build DIR with sparse; fails on any warning
check() {
	if ! pk_make "$1" C=1 >"$1.log" 2>&1; then
		return 1
	fi
	if grep -E 'warning:|error:|not available or not up to date' "$1.log"; then
		echo "kmod: $2: warnings above"
		exit 1
	fi
	# kbuild drops C=1 with one line of warning when the checker is unusable
	local n
	n=$(grep -c '^  CHECK' "$1.log" || true)
	[ "$n" -gt 0 ] || { cat "$1.log"; echo "kmod: $2: sparse checked nothing"; exit 1; }
	echo "kmod: $2: clean build against $PK_KREL, sparse clean ($n files checked)"
}

rm -rf "$OUT" && mkdir -p "$OUT"
cp -r "$SRC/tests/kernels/hello" "$OUT/hello"
check "$OUT/hello" pp_hello || { cat "$OUT/hello.log"; exit 1; }
cp -r "$SRC/kmod" "$OUT/kmod"
if ! check "$OUT/kmod" kvm_prepop; then
	cat "$OUT/kmod.log"
	exit 1
fi
