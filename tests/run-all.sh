#!/usr/bin/env bash
# The test command: install what is needed, build, run every tier we can.
#   unit + cli   gcc, ASan+UBSan (build/asan)
#   fuzz         clang libFuzzer, a fixed time per target (build/fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-deps.sh

jobs=$(nproc)
cmake -S . -B build/asan -DPREPOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build/asan -j "$jobs"

CC=clang cmake -S . -B build/fuzz -DPREPOP_FUZZ=ON -DPREPOP_TESTS=OFF \
	-DPP_FUZZ_SECONDS="${PP_FUZZ_SECONDS:-20}"
cmake --build build/fuzz -j "$jobs"

# One ctest run over both trees would need a superbuild; run them in turn and
# fail if either fails.  The unit tier's summary comes last.
(cd build/fuzz && ctest --output-on-failure -L fuzz)
(cd build/asan && ctest --output-on-failure -j "$jobs")
