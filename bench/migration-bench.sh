#!/usr/bin/env bash
# The migration benchmark (docs/migration.md), not a test: in the migration
# tier's emulated hypervisor (tests/migration/run.sh, scenario "bench"), a
# 2-vCPU guest writes all of its 256 MiB buffer right after boot and right
# after a live pre-copy migration, on 4K and on 2M hugetlbfs backing, once
# with both hosts' prepopd in dry run (fault mode) and once populating.  One
# run each; prints the figures and their ratios (TCG inflates absolute
# times), the cost per stage-2 fault and per populated leaf on the emulated
# host.  --early adds the experiment (a populate during the incoming
# migration, scenarios early and early-suspend).
#   bench/migration-bench.sh [--kernel 6.1|6.12|7] [--module-args k=v,...] [--early] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
KERNEL=6.1 ONLY=bench OUT= ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) KERNEL=$2; ARGS+=(--kernel "$2"); shift 2 ;;
	--module-args) ARGS+=(--module-args "$2"); shift 2 ;;
	--early) ONLY=early,early-suspend,bench; shift ;;
	-*) echo "migration-bench.sh: unknown option $1" >&2; exit 2 ;;
	*) OUT=$1; shift ;;
	esac
done
OUT=${OUT:-build/migration-bench-$KERNEL}
bash tests/setup-deps.sh >/dev/null
bash tests/migration/run.sh "$OUT" --only "$ONLY" "${ARGS[@]}" || true

# the figures: "FIG bench backing=B mode=fault|populated key=value ..."
tr -d '\r' <"$OUT/console.log" | awk '
function f(b, m, k) { return v[b, m, k] + 0 }
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
/^MIGRATION: FIG bench / {
	b = ""; m = ""
	for (i = 4; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "backing") b = kv[2]
		else if (kv[1] == "mode") m = kv[2]
	}
	for (i = 4; i <= NF; i++) { split($i, kv, "="); v[b, m, kv[1]] = kv[2] }
	if (!(b in seen)) order[++nb] = b
	seen[b] = 1
}
/^MIGRATION: FIG early/ { sub(/^MIGRATION: FIG /, ""); early[++ne] = $0 }
END {
	printf "%-4s %-6s %10s %8s %10s %8s %9s %10s %9s %10s\n", "", "", "boot ms", "faults",
		"migr. ms", "faults", "downtime", "hold ms", "max hold", "gap ms"
	for (bi = 1; bi <= nb; bi++) for (mi = 1; mi <= 2; mi++) {
		b = order[bi]
		m = mi == 1 ? "fault" : "populated"
		printf "%-4s %-6s %10.1f %8d %10.1f %8d %9d %10.1f %9.1f %10s\n", b, substr(m, 1, 6),
			f(b, m, "boot_ms"), f(b, m, "boot_faults"), f(b, m, "mig_ms"), f(b, m, "mig_faults"),
			f(b, m, "downtime_ms"), f(b, m, "mig_populate_ns") / 1e6, f(b, m, "mig_max_hold_ns") / 1e6,
			v[b, m, "gap_ms"]
	}
	print ""
	for (bi = 1; bi <= nb; bi++) {
		b = order[bi]
		if (!(b in seen)) continue
		P = "populated"; F = "fault"
		printf "%s: write of all RAM, fault mode / populated: after boot %s (faults %d / %d), after migration %s (faults %d / %d); downtime populated / fault %s\n",
			b, ratio(f(b, F, "boot_ms"), f(b, P, "boot_ms")), f(b, F, "boot_faults"), f(b, P, "boot_faults"),
			ratio(f(b, F, "mig_ms"), f(b, P, "mig_ms")), f(b, F, "mig_faults"), f(b, P, "mig_faults"),
			ratio(f(b, P, "downtime_ms"), f(b, F, "downtime_ms"))
		# 2 vCPUs write in parallel, each takes half the faults
		df = f(b, F, "mig_faults") - f(b, P, "mig_faults")
		if (df > 0)
			printf "%s: per stage-2 fault (after migration, one vCPU): %.1f us; per populated leaf (one worker of 2): %.1f us; populate in the kernel after migration %.1f ms for %d leaves\n",
				b, (f(b, F, "mig_ms") - f(b, P, "mig_ms")) * 1000 * 2 / df,
				(f(b, P, "mig_leaves") > 0 ? f(b, P, "mig_populate_ns") / 1000 * 2 / f(b, P, "mig_leaves") : 0),
				f(b, P, "mig_populate_ns") / 1e6, f(b, P, "mig_leaves")
	}
	for (i = 1; i <= ne; i++) print early[i]
}'
