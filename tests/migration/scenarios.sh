#!/bin/bash
# The migration tier's scenarios, run by /init inside the emulated hypervisor
# with two libvirt hosts up (host.sh: A at 10.77.0.1, B at 10.77.0.2, each
# in its own namespaces, its files under /tmp/mig/A and /tmp/mig/B).  Each
# prints "MIGRATION: PASS name (T s)" or "MIGRATION: FAIL name (T s): why; why";
# tests/migration/run.sh counts them.  Figures are printed as
# "MIGRATION: FIG name key=value ..." (bench/migration-bench.sh reads them).
#   scenarios.sh [name,name,...]     (default: all of ALL, in that order)
# The guests: 2 vCPUs, 384 MiB, a 256 MiB workload buffer (migload.c) that
# the host tells to write every page and that times itself.
set -u
ALL="precopy-thp precopy-4k precopy-2m precopy-during-slice cancel postcopy postcopy-failure restart-precopy restart-postcopy arrive-paused"
EXTRA="early early-suspend early-control bench"	# the experiment and the benchmark: asked for by name
ONLY=${1:-}
[ -n "$ONLY" ] && [ "$ONLY" != all ] || ONLY=$(echo $ALL | tr ' ' ,)

M=/tmp/mig
STATS=/sys/kernel/debug/kvm_prepop/stats
POLICY=/prepop/policy.d/defaults.json
MEM=384			# MiB of guest RAM
LOAD=256		# MiB the workload writes
VIRSH_TIMEOUT=120
MIGRATE_TIMEOUT=900
# say, waitfor, alive: what every emulated host's scripts share (its
# single-host helpers are redefined below, for two hosts)
HV_SAY=MIGRATION
. /prepop/lib/hvhost.sh
unset PREPOPD
declare -A PREPOPD=()	# host -> prepopd's pid

# ---- scenario bookkeeping (as tests/system/scenarios.sh)
SC= T_SC=0 EV0_A=0 EV0_B=0
WHY=()
begin() {
	SC=$1 T_SC=$(date +%s) WHY=() EV0_A=$(ev_mark A) EV0_B=$(ev_mark B)
	say "== $1: $2"
}
note() { say "   $SC: $*"; }
bad() {
	WHY+=("$*")
	say "   $SC: NOT OK: $*"
}
fig() { say "FIG $SC $*"; }
end() {
	local t=$(($(date +%s) - T_SC)) why r l
	# a guest reset (a triple fault, the guest's own reboot) is never right
	for r in "A $EV0_A" "B $EV0_B"; do
		while IFS= read -r l; do
			bad "a guest was reset on ${r% *}: $l"
		# shellcheck disable=SC2086
		done < <(events $r | grep -a "event 'reboot' for domain" | sed -n 1,3p)
	done
	if [ ${#WHY[@]} -eq 0 ]; then
		say "PASS $SC ($t s)"
	else
		why=$(printf '%s; ' "${WHY[@]}")
		say "FAIL $SC ($t s): ${why%; }"
	fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- the module's counters (shared by both hosts: one kernel)
stat_of() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' $STATS; }
calls() { stat_of populate_calls; }

# ---- when something does not return: every QEMU, libvirtd and prepopd
# thread's kernel stack, into /tmp/diag-SCENARIO.log (handed out)
diag() {
	hvh_diag /tmp/diag-$SC.log "$*"
	note "diagnostics in diag-$SC.log"
}

# ---- the hosts
addr() { [ "$1" = A ] && echo 10.77.0.1 || echo 10.77.0.2; }
other() { [ "$1" = A ] && echo B || echo A; }
# vsh HOST virsh-args...: virsh against HOST's libvirtd (its own unix socket)
vsh() {
	local h=$1 rc=0
	shift
	timeout $VIRSH_TIMEOUT virsh -q -c "qemu:///system?socket=$M/$h/host/run/libvirt/libvirt-sock" "$@" || rc=$?
	if [ $rc -eq 124 ]; then
		note "STUCK: virsh ($h) $* did not return in $VIRSH_TIMEOUT s"
		diag "virsh ($h) $*"
	fi
	return $rc
}
# events HOST FROM: HOST's libvirt events after line FROM of its log
ev_mark() { wc -l <$M/$1/events.log; }
events() { tail -n +$(($2 + 1)) $M/$1/events.log | tr -d '\r'; }
# has_events HOST FROM NAME "Detail" ...: each lifecycle event, in this order
has_events() {
	local h=$1 from=$2 n=$3 e log
	shift 3
	log=$(events $h $from | grep -a "for domain '$n': ")
	for e in "$@"; do
		echo "$log" | grep -q ": $e\$" || return 1
		log=$(echo "$log" | sed -n "/: $e\$/,\$p" | tail -n +2)
	done
}

# ---- guests
thp() { echo "$1" >/sys/kernel/mm/transparent_hugepage/enabled; }
# guest_create HOST NAME BACKING [virsh create options] (4k: anonymous
# memory with THP off while it lives; thp: anonymous memory, QEMU madvises
# THP; 2m: 2 MiB hugetlbfs)
guest_create() {
	local h=$1 n=$2 back=
	case $3 in
	4k) thp never ;;
	thp) thp madvise ;;
	2m) thp madvise; back="<memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages></memoryBacking>" ;;
	esac
	sed -e "s/@NAME@/$n/g" -e "s/@MEM@/$MEM/g" -e "s/@LOAD@/$LOAD/g" -e "s|@BACKING@|$back|" \
		/prepop/guest.xml >$M/$n.xml
	vsh $h create $M/$n.xml "${@:4}" >/dev/null
}
console() { echo $M/$1/host/var/log/libvirt/qemu/$2.console; }
guest_is_up() { grep -aq "MIGLOAD up" "$(console $1 $2)" 2>/dev/null; }
# guest_up HOST NAME BACKING: created and its workload answering
guest_up() {
	local t0=$(date +%s)
	guest_create "$@" || { bad "virsh create $2 on $1 failed"; return 1; }
	if ! waitfor 300 guest_is_up $1 $2; then
		bad "$2's workload never came up on $1"
		diag "guest $2 not up"
		return 1
	fi
	note "$2 ($3) up on $1 $(($(date +%s) - t0)) s after virsh create"
}
destroy() { vsh $1 destroy $2 >/dev/null 2>&1 || true; }
dom_state() { vsh $1 domstate --reason $2 2>/dev/null || echo gone; }
qemu_pid() { cat $M/$1/host/run/libvirt/qemu/$2.pid 2>/dev/null; }
kvm_dir() {
	local pid d
	pid=$(qemu_pid $1 $2) || return 1
	for d in /sys/kernel/debug/kvm/$pid-*; do
		[ -d "$d" ] && echo "$d" && return 0
	done
	return 1
}
# kst HOST NAME STAT: KVM's per-VM statistic (vCPU ones summed over the vCPUs)
kst() {
	local d
	d=$(kvm_dir $1 $2) && cat $d/$3 2>/dev/null || echo 0
}
leaves() { echo "4k=$(kst $1 $2 pages_4k) 2m=$(kst $1 $2 pages_2m)"; }
mapped_pct() {
	local p4 p2
	p4=$(kst $1 $2 pages_4k) p2=$(kst $1 $2 pages_2m)
	echo $(((p4 + 512 * p2) * 100 / (MEM * 256)))
}
# the workload: gcmd HOST NAME WORD -> its reply line; SEQ counts commands
SEQ=0
GOUT=
gcmd() {
	SEQ=$((SEQ + 1))
	GOUT=$(/prepop/migtool cmd $M/$1/host/var/lib/libvirt/qemu/$2.cmd 300 $3 $SEQ) && return 0
	bad "the workload of $2 on $1 did not answer '$3' (${GOUT:-no reply})"
	return 1
}
# touch_guest HOST NAME: every page of the buffer written; TOUCH_MS (guest
# clock), TOUCH_FAULTS (KVM's pf_fixed of the VM over it)
TOUCH_MS=0 TOUCH_FAULTS=0
touch_guest() {
	local f0 f1
	f0=$(kst $1 $2 pf_fixed)
	gcmd $1 $2 touch || return 1
	f1=$(kst $1 $2 pf_fixed)
	TOUCH_MS=$(echo "$GOUT" | awk '{ printf "%.1f", $3 / 1000 }')
	TOUCH_FAULTS=$((f1 - f0))
}

