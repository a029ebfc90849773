#!/usr/bin/env bash
# prepopd's metrics file and the host facts it decides from, end to end.
# KVM guests held by libvirt's test driver (QEMU cannot run one here) on a
# host whose /proc and /sys are a fake tree (PREPOP_HOST_ROOT): huge page
# pools, KSM merging, RAM; every fallback that reads them decides a guest,
# and the metrics file says so.  Then a real libvirtd with TCG guests: a
# guest's series go when the guest goes, a libvirtd restart is a reconnect,
# a refused reload is counted, and a stopped prepopd leaves no file.
#   test_metrics.sh PREPOPD PREPOPCTL SOURCE_DIR
set -u
if [ -z "${PP_IN_NS:-}" ]; then
	exec env PP_IN_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
PREPOPD=$1 CTL=$2 SRC=$3
T=$(mktemp -d /tmp/pp-metrics-XXXXXX)
. "$SRC/tests/integration/libvirt-host.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
AGENT=
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	for d in $(virsh -c qemu:///system list --name 2>/dev/null); do virsh -c qemu:///system destroy "$d" >/dev/null 2>&1; done
	host_stop
	rm -rf "$T"
}
trap cleanup EXIT
PROM=$T/prom/prepop.prom
mkdir -p "$T/prom"
echo "{ \"metrics_file\": \"$PROM\" }" >"$T/prepopd.conf"
cp -r "$SRC/policy/policy.d" "$T/policy"
echo '{ "host_id": "test-host-1", "groups": ["canary"] }' >"$T/host.json"

# wait_prom SECONDS GREP-ARGS...: until the metrics file matches (written 0.5 s after a
# decision or a guest gone, and every 10 s)
wait_prom() {
	local s=$1
	shift
	for _ in $(seq $((s * 10))); do
		[ -f "$PROM" ] && grep -q "$@" "$PROM" && return 0
		sleep 0.1
	done
	return 1
}
decision() { # NAME MODE REASON: the guest's current-decision series
	printf 'prepop_guest_decision{domain="%s",uuid="[^"]*",flavor="[^"]*",mode="%s",reason="%s"} 1' "$1" "$2" "$3"
}

# ---- the host's own facts: a fake tree
R=$T/root
fake_host() { # MEMTOTAL_GIB
	mkdir -p "$R/proc" "$R/sys/kernel/mm/hugepages/hugepages-2048kB" "$R/sys/kernel/mm/ksm"
	printf 'MemTotal:       %d kB\nHugepagesize:       2048 kB\n' $(($1 * 1024 * 1024)) >"$R/proc/meminfo"
	# 32 GiB of 2 MiB pages, 16 GiB of them held by hp1
	echo 16384 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	echo 8192 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
	echo 0 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages"
	echo 1 >"$R/sys/kernel/mm/ksm/run"
}
kvm() { # NAME GIB EXTRA-OS EXTRA-TOP EXTRA-DEVICES
	printf "<domain type='kvm'><name>%s</name><memory unit='GiB'>%s</memory><vcpu>16</vcpu>%s
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><features><smm state='%s'/></features>
  <devices>%s<memballoon model='none'/></devices></domain>\n" "$1" "$2" "$4" "$3" "$5"
}
{
	echo "<node>"
	kvm small 16 off "" ""
	kvm noshare 16 off "<memoryBacking><nosharepages/></memoryBacking>" ""
	kvm smm1 16 on "" ""
	kvm hp1 16 off "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>" ""
	kvm pmem1 16 off "<maxMemory slots='2' unit='GiB'>64</maxMemory><cpu><numa><cell id='0' cpus='0-15' memory='12' unit='GiB'/></numa></cpu>" \
		"<memory model='nvdimm'><source><path>$T/pmem1.img</path></source><target><size unit='GiB'>4</size><node>0</node></target></memory>"
	kvm vmem1 16 off "<maxMemory slots='2' unit='GiB'>64</maxMemory><cpu><numa><cell id='0' cpus='0-15' memory='8' unit='GiB'/></numa></cpu>" \
		"<memory model='virtio-mem'><target><size unit='GiB'>8</size><node>0</node><block unit='MiB'>2</block><requested unit='GiB'>2</requested></target></memory>"
	echo "</node>"
} >"$T/node.xml"
start_test_driver() {
	PREPOP_HOST_ROOT=$R "$PREPOPD" -c "$T/prepopd.conf" -u "test://$T/node.xml" -p "$T/policy" -H "$T/host.json" \
		-s "$T/kvm-state" -L "$T/kvm-lib" -o 2>>"$T/agent-kvm.log" &
	AGENT=$!
}
stop_agent() {
	kill -TERM "$AGENT"
	wait "$AGENT"
	expect "prepopd stopped cleanly" $? 0
	AGENT=
}

