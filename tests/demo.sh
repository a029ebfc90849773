#!/usr/bin/env bash
# The main job on an embedded default:
#  1. what prepop decides for each bundled example guest on the bundled
#     example host, with the sample fleet policy;
#  2. the whole loop in the emulated hypervisor (tests/lib/hv.sh: Debian's
#     6.1 with nested KVM under QEMU TCG): libvirtd, prepopd and kvm_prepop,
#     on the demo policy (the sample with tests/demo/policy.jq's changes for a
#     small host).  Four KVM guests started through libvirt (tests/demo/guests):
#     eligible on 4K, eligible on 2M hugetlbfs, one with SMM on, one below the
#     thresholds.  prepopd decides and populates; then each guest runs a
#     first-touch workload (tests/demo/firsttouch.c) timed by its own clock;
#  3. a table, one row per guest: mode and reason, leaves mapped by size,
#     the stage-2 faults its workload took, the workload's time, the longest
#     vCPU hold; each row judged against the policy (tests/demo/summary.sh);
#  4. a clean exit: guests destroyed, prepopd stopped, kvm_prepop unloaded,
#     the emulated host powered off, its kernel log clean;
#  5. the module's fault-mode vs populate ratios in the testbed (bench).
# Progress goes to the terminal, one line per step with its time; every
# step's full output goes to one log directory (printed first), with the
# emulated host's console (console.log), the files it handed out (files/)
# and the table (summary.txt).  A failed step is named, with the last lines
# of its log, and the exit status is 1.
#   tests/demo.sh [LOG_DIR]
set -euo pipefail
# all of it in one block: bash reads it whole before running it, so an edit
# to this file during a run cannot change the run
{
cd "$(dirname "$0")/.."
SRC=$(pwd)
LOGS=${1:-$SRC/build/demo}
mkdir -p "$LOGS"
LOGS=$(cd "$LOGS" && pwd)
rm -rf "$LOGS"/*.log "$LOGS"/files "$LOGS"/summary.txt
echo "demo: logs in $LOGS"
exec 3>&1	# the terminal, for the progress of a step whose output goes to its log

nstep=0 LOG=
# step NAME CMD...: run CMD with its output in LOGS/NN-NAME.log; say how it went.
step() {
	local name=$1 t0 rc=0
	shift
	nstep=$((nstep + 1))
	LOG=$(printf '%s/%02d-%s.log' "$LOGS" "$nstep" "$name")
	printf 'demo: [%d] %s ...\n' "$nstep" "$name"
	t0=$(date +%s)
	"$@" >"$LOG" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		printf 'demo: [%d] %s FAILED (exit %d after %d s); the last lines of %s:\n' \
			"$nstep" "$name" "$rc" "$(($(date +%s) - t0))" "$LOG"
		tail -n 25 "$LOG" | sed 's/^/    /'
		exit 1
	fi
	printf 'demo: [%d] %s done in %d s\n' "$nstep" "$name" "$(($(date +%s) - t0))"
}

build() {
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF
	nice cmake --build build/release -j "$(nproc)"
}

ctl=build/release/ctl/prepopctl
decisions() {
	echo "== decisions (policy/policy.d, host policy/examples/host.json)"
	# the verdict line only; sed reads to the end, so the writer never gets SIGPIPE
	$ctl policy check policy/policy.d | sed -n 1p
	$ctl rollout --policy policy/policy.d --host-facts policy/examples/host.json
	for xml in policy/examples/domains/*.xml; do
		echo
		$ctl decide --policy policy/policy.d --host-facts policy/examples/host.json --domain-xml "$xml"
	done
}

# ---- the whole loop in the emulated hypervisor
. tests/lib/hv.sh
HV=$SRC/build/demo-hv
D=$SRC/tests/demo
# the demo policy: the sample's flavor files, its defaults.json through policy.jq
demo_policy() {
	rm -rf "$1" && mkdir -p "$1"
	cp policy/policy.d/*.json "$1/"
	jq -f "$D/policy.jq" policy/policy.d/defaults.json >"$1/defaults.json"
	$ctl policy check "$1" >/dev/null
}
hvbuild() {
	local ov=$HV/overlay
	mkdir -p "$HV"
	nice bash -c '. tests/lib/hv.sh && hv_userland "$1"' hv "$HV"
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -o "$HV/firsttouch" "$D/firsttouch.c" -lpthread
	install -m 755 "$D/init" "$ov/init"
	install -m 755 "$D/loop.sh" "$ov/prepop/loop.sh"
	cp "$D/guests" "$ov/prepop/guests"
	demo_policy "$ov/prepop/policy.d"
	hv_guest_initrd "$HV" "$D/guest-init" "$HV/firsttouch"
	hv_pack "$HV"
	echo "== the demo policy: the sample policy with these changes (tests/demo/policy.jq)"
	diff -u --label policy/policy.d/defaults.json --label demo/policy.d/defaults.json \
		<(jq . policy/policy.d/defaults.json) "$ov/prepop/policy.d/defaults.json" || true
}
# boot CONSOLE: one boot of the demo's emulated host; its progress as it comes
boot() {
	# 2M pages for the hugetlbfs guest; THP off, so the 4K guests are 4K-backed
	hv_run --smp 2 --mem 4096 --timeout 1500 --monitor "$HV/monitor.sock" "$HV/testbed/vmlinuz" "$HV/initramfs.cpio" \
		"console=ttyS0 quiet nokaslr panic=-1 oops=panic rdinit=/init transparent_hugepage=never hugepagesz=2M hugepages=200" \
		"$1" DEMO 'demo:     ' | while IFS= read -r l; do printf '%s\n' "$l"; printf '%s\n' "$l" >&3; done
}
CONSOLE=$LOGS/console.log
hvloop() {
	# its guests run side by side: Debian 13's QEMU (tests/lib/hv.sh, HV_QEMU)
	hv_qemu || return 1
	echo "the emulator: $HV_QEMU_VERSION"
	boot "$CONSOLE"
	# the emulator's own crash (tests/lib/hv.sh: hv_foreign_crash): once more
	hv_boot_again "$CONSOLE" DEMO "" && boot "$CONSOLE"
	hv_files "$CONSOLE" "$LOGS/files"
	if ! grep -aq '^DEMO: dmesg end' "$CONSOLE"; then
		echo "the emulated host did not finish; its console's last lines ($CONSOLE):"
		{ tr -d '\r' <"$CONSOLE" | grep -av '^HVFILE' || true; } | tail -n 20
		return 1
	fi
	grep -aq '^DEMO: loop exit 0' "$CONSOLE" || { echo "the loop failed:"; grep -a '^DEMO: FAILED' "$CONSOLE"; return 1; }
}
# a clean exit: every shutdown step, the kernel log
clean_exit() {
	local alarms
	cat "$LOGS/files/shutdown.txt"
	if grep -v ' ok' "$LOGS/files/shutdown.txt"; then
		return 1
	fi
	if ! alarms=$(hv_alarms "$CONSOLE" DEMO); then
		echo "kernel log alarms:"
		echo "$alarms"
		return 1
	fi
	echo "guests destroyed, prepopd stopped (exit 0), kvm_prepop unloaded, libvirtd stopped, powered off; kernel log clean"
}

step setup-deps bash tests/setup-deps.sh
step build build
step decisions decisions
cat "$LOG"
echo
step emulated-host-build hvbuild
sed -n '/^== the demo policy/,$p' "$LOG"
echo
step whole-loop hvloop
step summary bash "$D/summary.sh" "$LOGS/files" "$LOGS/summary.txt"
echo "== one row per guest (also in $LOGS/summary.txt); faults: KVM's pf_fixed over the workload"
cat "$LOGS/summary.txt"
echo
step clean-exit clean_exit
tail -n 1 "$LOG" | sed 's/^/demo:     /'
echo
step testbed-bench bash tests/testbed/run.sh --mode bench --out build/testbed
echo "== kvm_prepop in the testbed"
grep -E '^(bench|testbed):' "$LOG" || { echo "demo: the benchmark printed no figures"; exit 1; }
echo "demo: ok"
exit
}
