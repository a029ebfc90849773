#!/usr/bin/env bash
# prepopd against a real libvirtd with real TCG guests (observe-only: no
# module here): it sees start/suspend/resume/destroy, decides per the
# policy, re-decides on a metadata change and a policy reload, keeps the old
# policy on a bad reload, and survives a libvirtd restart with every domain
# re-found.  Guests their owners pause stay paused and undecided until
# their owners resume them: prepopd never pauses or resumes a guest.
# Everything prepopctl asks goes through the control socket
# (STATE_DIR/control): status, reload (a bad policy reported, the old one
# kept), overrides (also of a guest not running yet), and who may ask (a
# peer neither root nor in the control group is refused).  Then KVM guests
# held by libvirt's test driver (this machine runs no KVM guest): explain of
# an eligible guest and of an SMM guest, overrides that survive restarts.
#   test_agent.sh PREPOPD PREPOPCTL SOURCE_DIR
set -u
if [ -z "${PP_IN_NS:-}" ]; then
	exec env PP_IN_NS=1 unshare -m --propagation private bash "$0" "$@"
fi
PREPOPD=$1 CTL=$2 SRC=$3
T=$(mktemp -d /tmp/pp-agent-XXXXXX)
. "$SRC/tests/integration/libvirt-host.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
CTLGROUP=pp-ctltest$$	# the control group, for this test only
cleanup() {
	[ -n "${AGENT:-}" ] && kill "$AGENT" 2>/dev/null
	for d in $(virsh -c qemu:///system list --name 2>/dev/null); do virsh -c qemu:///system destroy "$d" >/dev/null 2>&1; done
	host_stop
	getent group "$CTLGROUP" >/dev/null && groupdel "$CTLGROUP"
}
trap cleanup EXIT

host_setup "$T/host"
host_start || exit 1
V="virsh -q -c qemu:///system"
cp -r "$SRC/policy/policy.d" "$T/policy"
echo '{ "host_id": "test-host-1", "groups": ["canary"] }' >"$T/host.json"
STATE=$T/state

st() { "$CTL" status --state-dir "$STATE" --json 2>/dev/null; }
# wait_for JQ-EXPR: until the status satisfies it (10 s)
wait_for() {
	for _ in $(seq 100); do
		[ "$(st | jq -r "$1" 2>/dev/null)" == "true" ] && return 0
		sleep 0.1
	done
	return 1
}
dom() { st | jq -c ".domains[] | select(.name == \"$1\") | $2"; }

# a bad configuration file: a clear error and exit 2
echo '{ "uri": "qemu:///system", "colour": 1 }' >"$T/bad.conf"
"$PREPOPD" -c "$T/bad.conf" 2>"$T/bad.err"
expect_rc=$?
[ $expect_rc -eq 2 ] && grep -q 'bad.conf: $.colour: unknown key "colour"' "$T/bad.err" && ok || bad "bad config: exit $expect_rc, $(cat "$T/bad.err")"

# the shipped sample configuration, with command-line overrides
"$PREPOPD" -c "$SRC/systemd/prepopd.conf" -u qemu:///system -p "$T/policy" -H "$T/host.json" -s "$STATE" -L "$T/lib" -o 2>"$T/agent.log" &
AGENT=$!
wait_for '.connected' && ok || bad "agent never connected: $(cat "$T/agent.log")"
expect() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }

guest_xml d1 >"$T/d1.xml"
$V create "$T/d1.xml" >/dev/null || bad "virsh create d1"
wait_for '[.domains[] | select(.name == "d1" and .state == "settled")] | length == 1' && ok || bad "d1 not settled"
expect "d1 decision" "$(dom d1 '[.mode, .reason, .decisions]')" '["fault","not-kvm",1]'