# 256 GiB: room for every guest; KSM merging; the 2 MiB pool half used
fake_host 256
start_test_driver
wait_prom 5 "$(decision vmem1 fault virtio-mem)" && ok || bad "no decisions in $PROM: $(cat "$PROM" "$T/agent-kvm.log" 2>&1)"
for want in "small fault ksm" "noshare prepopulate eligible" "smm1 fault smm" "hp1 prepopulate eligible" \
	"pmem1 fault file-backed" "vmem1 fault virtio-mem"; do
	set -- $want
	grep -q "$(decision "$1" "$2" "$3")" "$PROM" && ok || bad "$1: no $2 ($3) series: $(grep "domain=\"$1\"" "$PROM" | grep decision)"
done
grep -qx 'prepop_guests{mode="fault",reason="ksm"} 1' "$PROM" && ok || bad "host gauge: $(grep '^prepop_guests' "$PROM")"
grep -qx 'prepop_guests{mode="prepopulate",reason="eligible"} 2' "$PROM" && ok || bad "host gauge eligible"
grep -qx 'prepop_decisions_total{mode="fault",reason="file-backed"} 1' "$PROM" && ok || bad "decisions counter"
grep -qx 'prepop_policy_reload_failures_total 0' "$PROM" && ok || bad "reload failures"
grep -q '^prepop_guest_vcpu_hold_seconds_bucket{domain="small",uuid="[^"]*",flavor="",le="+Inf"} 0$' "$PROM" && ok || bad "hold histogram"
[ ! -e "$PROM.tmp" ] && ok || bad "a temporary file was left behind"
# the rule chain through explain: what the overcommit check weighed
out=$("$CTL" explain hp1 --state-dir "$T/kvm-state" --json)
expect "hp1 weighed against its pool" "$(jq -r '.decision.rules[] | select(.rule == "overcommit") | .detail' <<<"$out")" \
	"guests on 2 MiB pages take 16 GiB of that pool's 32 GiB (0.50x), within the policy's 1.00x"
stop_agent
[ ! -e "$PROM" ] && ok || bad "a stopped prepopd left $PROM"

# 48 GiB: the pool takes 32, so the small-page guests (every running guest,
# libvirt's view, less what the pool serves: 80 GiB) have 16; hp1 still fits
fake_host 48
start_test_driver
wait_prom 5 "$(decision small fault overcommit)" && ok || bad "small not overcommitted: $(grep decision "$PROM")"
grep -q "$(decision noshare fault overcommit)" "$PROM" && ok || bad "noshare not overcommitted"
grep -q "$(decision hp1 prepopulate eligible)" "$PROM" && ok || bad "hp1 should fit its pool"
out=$("$CTL" explain small --state-dir "$T/kvm-state" --json)
expect "overcommit explained" "$(jq -r .decision.explanation <<<"$out")" \
	"guests on small pages take 80 GiB of 16 GiB (5.00x): RAM 48 GiB - huge page pools 32 GiB - reserve 0 B, above the policy's 1.00x"
"$CTL" explain small --state-dir "$T/kvm-state" >"$T/explain-overcommit.txt" 2>&1
stop_agent

# ---- a real libvirtd with TCG guests
host_setup "$T/host"
host_start || exit 1
V="virsh -q -c qemu:///system"
"$PREPOPD" -c "$T/prepopd.conf" -u qemu:///system -p "$T/policy" -H "$T/host.json" -s "$T/state" -L "$T/lib" -o 2>"$T/agent.log" &
AGENT=$!
guest_xml m1 >"$T/m1.xml"
guest_xml m2 >"$T/m2.xml"
$V create "$T/m1.xml" >/dev/null || bad "virsh create m1"
$V create "$T/m2.xml" >/dev/null || bad "virsh create m2"
wait_prom 15 "$(decision m2 fault not-kvm)" && ok || bad "no m2 series: $(cat "$PROM" "$T/agent.log" 2>&1 | tail -20)"
grep -q "$(decision m1 fault not-kvm)" "$PROM" && ok || bad "no m1 series"
grep -qx 'prepop_guests{mode="fault",reason="not-kvm"} 2' "$PROM" && ok || bad "two not-kvm guests"
# a guest that goes takes its series with it
$V destroy m1 >/dev/null
wait_prom 15 -x 'prepop_guests{mode="fault",reason="not-kvm"} 1' && ok || bad "m1 gone, still counted"
grep -q 'domain="m1"' "$PROM" && bad "m1's series outlived it: $(grep 'domain="m1"' "$PROM")" || ok
# libvirtd restarts: one reconnect
host_restart || bad "libvirtd restart"
wait_prom 40 -x 'prepop_libvirt_reconnects_total 1' && ok || bad "no reconnect counted: $(grep reconnects "$PROM")"
# a bad policy: refused, counted
echo '{ "mode": "sometimes" }' >"$T/policy/defaults.json"
kill -HUP "$AGENT"
wait_prom 15 -x 'prepop_policy_reload_failures_total 1' && ok || bad "refused reload not counted"
stop_agent
[ ! -e "$PROM" ] && ok || bad "a stopped prepopd left $PROM"

echo "integration metrics: $pass passed, $fail failed"
[ $fail -eq 0 ]