# ---- prepopd, one per host, as shipped (release build), state in HOST/state
st() { /prepop/prepopctl status --state-dir $M/$1/state --json 2>/dev/null; }
agent() { st $1 | jq -c --arg n "$2" '.domains[]? | select(.name == $n)' 2>/dev/null; }
agent_says() { agent $1 $2 | jq -r '"\(.state) \(.reason) \(.dry_run)"'; }
agent_is() { [ "$(agent_says $1 $2)" = "$3" ]; }
agent_lists() { [ -n "$(agent $1 $2)" ]; }
agent_field() { agent $1 $2 | jq -r "$3"; }
agent_up() { [ "$(jq -r '"\(.pid) \(.connected)"' $M/$1/state/status.json 2>/dev/null)" = "$2 true" ]; }
prepopd_start() {
	local h=$1
	mkdir -p $M/$h/policy.d
	[ -f $M/$h/policy.d/defaults.json ] || cp $POLICY $M/$h/policy.d/
	echo "{ \"host_id\": \"host$h\" }" >$M/$h/host.json
	nsenter -t "$(cat $M/$h/ns.pid)" -m -u -n -- \
		/prepop/prepopd -p $M/$h/policy.d -H $M/$h/host.json -s $M/$h/state 2>>$M/$h/agent.log &
	PREPOPD[$h]=$!
	waitfor 60 agent_up $h ${PREPOPD[$h]} || { say "prepopd on $h (${PREPOPD[$h]}) did not come up"; return 1; }
}
prepopd_stop() {
	local h=$1 p=${PREPOPD[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM $p 2>/dev/null
	waitfor 30 eval "! alive $p" || { kill -KILL $p 2>/dev/null; bad "prepopd on $h still running 30 s after SIGTERM"; }
	wait $p 2>/dev/null
	PREPOPD[$h]=
}
# dry HOST true|false: HOST's policy in dry run or not (a reload; in force when it returns)
dry() {
	local h=$1 gen
	[ "$(jq .rollout.dry_run $M/$h/policy.d/defaults.json 2>/dev/null)" = "$2" ] && return 0
	jq ".rollout.dry_run = $2" $POLICY >$M/$h/policy.d/defaults.json
	gen=$(st $h | jq .policy.generation)
	kill -HUP ${PREPOPD[$h]}
	waitfor 20 eval "[ \"\$(st $h | jq .policy.generation)\" = $((gen + 1)) ]" ||
		bad "prepopd on $h did not reload its policy (dry run $2)"
}
# settled HOST NAME: prepopd decided, nothing running or waiting for it
settled() {
	local s
	s=$(agent $1 $2) || return 1
	[ "$(echo "$s" | jq -r '"\(.state) \(.populate.phase // "none")"')" = "settled finished" ] ||
		[ "$(echo "$s" | jq -r '"\(.state) \(.populate.phase // "none")"')" = "settled none" ]
}
# wait_populated HOST NAME SECONDS WHAT: prepopd populated it (settled,
# eligible, not dry run, >= 90 % of its RAM mapped)
wait_populated() {
	local says
	if ! waitfor $3 eval "settled $1 $2 && [ \"\$(agent_field $1 $2 .populate.phase)\" = finished ]"; then
		bad "$4: prepopd on $1 not done with $2 after $3 s: $(mapped_pct $1 $2) % mapped (agent: $(agent_says $1 $2))"
		diag "$4: prepopd not done"
		return 1
	fi
	says=$(agent_says $1 $2)
	note "$4: $(mapped_pct $1 $2) % of $2's RAM mapped on $1 ($(leaves $1 $2)); agent: $says; populate: $(agent_field $1 $2 '.populate | "\(.slices) slices, \(.leaves) leaves, \(.populate_ns / 1e6 | floor) ms in the kernel, longest hold \(.max_hold_ns / 1e3 | floor) us, stop \(.stop)"')"
	[ "$says" = "settled eligible false" ] || bad "$4: prepopd on $1 ended with '$says', want settled eligible false"
	[ "$(mapped_pct $1 $2)" -ge 90 ] || bad "$4: only $(mapped_pct $1 $2) % of $2's RAM mapped on $1"
}
# wait_decided_dry HOST NAME SECONDS WHAT: decided (eligible) in dry run
wait_decided_dry() {
	waitfor $3 eval "settled $1 $2 && agent_is $1 $2 'settled eligible true'" && return 0
	bad "$4: prepopd on $1 did not decide $2 in dry run (agent: $(agent_says $1 $2))"
	return 1
}

# ---- migrations
# migrate SRC NAME [virsh migrate options]: SRC -> the other host, live, p2p;
# MIG_MS: how long virsh migrate took
MIG_MS=0
migrate() {
	local src=$1 n=$2 dst t0 rc=0
	shift 2
	dst=$(other $src)
	t0=$(now_ms)
	VIRSH_TIMEOUT=$MIGRATE_TIMEOUT vsh $src migrate --live --p2p "$@" $n \
		qemu+tcp://$(addr $dst)/system --migrateuri tcp://$(addr $dst) || rc=$?
	MIG_MS=$(($(now_ms) - t0))
	return $rc
}
# migrate_bg SRC NAME [options]: in the background; MIG_PID, its output in
# $M/migrate.out; migrate_wait waits for it (its status), sets MIG_MS
MIG_T0=0
migrate_bg() {
	local src=$1 n=$2 dst
	shift 2
	dst=$(other $src)
	MIG_T0=$(now_ms)
	timeout $MIGRATE_TIMEOUT virsh -q -c "qemu:///system?socket=$M/$src/host/run/libvirt/libvirt-sock" \
		migrate --live --p2p "$@" $n qemu+tcp://$(addr $dst)/system --migrateuri tcp://$(addr $dst) \
		>$M/migrate.out 2>&1 &
	MIG_PID=$!
}
migrate_wait() {
	local rc=0
	wait $MIG_PID || rc=$?
	MIG_MS=$(($(now_ms) - MIG_T0))
	return $rc
}
# job_figures SRC NAME FROM: the migration's time and downtime (ms), from
# the job-completed event SRC's libvirt sent after line FROM of its event log
DOWNTIME_MS=? ELAPSED_MS=?
job_figures() {
	read -r ELAPSED_MS DOWNTIME_MS < <(events $1 $3 | awk -v n="'$2'" '
		/^[0-9][0-9][0-9][0-9]-/ { blk = /event .job-completed. for domain/ && index($0, n) > 0; next }
		blk && $1 == "time_elapsed:" { e = $2 }
		blk && $1 == "downtime:" { d = $2 }
		END { print (e == "" ? "?" : e), (d == "" ? "?" : d) }')
}

# ---------------------------------------------------------------- scenarios

# 1. A pre-copy that succeeds: the destination's prepopd populates the guest,
# and the workload's write of all its RAM right after takes (almost) no
# stage-2 fault; against the same migration into a destination in dry run.
sc_precopy() {
	local b=$1 g=pre-$1 ev eva live_f live_ms dry_f dry_ms want leaf
	begin precopy-$b "pre-copy A->B, B populates ($b backing); B->A into a dry-run A for comparison"
	dry A true
	dry B false
	guest_up A $g $b || { destroy A $g; end; return; }
	touch_guest A $g && note "first write of the $LOAD MiB buffer on A: $TOUCH_MS ms, $TOUCH_FAULTS stage-2 faults"
	ev=$(ev_mark B) eva=$(ev_mark A)
	if ! migrate A $g; then
		bad "migration A->B failed"
		destroy A $g; end; return
	fi
	job_figures A $g $eva
	note "A->B took $MIG_MS ms (libvirt: $ELAPSED_MS ms, downtime $DOWNTIME_MS ms)"
	has_events B $ev $g "Started Migrated" "Resumed Migrated" || bad "B's events: no Started Migrated then Resumed Migrated ($(events B $ev | grep -c .) lines)"
	waitfor 30 eval "! agent_lists A $g" || bad "A's prepopd still lists $g after it left"
	wait_populated B $g 300 "after the migration to B"
	touch_guest B $g || { destroy B $g; end; return; }
	live_f=$TOUCH_FAULTS live_ms=$TOUCH_MS
	note "write of all the buffer on B (populated): $live_ms ms, $live_f stage-2 faults"
	ev=$(ev_mark B)
	if ! migrate B $g; then
		bad "migration B->A failed"
		destroy B $g; end; return
	fi
	job_figures B $g $ev
	note "B->A took $MIG_MS ms (libvirt: $ELAPSED_MS ms, downtime $DOWNTIME_MS ms)"
	wait_decided_dry A $g 120 "after the migration to A"
	touch_guest A $g || { destroy A $g; end; return; }
	dry_f=$TOUCH_FAULTS dry_ms=$TOUCH_MS
	note "write of all the buffer on A (dry run: fault mode): $dry_ms ms, $dry_f stage-2 faults"
	[ $b = 4k ] && leaf=4 || leaf=2048
	want=$((LOAD * 1024 / leaf))
	fig "backing=$b populated_faults=$live_f populated_ms=$live_ms fault_faults=$dry_f fault_ms=$dry_ms leaves_in_buffer=$want"
	# the comparison means something only if fault mode faults
	[ "$dry_f" -ge $((want / 2)) ] ||
		bad "in fault mode the write took only $dry_f stage-2 faults for $want ${leaf} KiB leaves"
	[ $((live_f * 50)) -le "$dry_f" ] ||
		bad "populated, the write took $live_f stage-2 faults, more than 2 % of fault mode's $dry_f"
	destroy A $g
	thp madvise
	end
}
sc_precopy_thp() { sc_precopy thp; }
sc_precopy_4k() { sc_precopy 4k; }
sc_precopy_2m() { sc_precopy 2m; }

# 1b. A live pre-copy that starts while A's prepopd is in a slice (the
# module holding the guest's vCPUs): it waits at most for that slice, then
# completes; the guest runs on B, where it is populated, and A's prepopd
# forgets it.
sc_precopy_during_slice() {
	local g=inslice ev out rc=0
	begin precopy-during-slice "a live pre-copy A->B started during a slice of A's populate completes; the guest runs on B, populated there"
	dry A false
	dry B false
	ev=$(ev_mark B)
	guest_create A $g 4k || { bad "virsh create $g on A failed"; thp madvise; end; return; }
	# watched from the start: A's populate begins once the boot delay is over
	out=$(LIBVIRT_DEFAULT_URI="qemu:///system?socket=$M/A/host/run/libvirt/libvirt-sock" timeout $MIGRATE_TIMEOUT \
		/prepop/systool at during 300000 migrate $g qemu+tcp://$(addr B)/system tcp://$(addr B) 2>&1) || rc=$?
	note "${out:-systool at during migrate: no answer (status $rc)}"
	if [ $rc -ne 0 ]; then
		bad "no migration started during a slice, or it failed (systool status $rc)"
		diag "migrate during a slice (status $rc)"
		destroy A $g; destroy B $g; thp madvise; end; return
	fi
	has_events B $ev $g "Started Migrated" "Resumed Migrated" || bad "B's events: no Started Migrated then Resumed Migrated"
	case $(dom_state B $g) in running*) ;; *) bad "on B the guest is '$(dom_state B $g)', not running" ;; esac
	waitfor 30 eval "! agent_lists A $g" || bad "A's prepopd still lists $g after it left"
	wait_populated B $g 300 "after the migration to B"
	# the guest came through whole: its workload answers, and (end) no reset
	gcmd B $g ping && note "its workload answers on B: $GOUT"
	destroy B $g
	thp madvise
	end
}

agent_state() { [ "$(agent_field $1 $2 .state)" = "$3" ]; }
running() { kill -0 $1 2>/dev/null; }

# 2. A pre-copy cancelled with domjobabort: the guest runs on on A; KVM split
# its huge mappings while dirty logging was on and zaps them when it stops,
# and prepopd (which never populates while the migration runs, not even after
# a policy reload) populates it again: pages_2m back where it was.
sc_cancel() {
	local g=cancel p0 pmin p d0 c0 c1 gen ev rc=0 dirty_f
	begin cancel "pre-copy A->B (2M hugetlbfs) cancelled: the guest runs on on A, nothing populated while dirty logging is on, then pages_2m back"
	dry A false
	dry B false
	guest_up A $g 2m || { destroy A $g; end; return; }
	touch_guest A $g
	wait_populated A $g 300 "after boot" || { destroy A $g; end; return; }
	p0=$(kst A $g pages_2m) d0=$(agent_field A $g .decisions)
	note "populated after boot: $(leaves A $g)"
	ev=$(ev_mark A)
	c0=$(calls)
	# 4 MiB/s: a pre-copy of 384 MiB would take minutes
	migrate_bg A $g --bandwidth 4
	waitfor 120 agent_state A $g migrating-out || bad "A's prepopd never saw the outgoing migration ($(agent_says A $g))"
	waitfor 60 agent_state B $g wait-incoming || bad "B's prepopd never saw the incoming migration ($(agent_says B $g))"
	# a reload decides every settled guest again: not this one
	gen=$(st A | jq .policy.generation)
	kill -HUP ${PREPOPD[A]}
	waitfor 20 eval "[ \"\$(st A | jq .policy.generation)\" = $((gen + 1)) ]" || bad "A's prepopd did not reload"
	# the guest writes its RAM while dirty logging is on: 4K faults
	touch_guest A $g && dirty_f=$TOUCH_FAULTS
	note "write of all the buffer during the migration: $TOUCH_MS ms, $TOUCH_FAULTS stage-2 faults; $(leaves A $g)"
	sleep 3
	pmin=$(kst A $g pages_2m)
	c1=$(calls)
	running $MIG_PID || bad "the migration ended before it was cancelled: $(cat $M/migrate.out)"
	[ "$c1" -eq "$c0" ] || bad "$((c1 - c0)) populate calls while dirty logging was on"
	vsh A domjobabort $g || bad "domjobabort failed"
	migrate_wait || rc=$?
	[ $rc -ne 0 ] || bad "the cancelled migration succeeded"
	note "virsh migrate: $(tr '\n' ' ' <$M/migrate.out)"
	# libvirt sends the source no event; prepopd's job watch finds the job gone
	if waitfor 120 eval "[ \"\$(agent_field A $g .decisions)\" -gt $d0 ]"; then
		wait_populated A $g 300 "after the cancelled migration"
	else
		bad "A's prepopd did not decide $g again after the cancel ($(agent_says A $g))"
	fi
	p=$(kst A $g pages_2m)
	note "pages_2m: $p0 before the migration, $pmin while dirty logging was on, $p after"
	[ "$pmin" -lt "$p0" ] || bad "pages_2m did not drop while dirty logging was on ($p0 -> $pmin): nothing to show"
	[ $((p * 100)) -ge $((p0 * 98)) ] || bad "pages_2m $p after the populate, $p0 before the migration"
	[ "$(dom_state A $g)" = "running (migration canceled)" ] || [ "$(dom_state A $g)" = "running (migration cancelled)" ] ||
		case $(dom_state A $g) in running*) ;; *) bad "the guest is $(dom_state A $g) on A, not running" ;; esac
	has_events A $ev $g "Suspended Migrated" && bad "A's libvirt paused the guest for the switch-over"
	waitfor 60 eval "! agent_lists B $g" || bad "B's prepopd still lists the failed incoming $g"
	touch_guest A $g
	note "write of all the buffer after: $TOUCH_MS ms, $TOUCH_FAULTS stage-2 faults"
	[ "$TOUCH_FAULTS" -le 16 ] || bad "the write after the re-populate took $TOUCH_FAULTS stage-2 faults"
	fig "pages_2m_before=$p0 pages_2m_dirty_logging=$pmin pages_2m_after=$p dirty_logging_write_faults=${dirty_f:-?} after_faults=$TOUCH_FAULTS"
	destroy A $g
	end
}

# postcopy_in SRC NAME BW: a post-copy SRC -> the other host, in the
# background (pre-copy at 2 MiB/s, switched to post-copy at BW MiB/s once the
# source's prepopd sees it going out); 1 if it could not be switched
postcopy_in() {
	local src=$1 n=$2 dst
	dst=$(other $src)
	migrate_bg $src $n --postcopy --bandwidth 2 --postcopy-bandwidth $3
	if ! waitfor 120 agent_state $src $n migrating-out; then
		bad "$src's prepopd never saw the outgoing migration ($(agent_says $src $n))"
		return 1
	fi
	vsh $src migrate-postcopy $n || { bad "migrate-postcopy failed"; return 1; }
}
# watch_postcopy HOST NAME PID: while the migration PID runs, HOST's prepopd
# must say fault mode, reason postcopy, once post-copy began, and no populate
# call may be made; PC_SEEN: samples in post-copy, PC_FAULT: those where
# prepopd said so
PC_SEEN=0 PC_FAULT=0
watch_postcopy() {
	local h=$1 n=$2 c0 c says bad_says= c_bad=
	c0=$(calls) PC_SEEN=0 PC_FAULT=0
	# the counter and prepopd's answer first, then the state: a sample
	# taken while the state still says post-copy was taken during it
	while running $3; do
		c=$(calls)
		says=$(agent_says $h $n)
		case $(dom_state $h $n) in
		"running (post-copy)")
			PC_SEEN=$((PC_SEEN + 1))
			# (still wait-incoming: libvirt's event is on its way)
			case $says in
			"postcopy postcopy false") PC_FAULT=$((PC_FAULT + 1)) ;;
			"wait-incoming null false") ;;
			*) bad_says=$says ;;
			esac
			[ "$c" -eq "$c0" ] || c_bad=$((c - c0)) ;;
		esac
		sleep 0.5
	done
	[ -z "$bad_says" ] || bad "during post-copy $h's prepopd said '$bad_says', want 'postcopy postcopy false'"
	[ $PC_SEEN -eq 0 ] || [ $PC_FAULT -gt 0 ] || bad "$h's prepopd never said 'postcopy postcopy false' during post-copy"
	[ -z "$c_bad" ] || bad "$c_bad populate calls during the post-copy migration"
}

