#!/usr/bin/env bash
# prepopctl's commands that ask prepopd (status, explain, populate, fault,
# auto, reload), against a stand-in for prepopd's control socket
# (fake_prepopd): the requests they send, how they render the answers
# (human tables, --json), their exit codes per error code, and without
# prepopd.  The real socket is tested against the real prepopd in
# tests/integration/test_agent.sh.
#   test_ctl_online.sh PREPOPCTL FAKE_PREPOPD SOURCE_DIR
set -u
CTL=$1 FAKE=$2 SRC=$3
T=$(mktemp -d)
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() { if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }

"$FAKE" "$T/control" "$T/answer" "$T/requests" &
FAKEPID=$!
trap 'kill $FAKEPID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do [ -S "$T/control" ] && break; sleep 0.1; done
answer() { jq -c . >"$T/answer"; }	# the next answers, from stdin
last_request() { tail -n 1 "$T/requests"; }
C() { "$CTL" "$@" --state-dir "$T"; }

# status: the table, a populate line under its guest, --json is the status document
answer <<'EOJ'
{ "ok": true, "status": { "version": 1, "pid": 42, "uri": "qemu:///system", "connected": true,
  "status": "connected; 2 domains",
  "policy": { "dir": "/etc/prepop/policy.d", "generation": 3, "reload_error": null },
  "domains": [
    { "name": "big", "uuid": "u1", "state": "settled", "decisions": 1, "mode": "prepopulate", "reason": "eligible",
      "explanation": "x", "dry_run": false, "flavor": "memory-r5-x1", "override": null, "error": null,
      "populate": { "phase": "finished", "slices": 12, "leaves": 8192, "mapped_4k": 0, "mapped_2m": 8192,
                    "mapped_1g": 0, "fault_calls": 8200, "max_hold_ns": 8250000, "max_kick_ns": 310000, "kicks": 40,
                    "populate_ns": 90000000, "started": "2026-01-02T03:04:05.000Z",
                    "finished": "2026-01-02T03:04:06.500Z", "stop": "done", "stop_detail": "all RAM mapped" } },
    { "name": "busy", "uuid": "u3", "state": "populating", "decisions": 1, "mode": "prepopulate", "reason": "eligible",
      "explanation": "x", "dry_run": false, "flavor": null, "override": "prepopulate", "error": null,
      "populate": { "phase": "running", "slices": 2, "leaves": 1024, "mapped_4k": 0, "mapped_2m": 1024,
                    "mapped_1g": 0, "fault_calls": 1030, "max_hold_ns": 4000000, "max_kick_ns": 200000, "kicks": 4,
                    "populate_ns": 9000000, "started": "2026-01-02T03:05:00.000Z",
                    "finished": null, "stop": null, "stop_detail": null } },
    { "name": "small", "uuid": "u2", "state": "paused", "decisions": 0, "mode": null, "reason": null,
      "explanation": null, "dry_run": false, "flavor": null, "override": "fault", "error": null, "populate": null } ] } }
EOJ
out=$(C status)
expect "status exit" $? 0
expect "status request" "$(last_request | jq -c .)" '{"version":1,"command":"status"}'
grep -qx '  populate: done: all RAM mapped, 12 slices, leaves 8192 (4k 0, 2m 8192, 1g 0), longest vCPU hold 8.25 ms, longest kick 0.31 ms, finished 2026-01-02T03:04:06.500Z' <<<"$out" &&
	ok || bad "status populate line: $out"
grep -qx '  populate: running, 2 slices, leaves 1024 (4k 0, 2m 1024, 1g 0), longest vCPU hold 4.00 ms, longest kick 0.20 ms, started 2026-01-02T03:05:00.000Z' <<<"$out" &&
	ok || bad "status running populate line: $out"
expect "status: a line per populate" "$(grep -c '^  populate:' <<<"$out")" 2
grep -qE '^DOMAIN +STATE +MODE +REASON +FLAVOR +OVERRIDE$' <<<"$out" && ok || bad "status header: $out"
grep -qE '^small +paused +- +- +- +fault$' <<<"$out" && ok || bad "status paused row with its override: $out"
expect "status --json is the status document" "$(C status --json | jq -c '[.pid, .domains[0].populate.max_hold_ns, .domains[2].override]')" '[42,8250000,"fault"]'

# explain: the request, every part of the text
answer <<EOJ
$(jq -c '{ok: true, explain: .}' "$SRC/tests/cli/explain-big1.json")
EOJ
out=$(C explain big1)
expect "explain exit" $? 0
expect "explain request" "$(last_request | jq -c .)" '{"version":1,"command":"explain","domain":"big1"}'
for line in '^domain:    big1 \(11111111-' '^in force:  prepopulate \(eligible\)$' '^override:  none$' \
	'^policy:    /etc/prepop/policy.d, generation 1: /etc/prepop/policy.d/defaults.json \(no flavor matched domain-name "big1"\)$' \
	'^facts \(the domain.s live XML\):$' '^  vcpus +16$' '^host facts:$' '^  host_id +test-host-1$' \
	'^rules, in the order checked:$' '^   1\. kill-switch +pass +rollout.enabled is true$' \
	'^  17\. eligible +decided +16 vCPUs' '^outcome:   prepopulate \(eligible\): ' \
	'^prepopd:   observe-only: decides and reports, populates nothing$' '^populate:  slices of 50 ms, 20 ms apart'; do
	grep -qE "$line" <<<"$out" && ok || bad "explain text: no /$line/ in: $out"
