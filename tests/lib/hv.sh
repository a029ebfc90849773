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
#   hv_userland [--kernel K] [--packages "PKG..."] OUT
#                                 all an emulated libvirt host needs, in OUT: the kernel and
#                                 modules (hv_build, K: 6.1 unless told, OUT/testbed), the
#                                 Debian userland (plus PKG...) with libvirtd and QEMU
#                                 (OUT/rootfs: a link to build/hv-rootfs/KEY, one per
#                                 package list, shared by all tiers), prepopd and prepopctl as
#                                 shipped and prepopd under ASan+UBSan (OUT/build-release,
#                                 OUT/build-asan), staged in OUT/overlay: /prepop/prepopd,
#                                 prepopctl, asan/prepopd (with the sanitizers' runtimes),
#                                 modules/ (load order in modules/load, then kvm_prepop.ko),
#                                 guest/vmlinuz (the same kernel, for KVM guests), keepvm
#                                 (tests/lib/keepvm.c) and lib/hvhost.sh (what the inits
#                                 and scripts inside share: tests/lib/hvhost.sh)
#   hv_guest_initrd OUT INIT PROG...
#                                 the KVM guests' initramfs, OUT/overlay/prepop/guest/initrd.gz:
#                                 busybox, INIT as /init and the static PROGs in /bin
#   hv_pack OUT                   OUT/initramfs.cpio: OUT/rootfs and then OUT/overlay (add
#                                 /init and the rest to OUT/overlay first); fails if a
#                                 dynamic executable there needs a library the userland lacks
#   hv_qemu                       Debian 13's QEMU (trixie, 10.0) for hv_boot, in place of
#                                 the machine's Debian 12 QEMU 7.2: fetched once through the
#                                 private apt configuration (tests/kernels/lib.sh) and
#                                 unpacked in build/qemu-trixie (run by its own loader; the
#                                 machine is untouched); sets HV_QEMU and HV_QEMU_VERSION.
#                                 For the tiers whose emulated host runs KVM guests through
#                                 libvirt (the system, migration and package tiers, the demo;
#                                 see HV_QEMU)
#   hv_boot_again LOG TAG PREFIX  after a boot: true (LOG kept as LOG.crashed, a NOTE
#                                 printed) if its kernel died of QEMU TCG's own fault
#                                 before "TAG: dmesg end" (hv_foreign_crash): boot once more
#   hv_boot [options] KERNEL INITRD APPEND LOG
#                                 boot it: QEMU TCG -cpu max (nested SVM), console on
#                                 the serial port, written to LOG; returns when it
#                                 powers off, the time limit kills it, or it is
#                                 wedged (HV_WEDGED_RE on its console: stopped at once)
#       --smp N (2)  --mem MiB (3072)  --timeout S (1500)  --monitor SOCK (none)
#       --nodes 1|2 (1): 2 NUMA nodes (sockets), node 0 with the lower half of the CPUs and 1 GiB
#   hv_alarms LOG PREFIX          the kernel log's alarm lines between the lines
#                                 "PREFIX: dmesg begin" and "PREFIX: dmesg end" that the
#                                 emulated host's init prints; status 1 if there is any
#   hv_foreign_crash LOG          status 0 if the emulated host's kernel died (panic,
#                                 BUG, oops) with no sign of kvm_prepop anywhere in its
#                                 console's alarms (no [kvm_prepop] frame, no kvm_prepop/N
#                                 or prepopd thread): a fault of the emulator, not of the
#                                 module; prints the report's first lines
#   hv_run [options] KERNEL INITRD APPEND LOG TAG PREFIX
#                                 hv_boot (the same options), and while it runs the
#                                 console's "TAG: text" lines as they come, as "PREFIX
#                                 text" (not the dmesg markers nor "TAG: done"; PREFIX
#                                 without / or &); returns when it powers off
#   hv_files LOG DIR              the files the emulated host handed out on its console
#                                 (hvh_handout: "HVFILE <name>: <line>") into DIR
#   hv_scenarios TAG OUT WANT BOOT
#                                 a scenario tier's boots and verdict (system, migration):
#                                 BOOT (the caller's function) "a,b,..." LOG boots the
#                                 emulated host once, running those scenarios, its console
#                                 in LOG; they print "TAG: PASS name (...)" or "TAG: FAIL
#                                 name (...): why".  WANT (space-separated) runs in
#                                 OUT/console.log; when the kernel died with no sign of
#                                 kvm_prepop (hv_foreign_crash), the scenarios with no
#                                 verdict run again, twice at most (each dead boot's
#                                 console kept as OUT/console-crashed.N).  Then the
#                                 handed-out files into OUT/files, a line per scenario
#                                 with no verdict, one for the kernel log, and "tag: N
#                                 passed, M failed"; status 1 on any failure
#
# Inside, an init prints its kernel log between those markers before it powers
# off:  echo "PREFIX: dmesg begin"; dmesg; echo "PREFIX: dmesg end"; poweroff -f