# 3. Post-copy: the destination stays in fault mode (reason postcopy) while
# pages arrive through userfaultfd, and is populated once it completed; the
# same migration into a destination in dry run, for the time it takes.
sc_postcopy() {
	local g=post ev eva rc=0 t_live t_dry
	begin postcopy "post-copy A->B (2M hugetlbfs): fault mode (postcopy) while pages are pulled, populated after; B->A into a dry-run A for the time"
	dry A true
	dry B false
	guest_up A $g 2m || { destroy A $g; end; return; }
	touch_guest A $g
	ev=$(ev_mark B) eva=$(ev_mark A)
	postcopy_in A $g 16 || { destroy A $g; destroy B $g; end; return; }
	watch_postcopy B $g $MIG_PID
	migrate_wait || rc=$?
	[ $rc -eq 0 ] || { bad "the post-copy migration A->B failed: $(tr '\n' ' ' <$M/migrate.out)"; destroy A $g; destroy B $g; end; return; }
	job_figures A $g $eva
	t_live=$ELAPSED_MS
	note "A->B: $MIG_MS ms (libvirt: $ELAPSED_MS ms, downtime $DOWNTIME_MS ms); $PC_SEEN samples in post-copy"
	[ $PC_SEEN -gt 0 ] || bad "B never reported the guest in post-copy"
	has_events B $ev $g "Started Migrated" "Resumed Post-copy" "Resumed Migrated" ||
		bad "B's events: not Started Migrated, Resumed Post-copy, Resumed Migrated"
	grep -q "$g: post-copy migration is running" $M/B/agent.log || bad "B's prepopd never logged post-copy fault mode"
	wait_populated B $g 300 "after post-copy completed"
	touch_guest B $g
	note "write of all the buffer on B: $TOUCH_MS ms, $TOUCH_FAULTS stage-2 faults"
	[ "$TOUCH_FAULTS" -le 16 ] || bad "the write after the populate took $TOUCH_FAULTS stage-2 faults"
	# the same into A, in dry run
	rc=0 ev=$(ev_mark B)
	postcopy_in B $g 16 || { destroy A $g; destroy B $g; end; return; }
	watch_postcopy A $g $MIG_PID
	migrate_wait || rc=$?
	[ $rc -eq 0 ] || bad "the post-copy migration B->A failed: $(tr '\n' ' ' <$M/migrate.out)"
	job_figures B $g $ev
	t_dry=$ELAPSED_MS
	note "B->A (dry run): $MIG_MS ms (libvirt: $ELAPSED_MS ms, downtime $DOWNTIME_MS ms)"
	wait_decided_dry A $g 120 "after post-copy completed"
	fig "elapsed_ms_populating_destination=$t_live elapsed_ms_dry_run_destination=$t_dry"
	[ "$t_live" != "?" ] && [ "$t_dry" != "?" ] || bad "no job-completed event with the migrations' times"
	destroy A $g
	end
}