# a settled guest its owner pauses: left paused (its tables are intact), not decided again
$V suspend d1 >/dev/null
sleep 1
expect "a paused guest stays paused" "$($V domstate d1)" paused
expect "pausing a settled guest decides nothing" "$(dom d1 '[.state, .decisions]')" '["settled",1]'
$V resume d1 >/dev/null
sleep 0.5
expect "suspend/resume decides nothing" "$(dom d1 '[.state, .decisions]')" '["settled",1]'

# created paused: nothing decided, left paused, until its owner resumes it
guest_xml d3 >"$T/d3.xml"
$V create "$T/d3.xml" --paused >/dev/null || bad "virsh create --paused d3"
wait_for '[.domains[] | select(.name == "d3" and .state == "paused")] | length == 1' && ok || bad "d3 not seen paused: $(dom d3 .)"
sleep 1
expect "created paused: left paused" "$($V domstate d3)" paused
expect "created paused: nothing decided" "$(dom d3 '[.state, .decisions, .mode]')" '["paused",0,null]'
# a change while paused is decided once it runs
$V desc d3 --live "changed while paused" >/dev/null
sleep 0.5
expect "a metadata change while paused decides nothing" "$(dom d3 '[.state, .decisions]')" '["paused",0]'
$V resume d3 >/dev/null
wait_for '.domains[] | select(.name == "d3") | .state == "settled" and .decisions == 1' && ok ||
	bad "d3 not decided once resumed: $(dom d3 .)"
expect "d3 running" "$($V domstate d3)" running
# a settled guest paused, then changed: decided once resumed, not while paused
$V suspend d3 >/dev/null
$V desc d3 --live "changed again while paused" >/dev/null
wait_for '.domains[] | select(.name == "d3") | .state == "paused"' && ok || bad "d3 not held paused: $(dom d3 .)"
expect "d3 still undecided while paused" "$(dom d3 .decisions)" 1
expect "d3 left paused" "$($V domstate d3)" paused
$V resume d3 >/dev/null
wait_for '.domains[] | select(.name == "d3") | .state == "settled" and .decisions == 2' && ok ||
	bad "d3 not decided again once resumed: $(dom d3 .)"
$V destroy d3 >/dev/null

$V desc d1 --live "changed" >/dev/null
wait_for '.domains[] | select(.name == "d1") | .decisions == 2' && ok || bad "metadata change did not re-decide: $(dom d1 .)"

# reload: the kill switch
jq '.rollout.enabled = false' "$T/policy/defaults.json" >"$T/d.json" && mv "$T/d.json" "$T/policy/defaults.json"
kill -HUP $AGENT
wait_for '.policy.generation == 2' && ok || bad "reload did not take"
wait_for '.domains[] | select(.name == "d1") | .reason == "disabled"' && ok || bad "kill switch not applied: $(dom d1 .)"

# a bad reload keeps the old policy, and says so
echo '{ "flavor": "broken", "match": ["x*"], "mode": "sometimes" }' >"$T/policy/zz-broken.json"
kill -HUP $AGENT
wait_for '.policy.reload_error != null' && ok || bad "bad reload not reported"
expect "generation kept" "$(st | jq .policy.generation)" 2
grep -q 'zz-broken.json: $.mode: unknown mode "sometimes"' <<<"$(st | jq -r .policy.reload_error)" && ok || bad "reload error text: $(st | jq -r .policy.reload_error)"
expect "old policy still decides" "$(dom d1 .reason)" '"disabled"'
grep -q 'unknown mode "sometimes"' "$T/agent.log" && ok || bad "reload error not logged"
grep -q "policy reload FAILED" <<<"$("$CTL" status --state-dir "$STATE")" && ok || bad "text status does not show the failed reload"
# ... and so does prepopctl reload, error by error, exit 2, the old policy kept
"$CTL" reload --state-dir "$STATE" >"$T/o" 2>"$T/e"
expect "reload of a bad policy: exit" $? 2
grep -q 'zz-broken.json: $.mode: unknown mode "sometimes"' "$T/e" && ok || bad "prepopctl reload errors: $(cat "$T/e")"
grep -q 'generation 2 stays in force' "$T/e" && ok || bad "prepopctl reload summary: $(cat "$T/e")"
expect "reload --json" "$("$CTL" reload --state-dir "$STATE" --json 2>/dev/null | jq -c '[.ok, .code, .generation, (.errors | length), .errors[0].file != null]')" '[false,"invalid-policy",2,1,true]'
expect "generation still kept" "$(st | jq .policy.generation)" 2
expect "old policy still decides after prepopctl reload" "$(dom d1 .reason)" '"disabled"'
rm "$T/policy/zz-broken.json"
jq '.rollout.enabled = true' "$T/policy/defaults.json" >"$T/d.json" && mv "$T/d.json" "$T/policy/defaults.json"
"$CTL" reload --state-dir "$STATE" >"$T/o" 2>"$T/e"
expect "good reload through prepopctl: exit" $? 0
grep -q 'generation 3 in force' "$T/o" && ok || bad "prepopctl reload output: $(cat "$T/o" "$T/e")"
wait_for '.policy.generation == 3 and .policy.reload_error == null' && ok || bad "good reload after a bad one"
wait_for '.domains[] | select(.name == "d1") | .reason == "not-kvm"' && ok || bad "re-decided after the fix"

