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
#   hv_boot [options] KERNEL INITRD APPEND LOG
#                                 boot it: QEMU TCG -cpu max (nested SVM), console on
#                                 the serial port, written to LOG; returns when it
#                                 powers off (or the time limit kills it)
#       --smp N (2)  --mem MiB (3072)  --timeout S (1500)  --monitor SOCK (none)
#   hv_alarms LOG PREFIX          the kernel log's alarm lines between the lines
#                                 "PREFIX: dmesg begin" and "PREFIX: dmesg end" that the
#                                 emulated host's init prints; status 1 if there is any
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
