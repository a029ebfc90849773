#!/bin/bash
# The demo's whole loop, run by its /init inside the emulated hypervisor
# (libvirtd up, kvm_prepop loaded; tests/lib/hvhost.sh):
#  1. prepopd on the demo policy (/prepop/policy.d);
#  2. the guests of /prepop/guests started through libvirt: those the policy
#     leaves in fault mode together, then the others one by one, each up and
#     settled (prepopd decided; its populate, if any, over) before the next
#     starts; their serial ports on ptys (commands in, a log out);
#  3. in each guest in turn, the first-touch workload (firsttouch.c), with
#     KVM's per-VM stats before and after;
#  4. a clean shutdown: guests destroyed, prepopd stopped (exit 0), kvm_prepop
#     unloaded, libvirtd stopped.
# Progress as "DEMO: ..." on the console; the figures in files under /tmp
# that /init hands out (tests/demo/summary.sh judges them on the host):
# status.json (prepopd's status once all settled), kvm-NAME-before.txt and
# kvm-NAME-after.txt (the guest's KVM stats around its workload), NAME.log
# (its console, with the workload's FIRSTTOUCH line), kvm_prepop-stats.txt,
# shutdown.txt ("step ok|FAILED detail" per shutdown step).
# Exit status 0 if every step ran; the verdict on the figures is the host's.
set -u
HV_SAY=DEMO
. /prepop/lib/hvhost.sh
SETTLE_S=$(($(jq .populate.boot_delay_ms /prepop/policy.d/defaults.json) / 1000 + 420))
UP_S=300 TOUCH_S=300
mapfile -t GUESTS < <(grep -v '^#' /prepop/guests | awk 'NF { print $1, $2, $3, $4, $5 }')
t0=$(date +%s)
since() { echo "$(($(date +%s) - t0)) s"; }
fail() { say "FAILED: $*"; FAILED=1; }
FAILED=0

# KVM's per-VM stats of a guest, "name value" per line (the stage-2 leaves,
# the page-fault counters), read at once
kvm_stats() {
	local d
	d=$(kvm_dir "$1") || { echo "kvm_dir none"; return; }
	echo "kvm_dir $d"
	(cd "$d" && grep -s '' pages_4k pages_2m pages_1g pf_* | tr : ' ')
}
up() { grep -aq '^GUEST UP' /tmp/$1.log 2>/dev/null; }
touched() { grep -aq '^FIRSTTOUCH' /tmp/$1.log 2>/dev/null; }
# settled: decided, and a populate (if any) over
settled() {
	local j
	j=$(agent "$1")
	[ -n "$j" ] && [ "$(echo "$j" | jq -r '.state == "settled" and .mode != null and
		(.mode == "fault" or .populate.phase == "finished")')" = true ]
}

say "loop: prepopd on the demo policy; hold ceiling max_hold_ms=$(cat /sys/module/kvm_prepop/parameters/max_hold_ms)"
prepopd_start || { fail "prepopd did not start"; exit 1; }
say "prepopd: $(/prepop/prepopctl status | sed -n 1p)"

# start_guest NAME MIB BACKING SMM [MODE]: virsh create; its pty in /tmp/NAME.pty
start_guest() {
	local opts=pty pty
	[ "$3" = 2m ] && opts="$opts hugepages"
	[ "$4" = on ] && opts="$opts smm"
	# shellcheck disable=SC2086
	hvh_guest_xml "$1" "$2" $opts >/tmp/$1.xml
	if ! virsh -q create /tmp/$1.xml >/dev/null 2>/tmp/$1.create.err; then
		fail "virsh create $1: $(tr -s '\n' ' ' </tmp/$1.create.err)"
		return 1
	fi
	pty=$(virsh -q ttyconsole "$1")
	echo "$pty" >/tmp/$1.pty
	# keep the pty's other end open and drained: QEMU then reads what we send
	# and never waits on the guest's output (which it logs to /tmp/NAME.log)
	cat "$pty" >/dev/null 2>&1 &
	say "started $1: $2 MiB, ${3^^} backing, SMM $4; serial on $pty ($(since))"
}

# ready NAME: wait until the guest is up and settled; say so
ready() {
	waitfor $UP_S up "$1" || fail "$1: no GUEST UP on its console after $UP_S s"
	waitfor "$SETTLE_S" settled "$1" || fail "$1: not settled after $SETTLE_S s: $(agent_says "$1")"
	say "  $1: up and settled ($(since)): $(agent "$1" | jq -r '"\(.mode) (\(.reason))" + (if .populate then
		", populate \(.populate.stop // .populate.phase): \(.populate.mapped_4k) 4K + \(.populate.mapped_2m) 2M leaves in \(.populate.slices) slices, longest hold \(.populate.max_hold_ns / 1000 | floor) µs" else "" end)')"
}
# The guests the policy leaves in fault mode first, then the ones it
# populates; one at a time, each up and settled before the next starts: two
# nested guests booting at once is when QEMU TCG kills the emulated host (a
# stack-guard panic in a new guest's vCPU thread), and on this host's 2 CPUs
# a guest booting next to a populate keeps its vCPUs from being taken in
# time (-EBUSY).
NAMES=()
for want in fault prepopulate; do
	for line in "${GUESTS[@]}"; do
		read -r name _ _ _ mode <<<"$line"
		[ "$mode" = "$want" ] || continue
		# shellcheck disable=SC2086
		start_guest $line || continue
		NAMES+=("$name")
		ready "$name"
	done