HV_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# an emulated host that will not finish: a CPU whose timer interrupt QEMU
# TCG stopped delivering (it sits idle, RCU's grace periods stall for ever;
# seen on Debian 12's QEMU 7.2 with nothing of ours running); or every CPU
# halted with interrupts pending that QEMU never delivers, so the kernel
# cannot even say so (seen on QEMU 10.0 in the migration tier: both CPUs in
# the idle loop with IF set, the timer's vector in the local APIC's IRR above
# the priority, for 25 minutes; an NMI from the monitor did not wake them),
# which hv_boot finds and writes into the console log as "HV: wedged"
HV_WEDGED_RE="rcu_preempt kthread timer wakeup didn't happen|^HV: wedged"
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

# The emulator hv_boot runs: the machine's QEMU unless hv_qemu set it.
# Debian 12's QEMU 7.2 TCG corrupts the emulated host when two KVM guests
# run side by side: a vCPU thread pops a clobbered stack slot right after
# VMRUN (__svm_vcpu_run+0x9d), faults with the guest's GS base loaded and
# dies on the stack guard page.  Seen in 3 boots of 3 within a minute of a
# second guest starting (tests/system: --only churn), with nothing of ours
# running; Debian 13's QEMU 10.0 ran the same 12 starts clean.  With one
# guest it once left that guest stuck at its start (the package tier, in
# CI: nothing mapped by the guest's own faults in 25 s, no boot in 180 s)
# and killed the emulated host minutes later with kvm_prepop unloaded.
HV_QEMU=${HV_QEMU:-qemu-system-x86_64}
HV_QEMU_DIR=${HV_QEMU_DIR:-$HV_SRC/build/qemu-trixie}