# explain of a TCG guest: the chain stops at the domain type
out=$("$CTL" explain d1 --state-dir "$STATE" --json)
expect "explain d1: exit" $? 0
expect "explain d1" "$(jq -c '[.decision.mode, .decision.reason, .decision.rules[-1].rule, .decision.rules[-1].result, .facts.domain_type, .status.state, .acts]' <<<"$out")" \
	'["fault","not-kvm","domain-type","decided","qemu","settled","fault"]'
"$CTL" explain nosuch --state-dir "$STATE" >/dev/null 2>"$T/e"
expect "explain of an unknown domain: exit" $? 2
grep -q 'no running domain "nosuch"' "$T/e" && ok || bad "explain nosuch: $(cat "$T/e")"

# an override of a guest not running yet: kept, shown once it runs
guest_xml d4 >"$T/d4.xml"
$V define "$T/d4.xml" >/dev/null || bad "virsh define d4"
out=$("$CTL" fault d4 --state-dir "$STATE")
expect "override of a defined guest: exit" $? 0
grep -q 'd4: not running: applies once it starts' <<<"$out" && ok || bad "fault d4: $out"
$V start d4 >/dev/null || bad "virsh start d4"
wait_for '.domains[] | select(.name == "d4") | .state == "settled" and .override == "fault"' && ok ||
	bad "d4's override not shown once it runs: $(dom d4 .)"
expect "overrides file" "$(jq -c '[.overrides[] | [.name, .mode]]' "$T/lib/overrides.json")" '[["d4","fault"]]'
"$CTL" auto d4 --state-dir "$STATE" >/dev/null && ok || bad "auto d4"
wait_for '.domains[] | select(.name == "d4") | .override == null' && ok || bad "d4's override not cleared: $(dom d4 .)"
expect "overrides file after auto" "$(jq -c '.overrides' "$T/lib/overrides.json")" '[]'
$V destroy d4 >/dev/null; $V undefine d4 >/dev/null
"$CTL" populate nosuch --state-dir "$STATE" >/dev/null 2>"$T/e"
expect "override of an unknown domain: exit" $? 2

# who may ask: root, or the control group; nobody else
expect "socket mode (no control group on this host)" "$(stat -c %a "$STATE/control")" 600
chmod 755 "$T" "$STATE"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --state-dir "$STATE" >/dev/null 2>"$T/e"
expect "nobody, by the socket's mode: exit" $? 3
grep -q 'permission denied' "$T/e" && ok || bad "nobody refused: $(cat "$T/e")"
# a socket whose mode lets anyone connect: prepopd checks the peer itself
chmod 666 "$STATE/control"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --state-dir "$STATE" >/dev/null 2>"$T/e"
expect "nobody, by its credentials: exit" $? 3
grep -q 'permission denied: only root may use it (group "prepop" does not exist)' "$T/e" && ok || bad "peer check: $(cat "$T/e")"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" fault d1 --state-dir "$STATE" >/dev/null 2>&1
expect "nobody cannot set an override" "$(dom d1 .override)" null
grep -q 'control: refused pid' "$T/agent.log" && ok || bad "refusal not logged"

