#!/usr/bin/env bash
# kvm_prepop's benchmark in the testbed: prints ratios (not a test).
#   bench/testbed-bench.sh [--smp N]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup-deps.sh >/dev/null
exec bash tests/testbed/run.sh --mode bench "$@"