hv_qemu() {
	local d=$HV_QEMU_DIR r ld deb
	r=$d/root
	if [ "$(cat "$d/.done" 2>/dev/null)" != trixie-2 ]; then
		. "$HV_SRC/tests/kernels/lib.sh"
		pk_apt_update || return 1
		rm -rf "$d"
		mkdir -p "$d/debs/partial" "$r"
		# the whole closure (the private status file is empty), trixie's versions
		if ! pk_apt apt-get install -y -d -t trixie --no-install-recommends \
			-o Dir::Cache::archives="$d/debs" qemu-system-x86 seabios ipxe-qemu \
			>"$d/fetch.log" 2>&1; then
			tail -n 20 "$d/fetch.log" >&2
			return 1
		fi
		for deb in "$d"/debs/*.deb; do
			dpkg-deb -x "$deb" "$r" || return 1
		done
		# the closure's passwd & co. stay inert here
		find "$r" -perm /6000 -type f -exec chmod ug-s {} +
		ld=$(find "$r" -name 'ld-linux-x86-64.so.2' | sort | head -n1)
		[ -n "$ld" ] && [ -x "$r/usr/bin/qemu-system-x86_64" ] || {
			echo "hv_qemu: no loader or qemu-system-x86_64 under $r" >&2
			return 1
		}
		# its own loader, libraries, modules and firmware: nothing of the
		# machine's QEMU 7.2 (its default paths follow /proc/self/exe, the loader)
		cat >"$d/qemu" <<-EOF
		#!/bin/sh
		QEMU_MODULE_DIR='$r/usr/lib/x86_64-linux-gnu/qemu' exec '$ld' \\
		 --library-path '$r/usr/lib/x86_64-linux-gnu' '$r/usr/bin/qemu-system-x86_64' \\
		 -L '$r/usr/share/seabios' -L '$r/usr/share/qemu' "\$@"
		EOF
		chmod 755 "$d/qemu"
		echo trixie-2 >"$d/.done"
	fi
	HV_QEMU_VERSION=$("$d/qemu" --version | head -n1) || {
		echo "hv_qemu: $d/qemu does not run; remove $d to fetch it again" >&2
		return 1
	}
	HV_QEMU=$d/qemu
}

hv_boot() {
	local smp=2 mem=3072 limit=1500 monitor=none nodes=1 q
	local -a numa=()
	while [ $# -gt 4 ]; do
		case $1 in
		--smp) smp=$2 ;;
		--mem) mem=$2 ;;
		--timeout) limit=$2 ;;
		--monitor) monitor=unix:$2,server,nowait ;;
		--nodes)
			nodes=$2
			[ "$nodes" = 1 ] || [ "$nodes" = 2 ] || { echo "hv_boot: --nodes 1 or 2, not $nodes" >&2; return 2; } ;;
		*) echo "hv_boot: unknown option $1" >&2; return 2 ;;
		esac
		shift 2
	done
	[ $# -eq 4 ] || { echo "hv_boot: want KERNEL INITRD APPEND LOG" >&2; return 2; }
	# --nodes 2: two sockets, node 0 with the lower half of the CPUs and 1 GiB
	# (the kernel), node 1 with the rest (a boot-time 1 GiB huge page fits there)
	if [ "$nodes" = 2 ]; then
		[ $((smp % 2)) -eq 0 ] && [ "$mem" -ge 3072 ] || { echo "hv_boot: --nodes 2 wants an even --smp and 3 GiB" >&2; return 2; }
		numa=(-object memory-backend-ram,id=hvram0,size=1024M
			-object "memory-backend-ram,id=hvram1,size=$((mem - 1024))M"
			-numa "node,nodeid=0,cpus=0-$((smp / 2 - 1)),memdev=hvram0"
			-numa "node,nodeid=1,cpus=$((smp / 2))-$((smp - 1)),memdev=hvram1")
		smp="$smp,sockets=2,cores=$((smp / 2)),threads=1"
	fi
	timeout "$limit" "$HV_QEMU" -accel tcg -cpu max -smp "$smp" -m "$mem" "${numa[@]}" \
		-kernel "$1" -initrd "$2" -append "$3" \
		-nographic -no-reboot -monitor "$monitor" -serial stdio </dev/null >"$4" 2>&1 &
	q=$!
	# a wedged emulated host never powers off: stop it at once (hv_foreign_crash
	# then tells, and the tier boots again).  A host whose kernel cannot tell:
	# a minute with no console output and almost no CPU time for QEMU (a
	# running emulated host uses far more: its userland polls every second)
	local mark_t=$SECONDS mark_size=-1 mark_ticks=0 size ticks
	while kill -0 $q 2>/dev/null; do
		if grep -aqE "$HV_WEDGED_RE" "$4" 2>/dev/null; then
			kill -TERM $q	# timeout passes it on to QEMU
			break
		fi
		if [ $((SECONDS - mark_t)) -ge 60 ]; then
			size=$(stat -c %s "$4" 2>/dev/null || echo 0)
			ticks=$(hv_cpu_ticks $q)
			if [ "$size" = "$mark_size" ] && [ $((ticks - mark_ticks)) -lt 100 ]; then
				echo "HV: wedged: no console output and $(((ticks - mark_ticks) * 10)) ms of CPU for QEMU in $((SECONDS - mark_t)) s" >>"$4"
				kill -TERM $q
				break
			fi
			mark_t=$SECONDS mark_size=$size mark_ticks=$ticks
		fi
		sleep 1
	done
	wait $q || true
}

# hv_cpu_ticks PID: the CPU time (1/100 s) of PID's descendants (QEMU under
# timeout, and its wrapper's), those that have ended included
hv_cpu_ticks() {
	local p t=0 s
	for p in $(pgrep -P "$1"); do
		s=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }') || s=0
		t=$((t + ${s:-0} + $(hv_cpu_ticks "$p")))
	done
	echo $t
}

# hv_boot_again LOG TAG PREFIX: the boot that wrote LOG did not reach
# "TAG: dmesg end" and its kernel died with no sign of kvm_prepop
# (hv_foreign_crash): say so (lines begin with PREFIX), keep LOG as
# LOG.crashed and succeed, for the caller to boot once more
hv_boot_again() {
	local crash
	grep -aq "^$2: dmesg end" "$1" && return 1
	crash=$(hv_foreign_crash "$1") || return 1
	echo "${3}NOTE: the emulated host's kernel died with no sign of kvm_prepop (QEMU TCG), kept in $1.crashed; booting again:"
	echo "$crash" | sed 's/^/    /'
	mv "$1" "$1.crashed"
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
# overflowing its stack in error_entry with two guests side by side (the
# reason for hv_qemu); an int3 in __schedule while a static key was being
# patched; a CPU left idle with no timer interrupt (HV_WEDGED_RE, hv_run
# stops such a host).  The tiers boot once more for what did not run when
# this is the only alarm.
hv_foreign_crash() {
	local con al sign
	con=$(tr -d '\r' <"$1" | grep -av '^HVFILE' || true)
	grep -aqE "Kernel panic|BUG: |Oops|general protection|double fault|$HV_WEDGED_RE" <<<"$con" || return 1
	al=$(grep -aE "$HV_ALARM_RE|$HV_WEDGED_RE|Kernel panic|RIP:|Comm:|^ *[a-z_0-9.]+\+0x" <<<"$con" || true)
	if sign=$(grep -aE '\[kvm_prepop\]|kvm_prepop/[0-9]|Comm: prepopd|pp_[a-z_]+\+0x' <<<"$al"); then
		# ours, or possibly ours: say why, for whoever reads the failure
		echo "hv_foreign_crash: the emulated host's kernel died, and its console names kvm_prepop:" >&2
		sed -n 1,5p <<<"$sign" | sed 's/^/    /' >&2
		return 1
	fi
	grep -aE "Kernel panic|BUG: |Oops|general protection|double fault|$HV_WEDGED_RE|RIP:|Comm:" <<<"$al" | sed -n 1,5p
}

# the packages of the emulated host's userland
HV_PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 busybox kmod jq
	passwd procps libevent-2.1-7 libevent-pthreads-2.1-7 libjson-c5 libxml2 libsystemd0"

hv_userland() {
	local kernel=6.1 extra= out v opts lib ov rootfs
	while [ $# -gt 1 ]; do
		case $1 in
		--kernel) kernel=$2 ;;
		--packages) extra=$2 ;;
		*) echo "hv_userland: unknown option $1" >&2; return 2 ;;
		esac
		shift 2
	done
	out=$1 ov=$1/overlay
	hv_build --kernel "$kernel" "$out/testbed" >"$out/testbed-build.log" 2>&1 ||
		{ cat "$out/testbed-build.log"; return 1; }
	# the userland, one per package list, shared by every tier and OUT (a lock
	# keeps two runs from building the same one at once)
	# shellcheck disable=SC2086
	rootfs=$HV_SRC/build/hv-rootfs/$(printf '%s\n' $HV_PACKAGES $extra | sort -u | md5sum | cut -c1-12)
	mkdir -p "${rootfs%/*}"
	# shellcheck disable=SC2086
	(flock 9 && hv_rootfs "$rootfs" $HV_PACKAGES $extra) 9>"$rootfs.lock" || return 1
	[ -L "$out/rootfs" ] || rm -rf "$out/rootfs"
	[ "$(readlink "$out/rootfs")" = "$rootfs" ] || rm -f "$out/rootfs.cpio"
	ln -sfn "$rootfs" "$out/rootfs"
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
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$ov/prepop/keepvm" "$HV_SRC/tests/lib/keepvm.c" || return 1
	install -D -m 644 "$HV_SRC/tests/lib/hvhost.sh" "$ov/prepop/lib/hvhost.sh"
}

hv_guest_initrd() {
	local out=$1 g=$1/guest-ir init=$2
	shift 2
	rm -rf "$g" && mkdir -p "$g/bin" "$g/proc" "$g/dev"
	cp /bin/busybox "$@" "$g/bin/" && install -m 755 "$init" "$g/init" || return 1
	(cd "$g" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/overlay/prepop/guest/initrd.gz"
}

hv_run() {
	local tag=${*: -2:1} prefix=${*: -1} log pid
	set -- "${@:1:$#-2}"
	log=${*: -1}
	rm -f "$log"
	hv_boot "$@" &
	pid=$!
	{ tail -n +1 -F --pid=$pid "$log" 2>/dev/null || true; } |
		sed -u -n -e 's/\r$//' -e "/^$tag: dmesg \(begin\|end\)\$/d" -e "/^$tag: done\$/d" -e '/^HVFILE /d' -e "s/^.*$tag: /$prefix/p" || true
	wait $pid || true
}

hv_files() {
	rm -rf "$2" && mkdir -p "$2"
	tr -d '\r' <"$1" | awk -v d="$2" '/^HVFILE [^ ]*: / {
		f = $2; sub(/:$/, "", f); line = $0; sub(/^HVFILE [^ ]*: /, "", line); print line > (d "/" f) }'
}

hv_scenarios() {
	local tag=$1 out=$2 want=$3 boot=$4 p=${1,,} log=$2/console.log crashed=$2/console-crashed.log
	local crash left sc alarms pass=0 fail=0 tries=0
	rm -f "$crashed".*
	"$boot" "$(echo $want | tr ' ' ,)" "$log"
	while [ $tries -lt 2 ] && ! grep -aq "^$tag: dmesg end" "$log" && crash=$(hv_foreign_crash "$log"); do
		tries=$((tries + 1))
		left=
		for sc in $want; do
			grep -aqsE "^$tag: (PASS|FAIL) $sc " "$log" "$crashed".* || left=$left,$sc
		done
		echo "$p: NOTE: the emulated host's kernel died with no sign of kvm_prepop (QEMU TCG):"
		echo "$crash" | sed 's/^/    /'
		[ -n "$left" ] || break
		mv "$log" "$crashed.$tries"
		echo "$p: kept its console in $crashed.$tries; booting again for ${left#,}"
		"$boot" "${left#,}" "$log"
	done
	hv_files "$log" "$out/files"
	# every scenario asked for (in either boot), and the kernel log
	for sc in $want; do
		if grep -aqs "^$tag: PASS $sc " "$log" "$crashed".*; then
			pass=$((pass + 1))
		else
			grep -aqs "^$tag: FAIL $sc " "$log" "$crashed".* ||
				echo "$p: FAIL $sc: did not run (the run ended early)"
			fail=$((fail + 1))
		fi
	done
	if ! grep -aq "^$tag: dmesg end" "$log"; then
		echo "$p: FAIL kernel-log: the emulated host did not finish; its console's last lines:"
		{ tr -d '\r' <"$log" | grep -av '^HVFILE' || true; } | tail -n 25 | sed 's/^/    /'
		fail=$((fail + 1))
	elif alarms=$(hv_alarms "$log" "$tag"); then
		echo "$p: PASS kernel-log"
		pass=$((pass + 1))
	else
		echo "$p: FAIL kernel-log: alarms:"
		echo "$alarms" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
	echo "$p: logs in $log and $out/files"
	echo "$p: $pass passed, $fail failed"
	[ $fail -eq 0 ]
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