# libvirtd restarts: the agent reconnects and re-finds d1 (QEMU outlives libvirtd)
host_restart || bad "libvirtd restart"
wait_for '.connected and .connects >= 2' && ok || bad "no reconnect after libvirtd restart: $(st | jq -c '{connected, connects}')"
wait_for '[.domains[] | select(.name == "d1")] | length == 1' && ok || bad "d1 lost across the restart"
guest_xml d2 >"$T/d2.xml"
$V create "$T/d2.xml" >/dev/null || bad "virsh create d2"
wait_for '[.domains[] | select(.name == "d2" and .state == "settled")] | length == 1' && ok || bad "d2 not seen after reconnect"

# libvirtd down for a while: backoff, then everything re-found
host_stop
$V list >/dev/null 2>&1 && bad "libvirtd still up"
wait_for '.connected == false' && ok || bad "disconnect not noticed"
sleep 2
host_start
wait_for '.connected and .connects >= 3' && ok || bad "no reconnect after a longer outage"
wait_for '[.domains[] | select(.name == "d1" or .name == "d2")] | length == 2' && ok || bad "domains lost across the outage"

$V destroy d1 >/dev/null
wait_for '[.domains[] | select(.name == "d1")] | length == 0' && ok || bad "destroyed d1 not forgotten"
expect "d2 still there" "$(dom d2 .state)" '"settled"'

kill -TERM $AGENT
wait $AGENT
expect "agent exit on SIGTERM" $? 0
AGENT=

# a guest found paused at start-up is left paused and undecided until resumed
$V suspend d2 >/dev/null
"$PREPOPD" -u qemu:///system -p "$T/policy" -H "$T/host.json" -s "$STATE" -o 2>"$T/agent2.log" &
AGENT=$!
wait_for '.connected and ([.domains[] | select(.name == "d2" and .state == "paused")] | length == 1)' && ok ||
	bad "d2 not found paused at start-up: $(dom d2 .)"
sleep 1
expect "a guest paused by its owner stays paused" "$($V domstate d2)" paused
expect "and undecided" "$(dom d2 .decisions)" 0
$V resume d2 >/dev/null
wait_for '.domains[] | select(.name == "d2") | .state == "settled" and .decisions == 1' && ok ||
	bad "d2 not decided once resumed: $(dom d2 .)"
kill -TERM $AGENT; wait $AGENT; AGENT=
[ -e "$STATE/control" ] && bad "control socket left behind" || ok

# the control group: its members may ask (primary or supplementary group)
groupadd -r "$CTLGROUP" || bad "groupadd"
echo "{ \"control_group\": \"$CTLGROUP\" }" >"$T/group.conf"
"$PREPOPD" -c "$T/group.conf" -u qemu:///system -p "$T/policy" -H "$T/host.json" -s "$STATE" -L "$T/lib" -o 2>"$T/agent3.log" &
AGENT=$!
wait_for '.connected' && ok || bad "agent with a control group: $(cat "$T/agent3.log")"
expect "socket mode and group" "$(stat -c '%a %G' "$STATE/control")" "660 $CTLGROUP"
setpriv --reuid=nobody --regid=nogroup --groups="$CTLGROUP" "$CTL" status --state-dir "$STATE" >/dev/null 2>"$T/e"
expect "a member of the control group may ask" $? 0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --state-dir "$STATE" >/dev/null 2>&1
expect "a non-member may not" $? 3
chmod 666 "$STATE/control"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$CTL" status --state-dir "$STATE" >/dev/null 2>"$T/e"
expect "a non-member may not, by its credentials" $? 3
grep -q "permission denied: uid 65534 is neither root nor in group \"$CTLGROUP\"" "$T/e" && ok || bad "peer check with a group: $(cat "$T/e")"
kill -TERM $AGENT; wait $AGENT; AGENT=