# 3b. A post-copy that fails (domjobabort --postcopy) is left in fault mode,
# explained (docs/agent.md); recovered with --postcopy-resume, it completes
# and the guest is populated then.
sc_postcopy_failure() {
	local g=postfail ev rc=0 c0 says
	begin postcopy-failure "post-copy A->B (2M hugetlbfs) broken by domjobabort --postcopy: fault mode, explained; resumed with --postcopy-resume, populated once complete"
	dry A false
	dry B false
	guest_up A $g 2m || { destroy A $g; end; return; }
	touch_guest A $g
	ev=$(ev_mark B)
	postcopy_in A $g 2 || { destroy A $g; destroy B $g; end; return; }
	waitfor 60 eval "agent_is B $g 'postcopy postcopy false'" || bad "B not in post-copy fault mode ($(agent_says B $g))"
	c0=$(calls)
	vsh A domjobabort --postcopy $g || bad "domjobabort --postcopy failed"
	migrate_wait || rc=$?
	[ $rc -ne 0 ] || bad "the broken post-copy migration succeeded"
	note "after the abort: A $(dom_state A $g), B $(dom_state B $g); virsh migrate: $(tr '\n' ' ' <$M/migrate.out)"
	if waitfor 60 eval "agent_field B $g .explanation | grep -q failed"; then
		says=$(agent_says B $g)
		note "B's prepopd: $says: $(agent_field B $g .explanation)"
		[ "$says" = "settled postcopy false" ] || bad "B's prepopd says '$says' after the post-copy failed, want settled postcopy false"
	else
		bad "B's prepopd did not explain the failed post-copy ($(agent_says B $g): $(agent_field B $g .explanation))"
	fi
	has_events B $ev $g "Started Migrated" "Resumed Post-copy" || bad "B's events: no Started Migrated, Resumed Post-copy"
	events B $ev | grep -q "for domain '$g': .*Post-copy Error" || bad "B's events: no post-copy error event"
	sleep 5
	[ "$(calls)" -eq "$c0" ] || bad "$(($(calls) - c0)) populate calls after the post-copy failed"
	# recovery
	if migrate A $g --postcopy --postcopy-resume --postcopy-bandwidth 64; then
		note "--postcopy-resume: $MIG_MS ms; B $(dom_state B $g)"
		wait_populated B $g 300 "after the resumed post-copy completed"
		touch_guest B $g
		note "write of all the buffer on B: $TOUCH_MS ms, $TOUCH_FAULTS stage-2 faults"
	else
		bad "virsh migrate --postcopy-resume failed"
	fi
	destroy A $g
	destroy B $g
	end
}

