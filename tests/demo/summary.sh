#!/usr/bin/env bash
# The demo's summary table, from the files its emulated hypervisor handed out
# (tests/demo/loop.sh), one row per guest of tests/demo/guests, and whether
# each row is what the demo policy says it should be:
#  - an eligible guest: prepopulate (eligible), its populate done, >= 90 % of
#    its RAM mapped in stage 2 before the workload at its backing's page size
#    (4K: no 2M leaf; 2M hugetlbfs: 2M leaves over >= 90 %), and its workload
#    took few stage-2 faults (at most 1 % of the pages it touched, or 64);
#  - a guest in fault mode (SMM, below the thresholds): fault with the
#    expected reason, no populate, and its workload took stage-2 faults (at
#    least 20 % of the pages it touched: the rest the guest had touched
#    itself while it booted).
# Stage-2 leaves and faults are KVM's own counts (pages_4k/2m/1g, pf_fixed).
# Then, for each populated guest with a fault-mode guest of the same RAM and
# backing, the two workloads side by side.  Prints it all (also to OUT if
# given); exit 1 if any row is wrong.
#   summary.sh FILES_DIR [OUT]
set -euo pipefail
F=$1 OUT=${2:-/dev/null}
GUESTS=$(dirname "$0")/guests
ST=$F/status.json
[ -f "$ST" ] || { echo "summary: no $ST (the loop did not get as far as prepopd's status)"; exit 1; }

kv() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null || true; }
ceil_ns=$(jq -r '.module.hold_ceiling_ns // 0' "$ST")
bad=0 table=$(mktemp) notes=$(mktemp) rows=$(mktemp)
trap 'rm -f "$table" "$notes" "$rows"' EXIT
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' guest RAM backing "mode (reason)" "populate leaves 4K/2M" \
	"stage 2 before (4K/2M, RAM)" "touched" "faults" "guest time" "longest hold" >"$table"