# KVM guests (libvirt's test driver; QEMU cannot run one here): explain of an
# eligible guest and of an SMM guest; overrides kept across restarts
big_uuid=6f0c4a3e-0000-4000-8000-00000000b161
cat >"$T/node.xml" <<EOX
<node>
<domain type='kvm'><name>big1</name><uuid>$big_uuid</uuid><memory unit='GiB'>16</memory><vcpu>16</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><features><smm state='off'/></features>
  <devices><memballoon model='none'/></devices></domain>
<domain type='kvm'><name>smm1</name><uuid>6f0c4a3e-0000-4000-8000-0000000005a1</uuid><memory unit='GiB'>16</memory><vcpu>16</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><features><smm state='on'/></features>
  <devices><memballoon model='none'/></devices></domain>
</node>
EOX
KST=$T/kvm-state
echo '{ "host_id": "test-host-1", "groups": ["canary"], "mem_total_bytes": 274877906944 }' >"$T/kvm-host.json"
start_kvm() {
	"$PREPOPD" -u "test://$T/node.xml" -p "$T/policy" -H "$T/kvm-host.json" -s "$KST" -L "$T/kvm-lib" -o 2>>"$T/agent-kvm.log" &
	AGENT=$!
	STATE=$KST wait_for '.connected and (.domains | length) == 2 and ([.domains[] | select(.state == "settled")] | length) == 2'
}
kst() { "$CTL" status --state-dir "$KST" --json 2>/dev/null; }
kdom() { kst | jq -c ".domains[] | select(.name == \"$1\") | $2"; }
start_kvm && ok || bad "agent on the test driver: $(cat "$T/agent-kvm.log")"
out=$("$CTL" explain big1 --state-dir "$KST" --json)
expect "explain big1: exit" $? 0
expect "explain big1: outcome" "$(jq -c '[.decision.mode, .decision.reason, .decision.rules[-1].rule, .decision.rules[-1].result, .acts, .override]' <<<"$out")" \
	'["prepopulate","eligible","eligible","decided","observe-only",null]'
expect "explain big1: every rule before passed" "$(jq '[.decision.rules[:-1][] | select(.result != "pass")] | length' <<<"$out")" 0
expect "explain big1: the chain in order" "$(jq -c '[.decision.rules[] | .rule] | .[:4]' <<<"$out")" '["kill-switch","rollout","domain-type","override"]'
expect "explain big1: inputs" "$(jq -c '[.facts.vcpus, .facts.memory_bytes, .facts.smm_state, .host.host_id, .policy.generation, .decision.policy.file, .migration]' <<<"$out")" \
	"[16,17179869184,\"off\",\"test-host-1\",1,\"$T/policy/defaults.json\",\"none\"]"
out=$("$CTL" explain smm1 --state-dir "$KST" --json)
expect "explain smm1: outcome" "$(jq -c '[.decision.mode, .decision.reason, .decision.rules[-1].rule, .decision.rules[-1].result, .facts.smm_state, .status.reason]' <<<"$out")" \
	'["fault","smm","smm","decided","on","smm"]'
"$CTL" explain big1 --state-dir "$KST" >"$T/explain-big1.txt"
"$CTL" explain smm1 --state-dir "$KST" >"$T/explain-smm1.txt"
grep -q '^outcome:   prepopulate (eligible): 16 vCPUs and 16 GiB' "$T/explain-big1.txt" && ok || bad "explain big1 text: $(cat "$T/explain-big1.txt")"
grep -qE '^ +[0-9]+\. smm +decided ' "$T/explain-smm1.txt" && ok || bad "explain smm1 text: $(cat "$T/explain-smm1.txt")"
# overrides: fault on the eligible guest, populate on the SMM guest (whose fallback still wins)
"$CTL" fault big1 --state-dir "$KST" >/dev/null && ok || bad "fault big1"
"$CTL" populate smm1 --state-dir "$KST" >/dev/null && ok || bad "populate smm1"
expect "overrides in force" "$(kst | jq -c '[.domains[] | [.name, .override, .reason]] | sort')" \
	'[["big1","fault","override-fault"],["smm1","prepopulate","smm"]]'