# 4. prepopd (re)started on the destination while a migration comes in:
# libvirt refuses job statistics there, so the new prepopd must tell the
# migration from libvirt's state and reason, not decide the guest as if no
# migration were running.
sc_restart_precopy() {
	local g=rpre rc=0 says
	begin restart-precopy "prepopd on B restarted during an incoming pre-copy: nothing decided until the guest resumes, then populated"
	dry A false
	dry B false
	guest_up A $g thp || { destroy A $g; end; return; }
	touch_guest A $g
	migrate_bg A $g --bandwidth 4
	waitfor 120 agent_state B $g wait-incoming || bad "B's prepopd never saw the incoming migration ($(agent_says B $g))"
	prepopd_stop B
	prepopd_start B || { bad "prepopd on B did not restart"; destroy A $g; end; return; }
	sleep 3
	says=$(agent_says B $g)
	note "the new prepopd on B: $says, $(agent_field B $g .decisions) decisions; B: $(dom_state B $g)"
	[ "$(agent_field B $g .decisions)" = 0 ] || bad "the new prepopd decided the incoming guest ($says) before it resumed"
	vsh A migrate-setspeed $g 1000 >/dev/null || bad "migrate-setspeed failed"
	migrate_wait || rc=$?
	[ $rc -eq 0 ] || { bad "the migration failed: $(tr '\n' ' ' <$M/migrate.out)"; destroy A $g; destroy B $g; end; return; }
	wait_populated B $g 300 "after the migration completed"
	[ "$(agent_field B $g .decisions)" = 1 ] || bad "B decided $(agent_field B $g .decisions) times, want once"
	destroy B $g
	end
}