done
expect "explain --json is the explain document" "$(C explain big1 --json | jq -c '[.domain, .decision.reason, (.decision.rules | length)]')" '["big1","eligible",17]'
"$CTL" explain --state-dir "$T" >/dev/null 2>"$T/e"
expect "explain without a domain: exit" $? 2
grep -q 'usage: prepopctl explain DOMAIN' "$T/e" && ok || bad "explain usage: $(cat "$T/e")"

# overrides: the mode each command asks for, the answer rendered
answer <<'EOJ'
{"ok":true,"domain":"big1","uuid":"u1","override":"fault","previous":null,"running":true,
 "status":{"name":"big1","state":"settled","mode":"fault","reason":"override-fault"}}
EOJ
out=$(C fault big1)
expect "fault exit" $? 0
expect "fault request" "$(last_request | jq -c .)" '{"version":1,"command":"override","domain":"big1","mode":"fault"}'
expect "fault output" "$out" "big1: override fault (was none)
big1: fault (override-fault), settled"
C populate big1 >/dev/null
expect "populate request" "$(last_request | jq -c .mode)" '"prepopulate"'
C auto big1 >/dev/null
expect "auto request" "$(last_request | jq -c .mode)" '"auto"'
answer <<<'{"ok":true,"domain":"later","uuid":"u9","override":null,"previous":"fault","running":false}'
expect "auto of a guest not running" "$(C auto later)" "later: override cleared: the policy decides (was fault)
later: not running: applies once it starts"

# error codes -> exit status; the error on stderr; --json prints the answer
while read -r code status; do
	answer <<<"{\"ok\":false,\"code\":\"$code\",\"error\":\"it is $code\"}"
	C fault big1 >"$T/o" 2>"$T/e"
	expect "exit for $code" $? "$status"
	expect "stderr for $code" "$(cat "$T/e")" "prepopctl: it is $code"
	expect "--json for $code" "$(C fault big1 --json 2>/dev/null | jq -r .code)" "$code"
done <<'EOT'
bad-request 2
unknown-domain 2
invalid-policy 2
permission-denied 3
unavailable 1
failed 1
EOT

# reload: success; a bad policy: every error as FILE: PATH: message
answer <<<'{"ok":true,"generation":4,"policy_dir":"/etc/prepop/policy.d"}'
expect "reload output" "$(C reload)" "prepopd: policy /etc/prepop/policy.d, generation 4 in force; every guest decided again"
answer <<'EOJ'
{"ok":false,"code":"invalid-policy","error":"the new policy in /p is invalid: generation 3 stays in force",
 "errors":[{"file":"/p/a.json","path":"$.mode","message":"unknown mode \"x\"","text":"/p/a.json: $.mode: unknown mode \"x\""},
           {"file":"/p/b.json","path":null,"message":"cannot load","text":"/p/b.json: cannot load"}],
 "generation":3,"policy_dir":"/p"}
EOJ
C reload >"$T/o" 2>"$T/e"
expect "reload of a bad policy: exit" $? 2
expect "reload errors" "$(cat "$T/e")" 'prepopctl: the new policy in /p is invalid: generation 3 stays in force
/p/a.json: $.mode: unknown mode "x"
/p/b.json: cannot load'
expect "reload: nothing on stdout" "$(cat "$T/o")" ""

# garbage from the socket
answer <<<'not json'
C status >/dev/null 2>"$T/e"
expect "an answer that is not JSON: exit" $? 1
grep -q "answer is not JSON" "$T/e" && ok || bad "not JSON: $(cat "$T/e")"

# no prepopd: exit 1, saying so; the socket option and its environment variable
"$CTL" status --state-dir "$T/nonexistent" >/dev/null 2>"$T/e"
expect "status without prepopd: exit" $? 1
grep -q "cannot reach prepopd at $T/nonexistent/control: No such file or directory (is prepopd running?)" "$T/e" && ok ||
	bad "status without prepopd: $(cat "$T/e")"
answer <<<'{"ok":true,"status":{"pid":7}}'
expect "--socket" "$("$CTL" status --socket "$T/control" --json | jq .pid)" 7
expect "PREPOP_CONTROL_SOCKET" "$(PREPOP_CONTROL_SOCKET=$T/control "$CTL" status --json | jq .pid)" 7
"$CTL" status extra --state-dir "$T" >/dev/null 2>&1
expect "status with an argument: exit" $? 2
"$CTL" reload --frobnicate >/dev/null 2>&1
expect "unknown option: exit" $? 2

# the usage lists every command of the table; the bash completion knows each of them
"$CTL" help >"$T/help"
expect "help exit" $? 0
cmds=$(sed -n 's/^  prepopctl \([a-z]*\) .*/\1/p' "$T/help" | grep -vx help | sort -u | tr '\n' ' ')
expect "commands" "$cmds" "auto decide explain fault policy populate reload rollout status "
comp=$SRC/ctl/prepopctl.bash-completion
bash -n "$comp" && ok || bad "completion: syntax"
for c in $cmds; do
	grep -q "commands=\".*\\b$c\\b" "$comp" && ok || bad "completion does not offer $c"
done
# completing the first word, with bash-completion's helper stubbed
out=$(bash -c '_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
	. "$1"; COMP_WORDS=(prepopctl ex); COMP_CWORD=1; _prepopctl; echo "${COMPREPLY[*]}"
	COMP_WORDS=(prepopctl explain --j); COMP_CWORD=2; _prepopctl; echo "${COMPREPLY[*]}"' _ "$comp")
expect "completion" "$out" "explain
--json"

echo "prepopctl online: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
