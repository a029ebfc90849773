#!/usr/bin/env bash
# The main job on an embedded default:
#  1. what prepop decides for each bundled example guest on the bundled
#     example host, with the sample fleet policy;
#  2. the module at work in the testbed (an emulated hypervisor running
#     Debian's 6.1 with nested KVM): guests on 4K, THP and 2M hugetlbfs
#     touching their RAM in fault mode vs after populate, as ratios.
# Progress goes to the terminal, one line per step with its time; every
# step's full output goes to one log directory (printed first).  A failed
# step is named, with the last lines of its log, and the exit status is 1.
#   tests/demo.sh [LOG_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
LOGS=${1:-$SRC/build/demo}
mkdir -p "$LOGS"
LOGS=$(cd "$LOGS" && pwd)
rm -f "$LOGS"/*.log
echo "demo: logs in $LOGS"

nstep=0
# step NAME CMD...: run CMD with its output in LOGS/NN-NAME.log; say how it went.
step() {
	local name=$1 log t0 rc=0
	shift
	nstep=$((nstep + 1))
	log=$(printf '%s/%02d-%s.log' "$LOGS" "$nstep" "$name")
	printf 'demo: [%d] %s ...\n' "$nstep" "$name"
	t0=$(date +%s)
	"$@" >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		printf 'demo: [%d] %s FAILED (exit %d after %d s); the last lines of %s:\n' \
			"$nstep" "$name" "$rc" "$(($(date +%s) - t0))" "$log"
		tail -n 25 "$log" | sed 's/^/    /'
		exit 1
	fi
	printf 'demo: [%d] %s done in %d s\n' "$nstep" "$name" "$(($(date +%s) - t0))"
}

build() {
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF
	cmake --build build/release -j "$(nproc)"
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

step setup-deps bash tests/setup-deps.sh
step build build
step decisions decisions
cat "$LOGS/$(printf %02d $nstep)-decisions.log"
echo
step testbed-bench bash tests/testbed/run.sh --mode bench --out build/testbed
echo "== kvm_prepop in the testbed"
grep -E '^(bench|testbed):' "$LOGS/$(printf %02d $nstep)-testbed-bench.log" ||
	{ echo "demo: the benchmark printed no figures"; exit 1; }
echo "demo: ok"