# restart_b NAME WANT WHAT: prepopd on B restarted; then (3 s) it must say
# WANT about NAME, and no populate call may have been made
restart_b() {
	local c0 says
	c0=$(calls)
	prepopd_stop B
	prepopd_start B || { bad "prepopd on B did not restart"; return 1; }
	sleep 3
	says=$(agent_says B $1)
	note "$3: the new prepopd on B says '$says' ($(agent_field B $1 .decisions) decisions: $(agent_field B $1 .explanation)); B: $(dom_state B $1)"
	[ "$says" = "$2" ] || bad "$3: the new prepopd says '$says', want '$2' (decided as if no migration were running)"
	[ "$(calls)" -eq "$c0" ] || bad "$3: $(($(calls) - c0)) populate calls since the restart"
}

sc_restart_postcopy() {
	local g=rpost rc=0
	begin restart-postcopy "prepopd on B restarted during an incoming post-copy (2M hugetlbfs), and again after it failed: fault mode (postcopy) until it completes, then populated"
	dry A false
	dry B false
	guest_up A $g 2m || { destroy A $g; end; return; }
	touch_guest A $g
	postcopy_in A $g 2 || { destroy A $g; destroy B $g; end; return; }
	waitfor 60 eval "agent_is B $g 'postcopy postcopy false'" || bad "B not in post-copy fault mode ($(agent_says B $g))"
	restart_b $g "postcopy postcopy false" "during post-copy"
	case $(dom_state B $g) in
	"running (post-copy)") ;;
	*) bad "the post-copy ended before the check (B: $(dom_state B $g)): nothing shown" ;;
	esac
	# broken, then prepopd restarted again
	vsh A domjobabort --postcopy $g || bad "domjobabort --postcopy failed"
	migrate_wait || rc=$?
	[ $rc -ne 0 ] || bad "the broken post-copy migration succeeded"
	waitfor 60 eval "agent_field B $g .explanation | grep -q failed" || bad "B's prepopd did not see the post-copy fail ($(agent_says B $g))"
	restart_b $g "settled postcopy false" "after the post-copy failed"
	agent_field B $g .explanation | grep -q failed || bad "the new prepopd does not explain the failed post-copy"
	# recovered at full speed
	if migrate A $g --postcopy --postcopy-resume --postcopy-bandwidth 64; then
		wait_populated B $g 300 "after the resumed post-copy completed"
	else
		bad "virsh migrate --postcopy-resume failed"
	fi
	destroy A $g
	destroy B $g
	end
}