# ... across a restart of prepopd
kill -TERM $AGENT; wait $AGENT; AGENT=
start_kvm && ok || bad "agent on the test driver, restarted"
expect "overrides kept across a restart" "$(kst | jq -c '[.domains[] | [.name, .override, .reason]] | sort')" \
	'[["big1","fault","override-fault"],["smm1","prepopulate","smm"]]'
out=$("$CTL" explain big1 --state-dir "$KST" --json)
expect "explain shows the override" "$(jq -c '[.override.mode, .facts.override, .decision.rules[-1].rule, .decision.reason]' <<<"$out")" \
	'["fault","fault","override","override-fault"]'
grep -q "^override:  fault, set .* by the operator" <<<"$("$CTL" explain big1 --state-dir "$KST")" && ok || bad "explain text shows no override"
"$CTL" auto big1 --state-dir "$KST" >/dev/null && ok || bad "auto big1"
expect "auto: the policy decides" "$(kdom big1 '[.override, .reason]')" '[null,"eligible"]'
kill -TERM $AGENT; wait $AGENT; AGENT=
start_kvm && ok || bad "agent on the test driver, restarted again"
expect "cleared override stays cleared" "$(kst | jq -c '[.domains[] | [.name, .override, .reason]] | sort')" \
	'[["big1",null,"eligible"],["smm1","prepopulate","smm"]]'
# an overcommitted host (host facts: 24 GiB; the two guests: 32 GiB): the
# first decisions after a start already weigh every running guest
kill -TERM $AGENT; wait $AGENT; AGENT=
echo '{ "host_id": "test-host-1", "groups": ["canary"], "mem_total_bytes": 25769803776 }' >"$T/kvm-host.json"
start_kvm && ok || bad "agent on the test driver, overcommitted"
out=$("$CTL" explain big1 --state-dir "$KST" --json)
expect "explain on an overcommitted host" "$(jq -c '[.decision.mode, .decision.reason, .decision.rules[-1].rule, .host.mem_total_bytes, .host.guest_memory_bytes]' <<<"$out")" \
	'["fault","overcommit","overcommit",25769803776,34359738368]'
"$CTL" explain big1 --state-dir "$KST" >"$T/explain-overcommit.txt"
# a broken overrides file: prepopd refuses to start, naming it
kill -TERM $AGENT; wait $AGENT; AGENT=
echo '{ "version": 1, "overrides": [ { "uuid": "x" } ] }' >"$T/kvm-lib/overrides.json"
"$PREPOPD" -u "test://$T/node.xml" -p "$T/policy" -H "$T/kvm-host.json" -s "$KST" -L "$T/kvm-lib" -o 2>"$T/e"
expect "broken overrides file: exit" $? 1
grep -q 'overrides.json: $.overrides\[0\]: expected uuid, name and mode' "$T/e" && ok || bad "broken overrides: $(cat "$T/e")"

# prepopd never pauses or resumes a guest: it does not even link the calls
# (unless PREPOPD is a wrapper script, as test_syscalls.sh passes)
if [ "$(head -c 2 "$PREPOPD")" != "#!" ]; then
	nm -D --undefined-only "$PREPOPD" >"$T/syms" || bad "nm $PREPOPD"
	grep -q virConnectOpen "$T/syms" && ok || bad "nm found no libvirt calls in $PREPOPD"
	grep -E 'virDomain(Suspend|Resume)' "$T/syms" && bad "prepopd links virDomainSuspend/Resume" || ok
fi

echo "integration agent: $pass passed, $fail failed"
[ $fail -eq 0 ]
