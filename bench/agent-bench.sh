#!/usr/bin/env bash
# prepopd's benchmark (not a test): resync of N domains held by libvirt's
# test driver, event → decision latency over those decisions, RSS, and
# wake-ups per minute when idle.  Targets: resync <= 2 s for 1,000 domains,
# p99 <= 1 ms, RSS <= 16 MiB, no periodic wake-ups beyond the watchdog.
#   bench/agent-bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
bash tests/setup-deps.sh >/dev/null
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" >/dev/null
T=$(mktemp -d)
trap 'kill $PID 2>/dev/null; rm -rf "$T"' EXIT

{
	echo "<node>"
	for i in $(seq -w 1 "$N"); do
		printf "<domain type='test'><name>bench-%s</name><memory unit='GiB'>4</memory><vcpu>8</vcpu><os><type>hvm</type></os></domain>\n" "$i"
	done
	echo "</node>"
} >"$T/node.xml"
mkdir -p "$T/state"
t0=$(date +%s%N)
build/release/prepopd/prepopd -u "test://$T/node.xml" -p policy/policy.d \
	-H policy/examples/host.json -s "$T/state" -o 2>"$T/agent.log" &
PID=$!
until [ -f "$T/state/status.json" ] &&
	[ "$(jq "[.connected, (.domains | length)] == [true, $N]" "$T/state/status.json" 2>/dev/null)" == true ]; do
	sleep 0.01
	kill -0 $PID 2>/dev/null || { cat "$T/agent.log"; exit 1; }
done
t1=$(date +%s%N)
resync_ms=$(((t1 - t0) / 1000000))
lat=$(jq -c .event_to_decision "$T/state/status.json")
rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
pss=$(awk '/^Pss:/ {print $2}' /proc/$PID/smaps_rollup)
dirty=$(awk '/^Private_Dirty:/ {print $2}' /proc/$PID/smaps_rollup)
switches() { cat /proc/$PID/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
s0=$(switches)
sleep ${IDLE_SECONDS:-30}
s1=$(switches)
echo "bench: agent: $N domains (libvirt test driver), observe-only"
echo "bench: agent: start to resynced: $resync_ms ms (target <= 2000 for 1000)"
echo "bench: agent: event->decision: $lat (target p99 <= 1000 us)"
echo "bench: agent: RSS $((rss / 1024)) MiB, peak $((hwm / 1024)) MiB, PSS $((pss / 1024)) MiB, private dirty $((dirty / 1024)) MiB (target RSS <= 16 MiB; the test driver's domains live in this process)"
echo "bench: agent: idle wake-ups: $(((s1 - s0) * 2)) per minute (no watchdog configured; target 0)"