# 5, the feature: a guest that arrives paused (virsh migrate --suspend; a
# p2p migration begun while the source is paused arrives the same way).  B's
# prepopd never resumes it.  Where the module maps a VM whose vCPUs never
# ran (the pre-fault engine) it populates it while it stays paused, holding
# nothing, and the guest's first write after its owner resumes it takes no
# stage-2 fault.  With the fault engine (no vCPU has an MMU root before it
# first runs) it is left alone until its owner resumes it, then populated.
# Against its first write on A in dry run (fault mode).  Beside it on B, a
# guest created paused: its owner's, never populated while paused, on
# either engine.
sc_arrive_paused() {
	local g=arrive cp=arrive-created-paused ev eva eng fault_f want
	begin arrive-paused "a pre-copy with --suspend: B's prepopd never resumes the guest, populates it while paused where the engine can, else once its owner resumed it; a guest created paused beside it stays alone (4K backing)"
	dry A true
	dry B false
	eng=$(st B | jq -r .module.engine)
	guest_up A $g 4k || { destroy A $g; thp madvise; end; return; }
	touch_guest A $g || { destroy A $g; thp madvise; end; return; }
	fault_f=$TOUCH_FAULTS
	note "first write of the $LOAD MiB buffer on A (dry run: fault mode): $TOUCH_MS ms, $fault_f stage-2 faults"
	guest_create B $cp 4k --paused || bad "virsh create --paused $cp on B failed"
	ev=$(ev_mark B) eva=$(ev_mark A)
	if ! migrate A $g --suspend; then
		bad "migration A->B --suspend failed"
		destroy A $g; destroy B $g; destroy B $cp; thp madvise; end; return
	fi
	job_figures A $g $eva
	note "A->B --suspend took $MIG_MS ms (libvirt: $ELAPSED_MS ms, downtime $DOWNTIME_MS ms); B's module engine: $eng"
	has_events B $ev $g "Started Migrated" "Suspended Paused" ||
		bad "B's events: no Started Migrated then Suspended Paused: $(events B $ev | grep -a "'$g'" | sed 's/.*: //' | tr '\n' ',')"
	if [ "$eng" = prefault ]; then
		wait_populated B $g 300 "arrived paused, before its owner resumed it"
		[ "$(agent_field B $g .while_paused)" = true ] ||
			bad "prepopd on B does not say while_paused for the paused arrival"
	else
		waitfor 30 eval "agent_state B $g paused" || bad "prepopd on B: $(agent_says B $g), want paused (left alone)"
		sleep 5
		note "paused on B: $(leaves B $g); agent: $(agent_says B $g)"
	fi
	[ "$(dom_state B $g)" = "paused (user)" ] || bad "the guest on B is $(dom_state B $g), want paused (user): nobody but its owner resumes it"
	events B $ev | grep -a "for domain '$g': Resumed" && bad "the guest was resumed on B before its owner resumed it"
	# the guest created paused: left alone all along
	note "created paused on B: $(dom_state B $cp), $(leaves B $cp); agent: $(agent_says B $cp)"
	agent_state B $cp paused || bad "prepopd on B says $(agent_says B $cp) of the guest created paused, want paused"
	[ "$(kst B $cp pages_4k)" -lt 1000 ] || bad "the guest created paused on B was populated while paused: $(leaves B $cp)"
	[ "$(dom_state B $cp)" = "paused (user)" ] || bad "the guest created paused on B is $(dom_state B $cp)"
	destroy B $cp
	vsh B resume $g >/dev/null || bad "virsh resume on B failed"
	[ "$eng" = prefault ] || wait_populated B $g 300 "once its owner resumed it"
	touch_guest B $g || { destroy B $g; thp madvise; end; return; }
	note "write of all the buffer on B after the resume: $TOUCH_MS ms, $TOUCH_FAULTS stage-2 faults; while_paused now $(agent_field B $g .while_paused)"
	[ "$(agent_field B $g .while_paused)" = false ] || bad "prepopd on B still says while_paused once the guest runs"
	want=$((LOAD * 256))
	fig "engine=$eng populated_faults=$TOUCH_FAULTS populated_ms=$TOUCH_MS fault_faults=$fault_f downtime_ms=$DOWNTIME_MS leaves_in_buffer=$want"
	[ "$fault_f" -ge $((want / 2)) ] || bad "in fault mode the write took only $fault_f stage-2 faults for $want 4 KiB leaves"
	[ $((TOUCH_FAULTS * 50)) -le "$fault_f" ] ||
		bad "populated, the write took $TOUCH_FAULTS stage-2 faults, more than 2 % of fault mode's $fault_f"
	destroy B $g
	thp madvise
	end
}

# ---------------------------------------------------------------- the experiment

# 5. Populate before the first resume: a stage-2 built on the destination
# while the migration comes in (after STARTED/MIGRATED, before
# RESUMED/MIGRATED): does it survive QEMU's device-state load, is the guest's
# first write of its RAM then free of stage-2 faults, and does it change the
# downtime?  migtool populate does it (prepopd does not: docs/migration.md),
# both prepopds in dry run.  early: during a live pre-copy, until the guest
# runs; early-suspend: a pre-copy with --suspend (the destination stays
# paused with its device state loaded), populated, then resumed;
# early-control: early's live pre-copy with nothing populated early (what
# early's guest does on B without the experiment).  Each ends with the same
# migration back into a dry-run host with nothing populated, for
# comparison.  Reported as figures, not asserted.
early_experiment() {
	local mode=$1 g=early-$1 ev eva rc=0 pid watch pop at_resume exp_f exp_ms exp_down ctl_f ctl_down name=early
	[ $mode = live ] || name=early-$mode
	begin $name "a populate on B during the incoming pre-copy ($mode): does it survive until the guest runs? (4K backing)"
	dry A true
	dry B true
	guest_up A $g 4k || { destroy A $g; thp madvise; end; return; }
	touch_guest A $g
	ev=$(ev_mark B) eva=$(ev_mark A)
	if [ $mode = suspend ]; then
		migrate_bg A $g --bandwidth 32 --suspend
	else
		migrate_bg A $g --bandwidth 32
	fi
	if ! waitfor 120 eval "has_events B $ev $g 'Started Migrated' && kvm_dir B $g >/dev/null"; then
		bad "no incoming $g on B"; migrate_wait; destroy A $g; destroy B $g; thp madvise; end; return
	fi
	pid=$(qemu_pid B $g)
	note "incoming on B (QEMU $pid): $(/prepop/migtool query $pid)"
	if [ $mode = suspend ]; then
		migrate_wait || rc=$?
		[ $rc -eq 0 ] || { bad "the migration failed: $(tr '\n' ' ' <$M/migrate.out)"; destroy A $g; destroy B $g; thp madvise; end; return; }
		note "migrated, paused on B ($(dom_state B $g)): $(/prepop/migtool query $pid)"
		pop=$(/prepop/migtool populate $pid 120)
		note "$pop"
		at_resume=$(leaves B $g)
		vsh B resume $g >/dev/null || bad "virsh resume on B failed"
	elif [ $mode = control ]; then
		migrate_wait || rc=$?
		at_resume=$(leaves B $g)
		[ $rc -eq 0 ] || { bad "the migration failed: $(tr '\n' ' ' <$M/migrate.out)"; destroy A $g; destroy B $g; thp madvise; end; return; }
	else
		watch=$(kvm_dir B $g)/exits
		/prepop/migtool populate $pid 600 $watch >$M/early.out 2>&1 &
		local popper=$!
		migrate_wait || rc=$?
		wait $popper
		at_resume=$(leaves B $g)
		pop=$(cat $M/early.out)
		note "$pop"
		[ $rc -eq 0 ] || { bad "the migration failed: $(tr '\n' ' ' <$M/migrate.out)"; destroy A $g; destroy B $g; thp madvise; end; return; }
	fi
	job_figures A $g $eva
	exp_down=$DOWNTIME_MS
	note "A->B: $MIG_MS ms (libvirt: $ELAPSED_MS ms, downtime $DOWNTIME_MS ms); B's tables once the guest ran: $at_resume"
	touch_guest B $g || { destroy B $g; thp madvise; end; return; }
	exp_f=$TOUCH_FAULTS exp_ms=$TOUCH_MS
	note "write of all the buffer on B: $exp_ms ms, $exp_f stage-2 faults"
	# the control: back into A, nothing populated
	ev=$(ev_mark B)
	if [ $mode = suspend ]; then
		migrate B $g --bandwidth 32 --suspend && vsh A resume $g >/dev/null || rc=1
	else
		migrate B $g --bandwidth 32 || rc=1
	fi
	[ $rc -eq 0 ] || { bad "the control migration failed"; destroy A $g; destroy B $g; thp madvise; end; return; }
	job_figures B $g $ev
	ctl_down=$DOWNTIME_MS
	touch_guest A $g
	ctl_f=$TOUCH_FAULTS
	note "control B->A, nothing populated: downtime $ctl_down ms; write of all the buffer: $TOUCH_MS ms, $ctl_f stage-2 faults"
	fig "mode=$mode engine=$(st B | jq -r .module.engine) kernel=$(uname -r) early_faults=$exp_f early_ms=$exp_ms control_faults=$ctl_f control_ms=$TOUCH_MS downtime_ms=$exp_down control_downtime_ms=$ctl_down tables_at_resume=\"$at_resume\""
	destroy A $g
	thp madvise
	end
}
sc_early() { early_experiment live; }
sc_early_suspend() { early_experiment suspend; }
sc_early_control() { early_experiment control; }