done
[ ${#NAMES[@]} -eq ${#GUESTS[@]} ] || fail "not every guest started"
/prepop/prepopctl status --json >/tmp/status.json
/prepop/prepopctl status >/tmp/status.txt

# the workload, one guest at a time, in the list's order
for line in "${GUESTS[@]}"; do
	g=${line%% *}
	[[ " ${NAMES[*]} " = *" $g "* ]] || continue
	kvm_stats "$g" >/tmp/kvm-$g-before.txt
	w0=$(date +%s)
	if ! printf 'touch\n' >"$(cat /tmp/$g.pty)"; then
		fail "$g: cannot write to its serial port"
		continue
	fi
	if waitfor $TOUCH_S touched "$g"; then
		kvm_stats "$g" >/tmp/kvm-$g-after.txt
		say "  $g: $(grep -a '^FIRSTTOUCH' /tmp/$g.log | tr -d '\r'), $(($(date +%s) - w0)) s on the host's clock ($(since))"
	else
		fail "$g: no FIRSTTOUCH on its console after $TOUCH_S s; its last lines: $(tr -d '\r' </tmp/$g.log | tail -n 3 | tr '\n' '|')"
	fi
done
cat /sys/kernel/debug/kvm_prepop/stats >/tmp/kvm_prepop-stats.txt

# a clean shutdown, each step in shutdown.txt
: >/tmp/shutdown.txt
sd() {	# STEP OK? DETAIL
	echo "$1 $2 ${3:-}" >>/tmp/shutdown.txt
	[ "$2" = ok ] || fail "shutdown: $1: ${3:-}"
}
for g in "${NAMES[@]}"; do
	if timeout 90 virsh -q destroy "$g" >/dev/null 2>&1 && waitfor 30 eval "! virsh -q domstate $g >/dev/null 2>&1"; then
		sd "destroy-$g" ok
	else
		sd "destroy-$g" FAILED "$(virsh -q domstate "$g" 2>&1)"
	fi
done
if prepopd_stop; then sd prepopd-stop ok "$STOPPED"; else sd prepopd-stop FAILED "$STOPPED"; fi
if out=$(rmmod kvm_prepop 2>&1); then sd rmmod-kvm_prepop ok; else sd rmmod-kvm_prepop FAILED "$out"; fi
lv=$(pidof libvirtd)
if [ -n "$lv" ] && kill -TERM $lv && waitfor 30 eval "! alive $lv"; then
	sd libvirtd-stop ok
else
	sd libvirtd-stop FAILED "libvirtd ${lv:-not running}"
fi
say "shut down: $(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' /tmp/shutdown.txt) ($(since))"
exit $FAILED
