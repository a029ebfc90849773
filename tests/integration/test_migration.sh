#!/usr/bin/env bash
# Live migration between two libvirt hosts on this machine (network
# namespaces joined by a veth pair), an agent on each: a successful pre-copy
# and a cancelled one (bandwidth cap + domjobabort) land each agent in the
# right state, and a post-copy one puts the destination in fault mode until it
# completes.  TCG guests, so every decision is fault/not-kvm: what is
# checked is what each agent believes happened.
#   test_migration.sh PREPOPD PREPOPCTL SOURCE_DIR
set -u
PREPOPD=$1 CTL=$2 SRC=$3
T=$(mktemp -d /tmp/pp-mig-XXXXXX)
NA=ppmigA$$ NB=ppmigB$$
A=10.251.$(($$ % 200)).1 B=10.251.$(($$ % 200)).2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
cleanup() {
	touch "$T/A/stop" "$T/B/stop"
	sleep 2
	ip netns del "$NA" 2>/dev/null
	ip netns del "$NB" 2>/dev/null
}
trap cleanup EXIT

ip netns add "$NA" && ip netns add "$NB" || { echo "cannot create network namespaces"; exit 1; }
ip link add "va$$" netns "$NA" type veth peer name "vb$$" netns "$NB"
ip -n "$NA" addr add "$A/24" dev "va$$" && ip -n "$NA" link set "va$$" up && ip -n "$NA" link set lo up
ip -n "$NB" addr add "$B/24" dev "vb$$" && ip -n "$NB" link set "vb$$" up && ip -n "$NB" link set lo up
cp -r "$SRC/policy/policy.d" "$T/policy"
for h in A B; do
	mkdir -p "$T/$h"
	ns=$NA addr=$A
	[ $h == B ] && ns=$NB addr=$B
	ip netns exec "$ns" unshare -m -u --propagation private \
		bash "$SRC/tests/integration/migration-host.sh" "host$h" "$addr" "$T/$h" "$PREPOPD" "$T/policy" "$SRC" \
		>"$T/$h/host.log" 2>&1 &
