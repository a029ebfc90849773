# The emulated hypervisor, one way for every tier that needs it (the testbed,
# the system tier, the demo): build it, give it a Debian userland, boot it,
# read its kernel log.  Source this file; it defines functions only.
#
#   hv_build [--kernel K] OUT     a Debian kernel (6.1 unless told) and its KVM modules,
#                                 kvm_prepop.ko built from kmod/, the testbed's
#                                 initramfs (tests/testbed/build.sh; cached kernel;
#                                 OUT/initramfs/lib/modules/load: the load order)
#   hv_rootfs DIR PKG...          a debootstrap'ed Debian 12 minbase userland with
#                                 PKG..., cached in DIR (rebuilt when the list changes)
#   hv_cpio DIR                   DIR as a newc cpio archive on stdout
#   hv_userland OUT               all an emulated libvirt host needs, in OUT: the kernel and
#                                 modules (hv_build, OUT/testbed), the Debian userland with
#                                 libvirtd and QEMU (OUT/rootfs), prepopd and prepopctl as
#                                 shipped and prepopd under ASan+UBSan (OUT/build-release,
#                                 OUT/build-asan), staged in OUT/overlay: /prepop/prepopd,
#                                 prepopctl, asan/prepopd (with the sanitizers' runtimes),
#                                 modules/ (load order in modules/load, then kvm_prepop.ko),
#                                 guest/vmlinuz (the same kernel, for KVM guests)
#   hv_pack OUT                   OUT/initramfs.cpio: OUT/rootfs and then OUT/overlay (add
#                                 /init and the rest to OUT/overlay first); fails if a
#                                 dynamic executable there needs a library the userland lacks
#   hv_boot [options] KERNEL INITRD APPEND LOG
#                                 boot it: QEMU TCG -cpu max (nested SVM), console on
#                                 the serial port, written to LOG; returns when it
#                                 powers off (or the time limit kills it)
#       --smp N (2)  --mem MiB (3072)  --timeout S (1500)  --monitor SOCK (none)
#   hv_alarms LOG PREFIX          the kernel log's alarm lines between the lines
#                                 "PREFIX: dmesg begin" and "PREFIX: dmesg end" that the
#                                 emulated host's init prints; status 1 if there is any
#   hv_foreign_crash LOG          status 0 if the emulated host's kernel died (panic,
#                                 BUG, oops) with no sign of kvm_prepop anywhere in its
#                                 console's alarms (no [kvm_prepop] frame, no kvm_prepop/N
#                                 or prepopd thread): a fault of the emulator, not of the
#                                 module; prints the report's first lines
#
# Inside, an init prints its kernel log between those markers before it powers
# off:  echo "PREFIX: dmesg begin"; dmesg; echo "PREFIX: dmesg end"; poweroff -f

HV_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# what counts as a kernel-log alarm
HV_ALARM_RE='WARNING:|BUG:|Oops|general protection|Call Trace|lockdep|possible circular|INFO: task .* blocked|UBSAN|KASAN'

hv_build() {
	bash "$HV_SRC/tests/testbed/build.sh" "$@"
}

hv_rootfs() {
	local dir=$1 pkgs
	shift
	pkgs=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
	if [ -f "$dir/.done" ] && [ "$(cat "$dir/.done")" = "$pkgs" ]; then
		return 0
	fi
	rm -rf "$dir"
	mkdir -p "$(dirname "$dir")"
	if ! debootstrap --variant=minbase --include="$pkgs" bookworm "$dir" \
		http://deb.debian.org/debian >"$dir.debootstrap.log" 2>&1; then
		tail -n 20 "$dir.debootstrap.log" >&2
		return 1
	fi
	rm -rf "$dir"/usr/share/{doc,man,locale,info} "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/*
	echo "$pkgs" >"$dir/.done"
}

hv_cpio() {
	(cd "$1" && find . ! -path ./.done | cpio -o -H newc --quiet)
}

hv_boot() {
	local smp=2 mem=3072 limit=1500 monitor=none
	while [ $# -gt 4 ]; do
		case $1 in
		--smp) smp=$2 ;;
		--mem) mem=$2 ;;
		--timeout) limit=$2 ;;
		--monitor) monitor=unix:$2,server,nowait ;;
		*) echo "hv_boot: unknown option $1" >&2; return 2 ;;
		esac
		shift 2
	done
	[ $# -eq 4 ] || { echo "hv_boot: want KERNEL INITRD APPEND LOG" >&2; return 2; }
	timeout "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp "$smp" -m "$mem" \
		-kernel "$1" -initrd "$2" -append "$3" \
		-nographic -no-reboot -monitor "$monitor" -serial stdio </dev/null >"$4" 2>&1 || true
}