while read -r name mib backing smm emode ereason; do
	case $name in '#'* | '') continue ;; esac
	why=()
	j=$(jq -c --arg n "$name" '.domains[]? | select(.name == $n)' "$ST")
	[ -n "$j" ] || { why+=("prepopd does not list it"); j='{}'; }
	mode=$(jq -r '.mode // "-"' <<<"$j") reason=$(jq -r '.reason // "-"' <<<"$j")
	pop=$(jq -c '.populate // {}' <<<"$j")
	[ "$mode $reason" = "$emode $ereason" ] || why+=("prepopd decided $mode ($reason), the policy says $emode ($ereason)")
	# stage 2 before the workload and the faults it took, KVM's own counts
	b=$F/kvm-$name-before.txt a=$F/kvm-$name-after.txt
	p4=$(kv "$b" pages_4k) p2=$(kv "$b" pages_2m) p1=$(kv "$b" pages_1g)
	pct=-
	[ -n "$p4" ] && pct=$((((p4 + 512 * ${p2:-0} + 262144 * ${p1:-0}) * 100) / (mib * 256)))
	f0=$(kv "$b" pf_fixed) f1=$(kv "$a" pf_fixed) faults=-
	[ -n "$f0" ] && [ -n "$f1" ] && faults=$((f1 - f0))
	# the workload, as the guest measured it
	wl=$(tr -d '\r' 2>/dev/null <"$F/$name.log" | grep -a '^FIRSTTOUCH' | tail -n 1 || true)
	wmib=$(sed -n 's/.* mib=\([0-9]*\).*/\1/p' <<<"$wl") wpages=$(sed -n 's/.* pages=\([0-9]*\).*/\1/p' <<<"$wl")
	wms=$(sed -n 's/.* ms=\([0-9.]*\).*/\1/p' <<<"$wl")
	[ -n "$wms" ] || why+=("no workload result (${wl:-no FIRSTTOUCH line on its console})")
	[ "$faults" != - ] || why+=("no KVM stats around its workload")
	leaves=- hold=-
	if [ "$pop" != '{}' ]; then
		leaves=$(jq -r '"\(.mapped_4k)/\(.mapped_2m)" + (if .mapped_1g > 0 then " + \(.mapped_1g) 1G" else "" end)' <<<"$pop")
		hold_ns=$(jq -r '.max_hold_ns' <<<"$pop")
		hold=$(awk -v n="$hold_ns" 'BEGIN { printf "%.1f ms", n / 1e6 }')
		if [ "$ceil_ns" -gt 0 ] && [ "$hold_ns" -gt "$ceil_ns" ]; then
			hold="$hold (!)"
			echo "note: $name: a vCPU was held $hold_ns ns, above the module's ceiling (max_hold_ms, $ceil_ns ns)" >>"$notes"
		fi
	fi
	if [ "$emode" = prepopulate ]; then
		stop=$(jq -r '.stop // .phase // "none"' <<<"$pop")
		[ "$stop" = done ] || why+=("its populate ended '$stop', not done")
		[ "$pct" != - ] && [ "$pct" -ge 90 ] || why+=("$pct % of its RAM mapped before the workload, want >= 90")
		case $backing in
		4k) [ "${p2:-0}" -eq 0 ] && [ "${p1:-0}" -eq 0 ] || why+=("4K-backed, yet KVM mapped ${p2:-?} 2M and ${p1:-?} 1G leaves")
		    [ "$(jq -r '.mapped_4k // 0' <<<"$pop")" -gt 0 ] || why+=("the populate mapped no 4K leaf") ;;
		2m) [ $((${p2:-0} * 2 * 100 / mib)) -ge 90 ] || why+=("2M-backed, yet 2M leaves cover only $((${p2:-0} * 2)) MiB")
		    [ "$(jq -r '.mapped_2m // 0' <<<"$pop")" -gt 0 ] || why+=("the populate mapped no 2M leaf") ;;
		esac
		if [ "$faults" != - ] && [ -n "$wpages" ]; then
			lim=$((wpages / 100 > 64 ? wpages / 100 : 64))
			[ "$faults" -le "$lim" ] || why+=("its workload took $faults stage-2 faults, want <= $lim")
		fi
	else
		[ "$pop" = '{}' ] || why+=("fault mode, yet prepopd populated it")
		if [ "$faults" != - ] && [ -n "$wpages" ]; then
			[ "$faults" -ge $((wpages / 5)) ] ||
				why+=("its workload took $faults stage-2 faults for $wpages pages, want >= $((wpages / 5)) in fault mode")
		fi
	fi
	case $backing in 4k) label="4K anon" ;; 2m) label="2M hugetlbfs" ;; *) label=$backing ;; esac
	[ "$smm" = on ] && label="$label, SMM"
	[ "$pct" = - ] || pct="$p4/${p2:-0}, $pct %"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$mib MiB" "$label" "$mode ($reason)" "$leaves" \
		"$pct" "${wmib:-?} MiB" "$faults" "${wms:-?} ms" "$hold" >>"$table"
	echo "$name $mib $backing $mode ${wms:--} $faults" >>"$rows"
	for w in "${why[@]}"; do
		echo "WRONG: $name: $w" >>"$notes"
		bad=1
	done
done <"$GUESTS"
{
	# the columns, each as wide as its widest cell
	awk -F '\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; m = NF }
		END { for (r = 1; r <= n; r++) { l = ""; for (i = 1; i <= m; i++) l = l sprintf("%-" w[i] "s  ", c[r, i]); sub(/ +$/, "", l); print l } }' "$table"
	# a populated guest against a fault-mode one of the same RAM and backing
	awk '{ name[NR] = $1; key[NR] = $2 " " $3; mode[NR] = $4; ms[NR] = $5; f[NR] = $6 }
		END { for (p = 1; p <= NR; p++) for (q = 1; q <= NR; q++)
			if (mode[p] == "prepopulate" && mode[q] == "fault" && key[p] == key[q] && ms[p] > 0 && ms[q] > 0)
				printf "first touch, %s populated vs %s in fault mode (same RAM and backing): %s ms vs %s ms (%.2f), %s vs %s stage-2 faults\n",
					name[p], name[q], ms[p], ms[q], ms[p] / ms[q], f[p], f[q] }' "$rows"
	cat "$notes"
	[ $bad -eq 0 ] && echo "every row is what the demo policy says it should be"
} | tee "$OUT"
exit $bad
