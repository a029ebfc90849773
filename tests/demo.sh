#!/usr/bin/env bash
# The main job on an embedded default:
#  1. what prepop decides for each bundled example guest on the bundled
#     example host, with the sample fleet policy;
#  2. the module at work in the testbed (an emulated hypervisor running
#     Debian's 6.1 with nested KVM): guests on 4K, THP and 2M hugetlbfs
#     touching their RAM in fault mode vs after populate, as ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-deps.sh >/dev/null
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" >/dev/null

ctl=build/release/agent/prepopctl
echo "== decisions (policy/policy.d, host policy/examples/host.json)"
$ctl policy check policy/policy.d | head -1
$ctl rollout --policy policy/policy.d --host-facts policy/examples/host.json
for xml in policy/examples/domains/*.xml; do
	echo
	$ctl decide --policy policy/policy.d --host-facts policy/examples/host.json --domain-xml "$xml"
done
echo
echo "== kvm_prepop in the testbed"
bash tests/testbed/run.sh --mode bench --out build/testbed | grep -E '^(bench|testbed):'