hv_alarms() {
	local alarms
	alarms=$(tr -d '\r' <"$1" | sed -n "/^$2: dmesg begin/,/^$2: dmesg end/p" |
		grep -aE "$HV_ALARM_RE" || true)
	[ -z "$alarms" ] && return 0
	echo "$alarms"
	return 1
}

# QEMU TCG's nested SVM (Debian 12's QEMU 7.2) sometimes kills the emulated
# host's kernel with nothing of ours involved: seen, a guest's vCPU thread
# overflowing its stack in error_entry 10 s into the guest's boot, before any
# populate; an int3 in __schedule while a static key was being patched.  The
# tiers boot once more for what did not run when this is the only alarm.
hv_foreign_crash() {
	local con al
	con=$(tr -d '\r' <"$1" | grep -av '^SYSFILE' || true)
	grep -aqE 'Kernel panic|BUG: |Oops|general protection|double fault' <<<"$con" || return 1
	al=$(grep -aE "$HV_ALARM_RE|Kernel panic|RIP:|Comm:|^ *[a-z_0-9.]+\+0x" <<<"$con" || true)
	grep -aqE '\[kvm_prepop\]|kvm_prepop/[0-9]|Comm: prepopd|pp_[a-z_]+\+0x' <<<"$al" && return 1
	grep -aE 'Kernel panic|BUG: |Oops|general protection|double fault|RIP:|Comm:' <<<"$al" | sed -n 1,5p
}

# the packages of the emulated host's userland
HV_PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 busybox kmod jq
	passwd procps libevent-2.1-7 libevent-pthreads-2.1-7 libjson-c5 libxml2 libsystemd0"

hv_userland() {
	local out=$1 v opts lib ov=$1/overlay
	hv_build --kernel 6.1 "$out/testbed" >"$out/testbed-build.log" 2>&1 ||
		{ cat "$out/testbed-build.log"; return 1; }
	# shellcheck disable=SC2086
	hv_rootfs "$out/rootfs" $HV_PACKAGES || return 1
	for v in release asan; do
		if [ $v = release ]; then
			opts="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
		else
			opts="-DCMAKE_BUILD_TYPE=Debug -DPREPOP_SANITIZE=ON"
		fi
		# shellcheck disable=SC2086
		{ cmake -S "$HV_SRC" -B "$out/build-$v" $opts -DPREPOP_TESTS=OFF &&
			cmake --build "$out/build-$v" -j "$(nproc)" --target prepopd prepopctl; } \
			>"$out/build-$v.log" 2>&1 || { tail -n 30 "$out/build-$v.log"; return 1; }
	done
	rm -rf "$ov" && mkdir -p "$ov/prepop/modules" "$ov/prepop/guest" "$ov/prepop/asan" "$ov/usr/lib/x86_64-linux-gnu"
	install -m 755 "$out/build-release/prepopd/prepopd" "$out/build-release/ctl/prepopctl" "$ov/prepop/"
	install -m 755 "$out/build-asan/prepopd/prepopd" "$ov/prepop/asan/"
	# the sanitizers' runtimes, from the gcc that built it (the same Debian 12 libc)
	for lib in libasan.so.8 libubsan.so.1; do
		cp "$(readlink -f "$(gcc -print-file-name=$lib)")" "$ov/usr/lib/x86_64-linux-gnu/$lib" || return 1
	done
	cp "$out/testbed/initramfs/lib/modules/"* "$ov/prepop/modules/"
	cp "$out/testbed/vmlinuz" "$ov/prepop/guest/vmlinuz"
}

hv_pack() {
	local out=$1 f lib
	while IFS= read -r -d '' f; do
		for lib in $(objdump -p "$f" 2>/dev/null | awk '$1 == "NEEDED" { print $2 }'); do
			[ -e "$out/rootfs/usr/lib/x86_64-linux-gnu/$lib" ] || [ -e "$out/rootfs/lib/x86_64-linux-gnu/$lib" ] ||
				[ -e "$out/overlay/usr/lib/x86_64-linux-gnu/$lib" ] ||
				{ echo "hv_pack: $lib, needed by ${f#"$out"/overlay}, is not in the userland" >&2; return 1; }
		done
	done < <(find "$out/overlay" -type f -perm -u+x ! -name '*.so*' -print0)
	[ "$out/rootfs.cpio" -nt "$out/rootfs/.done" ] || hv_cpio "$out/rootfs" >"$out/rootfs.cpio"
	hv_cpio "$out/overlay" >"$out/overlay.cpio"
	cat "$out/rootfs.cpio" "$out/overlay.cpio" >"$out/initramfs.cpio"
}
