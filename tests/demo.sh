#!/usr/bin/env bash
# The main job on an embedded default: what prepop decides for each bundled
# example guest on the bundled example host, with the sample fleet policy.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-deps.sh >/dev/null
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)" >/dev/null

ctl=build/release/agent/prepopctl
$ctl policy check policy/policy.d | head -1
$ctl rollout --policy policy/policy.d --host-facts policy/examples/host.json
for xml in policy/examples/domains/*.xml; do
	echo
	$ctl decide --policy policy/policy.d --host-facts policy/examples/host.json --domain-xml "$xml"
done
