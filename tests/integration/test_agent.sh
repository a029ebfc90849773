#!/usr/bin/env bash
# prepopd against a real libvirtd with real TCG guests (observe-only: no
# module here): it sees start/suspend/resume/destroy, decides per the
# policy, re-decides on a metadata change and a policy reload, keeps the old
# policy on a bad reload, and survives a libvirtd restart with every domain
# re-found.  Guests their owners pause stay paused and undecided until
# their owners resume them: prepopd never pauses or resumes a guest.
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
cleanup() {
	[ -n "${AGENT:-}" ] && kill "$AGENT" 2>/dev/null
	for d in $(virsh -c qemu:///system list --name 2>/dev/null); do virsh -c qemu:///system destroy "$d" >/dev/null 2>&1; done
	host_stop
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
"$PREPOPD" -c "$SRC/systemd/prepopd.conf" -u qemu:///system -p "$T/policy" -H "$T/host.json" -s "$STATE" -o 2>"$T/agent.log" &
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
rm "$T/policy/zz-broken.json"
jq '.rollout.enabled = true' "$T/policy/defaults.json" >"$T/d.json" && mv "$T/d.json" "$T/policy/defaults.json"
kill -HUP $AGENT
wait_for '.policy.generation == 3 and .policy.reload_error == null' && ok || bad "good reload after a bad one"
wait_for '.domains[] | select(.name == "d1") | .reason == "not-kvm"' && ok || bad "re-decided after the fix"

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

# prepopd never pauses or resumes a guest: it does not even link the calls
# (unless PREPOPD is a wrapper script, as test_syscalls.sh passes)
if [ "$(head -c 2 "$PREPOPD")" != "#!" ]; then
	nm -D --undefined-only "$PREPOPD" >"$T/syms" || bad "nm $PREPOPD"
	grep -q virConnectOpen "$T/syms" && ok || bad "nm found no libvirt calls in $PREPOPD"
	grep -E 'virDomain(Suspend|Resume)' "$T/syms" && bad "prepopd links virDomainSuspend/Resume" || ok
fi

echo "integration agent: $pass passed, $fail failed"
[ $fail -eq 0 ]