# ---------------------------------------------------------------- the benchmark

# bench_one MODE BACKING: a guest boots on A, writes its buffer, migrates to
# B, writes it again; MODE fault: both prepopds in dry run, populated: not.
bench_one() {
	local mode=$1 b=$2 g=bench-$2-$1 ev boot_f boot_ms mig_f mig_ms pb pm gap=
	dry A $([ $mode = fault ] && echo true || echo false)
	dry B $([ $mode = fault ] && echo true || echo false)
	guest_up A $g $b || { destroy A $g; return 1; }
	if [ $mode = populated ]; then
		wait_populated A $g 300 "$b after boot" || { destroy A $g; return 1; }
	else
		wait_decided_dry A $g 120 "$b after boot"
	fi
	pb=$(agent_field A $g '.populate | "\(.populate_ns // 0) \(.leaves // 0) \(.max_hold_ns // 0) \(.slices // 0)"')
	touch_guest A $g || { destroy A $g; return 1; }
	boot_f=$TOUCH_FAULTS boot_ms=$TOUCH_MS
	gcmd A $g gap	# from here on: the worst clock gap since the migration began
	ev=$(ev_mark A)
	migrate A $g || { bad "migration of $g failed"; destroy A $g; return 1; }
	job_figures A $g $ev
	if [ $mode = populated ]; then
		wait_populated B $g 300 "$b after the migration" || { destroy B $g; return 1; }
	else
		wait_decided_dry B $g 120 "$b after the migration"
	fi
	pm=$(agent_field B $g '.populate | "\(.populate_ns // 0) \(.leaves // 0) \(.max_hold_ns // 0) \(.slices // 0)"')
	touch_guest B $g || { destroy B $g; return 1; }
	mig_f=$TOUCH_FAULTS mig_ms=$TOUCH_MS
	gcmd B $g gap && gap=$(echo "$GOUT" | awk '{ printf "%.1f", $3 / 1000 }')
	note "$b $mode: after boot $boot_ms ms / $boot_f faults, after migration $mig_ms ms / $mig_f faults; downtime $DOWNTIME_MS ms; worst clock gap since the migration ${gap:-?} ms"
	set -- $pb $pm
	fig "backing=$b mode=$mode gap_ms=${gap:-?} boot_ms=$boot_ms boot_faults=$boot_f mig_ms=$mig_ms mig_faults=$mig_f downtime_ms=$DOWNTIME_MS migrate_ms=$ELAPSED_MS boot_populate_ns=$1 boot_leaves=$2 boot_max_hold_ns=$3 boot_slices=$4 mig_populate_ns=$5 mig_leaves=$6 mig_max_hold_ns=$7 mig_slices=$8"
	destroy B $g
	thp madvise
}
sc_bench() {
	local mode b
	begin bench "the benchmark: after boot and after migration, 4K and 2M, fault mode and populated (one run each)"
	for mode in fault populated; do
		for b in 4k 2m; do
			bench_one $mode $b || bad "$b $mode did not complete"
		done
	done
	end
}

# run
say "scenarios: $ONLY; guests of $MEM MiB, 2 vCPUs, a $LOAD MiB workload buffer"
broken=
[ -c /dev/kvm ] || broken="no /dev/kvm (KVM did not load)"
[ -c /dev/kvm_prepop ] || broken="${broken:+$broken; }no /dev/kvm_prepop (kvm_prepop did not load)"
for h in A B; do
	[ -n "$broken" ] || prepopd_start $h || broken="prepopd on $h did not start"
done
[ -n "$broken" ] || say "prepopd on A: $(/prepop/prepopctl status --state-dir $M/A/state | sed -n 1p); module: $(st A | jq -c .module)"
for sc in $ALL $EXTRA; do
	case ",$ONLY," in
	*",$sc,"*)
		if [ -n "$broken" ]; then
			say "FAIL $sc (0 s): $broken"
		else
			"sc_${sc//-/_}"
		fi ;;
	esac
done
for h in A B; do prepopd_stop $h; done