done
for _ in $(seq 200); do [ -e "$T/A/ready" ] && [ -e "$T/B/ready" ] && break; sleep 0.1; done
[ -e "$T/A/ready" ] && [ -e "$T/B/ready" ] || { cat "$T"/*/host.log; exit 1; }

VA="ip netns exec $NA virsh -q -c qemu+tcp://$A/system"
st() { "$CTL" status --state-dir "$T/$1/state" --json 2>/dev/null; }
wait_for() { # HOST JQ-EXPR [tries]
	for _ in $(seq "${3:-150}"); do
		[ "$(st "$1" | jq -r "$2" 2>/dev/null)" == "true" ] && return 0
		sleep 0.1
	done
	return 1
}
dom() { st "$1" | jq -c "[.domains[] | select(.name == \"$2\")][0] | $3"; }
wait_for A '.connected' && wait_for B '.connected' && ok || bad "agents not connected"

. "$SRC/tests/integration/libvirt-host.sh"
# 1 GiB of (untouched, zero) RAM: at a 1 MiB/s cap a pre-copy takes seconds,
# long enough to abort it or switch it to post-copy
guest_xml m1 "" 1024 >"$T/m1.xml"
$VA create "$T/m1.xml" >/dev/null || bad "create m1 on A"
wait_for A '[.domains[] | select(.name == "m1" and .state == "settled")] | length == 1' && ok || bad "m1 not settled on A"

# a successful live pre-copy A -> B
$VA migrate --live --p2p m1 "qemu+tcp://$B/system" --migrateuri "tcp://$B" || bad "migrate m1"
wait_for A '[.domains[] | select(.name == "m1")] | length == 0' && ok || bad "A did not forget m1: $(dom A m1 .)"
wait_for B '[.domains[] | select(.name == "m1" and .state == "settled")] | length == 1' && ok || bad "B does not have m1 settled: $(dom B m1 .)"
expect "B decided m1 once, after it resumed" "$(dom B m1 '[.decisions, .reason]')" '[1,"not-kvm"]'

# a cancelled pre-copy B -> A: capped bandwidth, then domjobabort
VB="ip netns exec $NB virsh -q -c qemu+tcp://$B/system"
$VB migrate-setspeed m1 1 >/dev/null
$VB migrate --live --p2p m1 "qemu+tcp://$A/system" --migrateuri "tcp://$A" >"$T/mig2.log" 2>&1 &
MIG=$!
wait_for B '[.domains[] | select(.name == "m1" and .state == "migrating-out")] | length == 1' 300 && ok ||
	bad "B did not see the outgoing migration: $(dom B m1 .)"
wait_for A '[.domains[] | select(.name == "m1" and .state == "wait-incoming")] | length == 1' && ok ||
	bad "A did not see the incoming migration wait: $(dom A m1 .)"
# the loop never waits on libvirt: with B's libvirtd stopped, every answer
# hangs (as a job query does behind a libvirt job); the job watch's query is
# out on its thread, and B's agent still reloads at once.  (QEMU is stopped
# too, so that the migration is still there to abort afterwards.)
QPID=$(cat "$T/B/host/run/libvirt/qemu/m1.pid")
LPID=$(cat "$T/B/libvirtd.pid")
kill -STOP "$QPID"
kill -STOP "$LPID"
sleep 3	# the watch asks every second: a query is out and stuck by now
expect "B has a libvirt query out" "$(st B | jq '.threads_out > 0')" true
GEN=$(st B | jq .policy.generation)
kill -HUP "$(cat "$T/B/agent.pid")"
wait_for B ".policy.generation == $((GEN + 1))" 20 && ok || bad "B's agent did not reload within 2 s while libvirt did not answer"
expect "B's query still out" "$(st B | jq '.threads_out > 0')" true
kill -CONT "$LPID"
kill -CONT "$QPID"
wait_for B '.threads_out == 0' && ok || bad "B's libvirt query did not come back: $(st B | jq -c .threads_out)"
$VB domjobabort m1 >/dev/null || bad "domjobabort"
wait $MIG && bad "the capped migration succeeded" || ok
# the source gets no event for a cancelled pre-copy; the job watch finds it
wait_for B '[.domains[] | select(.name == "m1" and .state == "settled" and .decisions == 2)] | length == 1' && ok ||
	bad "B did not re-decide m1 after the failed migration: $(dom B m1 .)"
wait_for A '[.domains[] | select(.name == "m1")] | length == 0' && ok || bad "A kept the failed incoming m1: $(dom A m1 .)"
expect "m1 still runs on B" "$($VB domstate m1)" running

# post-copy B -> A: a capped pre-copy switched to post-copy.  A must stay in
# fault mode (reason postcopy) while pages arrive by userfaultfd, and decide
# only once post-copy has completed.
$VB migrate-setspeed m1 1 >/dev/null
$VB migrate --live --p2p --postcopy --postcopy-bandwidth 1000 m1 "qemu+tcp://$A/system" \
	--migrateuri "tcp://$A" >"$T/mig3.log" 2>&1 &
MIG=$!
wait_for B '[.domains[] | select(.name == "m1" and .state == "migrating-out")] | length == 1' 300 && ok ||
	bad "B did not see the outgoing post-copy migration: $(dom B m1 .)"
$VB migrate-postcopy m1 || bad "migrate-postcopy"
wait $MIG && ok || bad "post-copy migration failed: $(cat "$T/mig3.log")"
wait_for A '[.domains[] | select(.name == "m1" and .state == "settled")] | length == 1' && ok ||
	bad "A not settled after post-copy: $(dom A m1 .)"
grep -q "m1: post-copy migration is running" "$T/A/agent.log" && ok || bad "A never entered post-copy fault mode"
expect "A decided once, after post-copy completed" "$(dom A m1 '[.decisions, .reason]')" '[1,"not-kvm"]'
wait_for B '[.domains[] | select(.name == "m1")] | length == 0' && ok || bad "B kept m1: $(dom B m1 .)"
grep -q "Domain not found" "$T/B/agent.log" && bad "libvirt's own error printing leaks into the log" || ok

echo "integration migration: $pass passed, $fail failed"
[ $fail -eq 0 ]
