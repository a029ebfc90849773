#!/usr/bin/env bash
# prepopctl against the bundled examples: decisions, facts, exit codes, errors.
# usage: test_prepopctl.sh PREPOPCTL SOURCE_DIR
set -u
CTL=$1
SRC=$2
EX=$SRC/policy/examples
POL=$SRC/policy/policy.d
HOST=$EX/host.json
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect NAME GOT WANT
expect() {
	if [ "$2" == "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}

decide() { # XML [extra args] -> JSON on stdout
	local x=$1; shift
	"$CTL" decide --policy "$POL" --domain-xml "$EX/domains/$x" --host-facts "$HOST" --json "$@"
}

# mode/reason per bundled example
while read -r xml mode reason flavor; do
	out=$(decide "$xml") || { bad "$xml: exit $?"; continue; }
	expect "$xml mode" "$(jq -r .mode <<<"$out")" "$mode"
	expect "$xml reason" "$(jq -r .reason <<<"$out")" "$reason"
	expect "$xml policy flavor" "$(jq -r .policy.flavor <<<"$out")" "$flavor"
done <<'EOT'
nova-r5-2m-numa.xml prepopulate eligible memory-r5-x1
nova10-x1-1g-per-node.xml prepopulate eligible memory-r5-x1
small-fpr-balloon.xml fault balloon null
ovmf-secure-boot.xml fault smm general-m5
explicit-smm.xml fault smm database-db
virtio-mem-hotplug.xml prepopulate eligible general-m5
tcg-guest.xml fault not-kvm null
hugepages-default-size.xml prepopulate eligible memory-r5-x1
EOT

# facts: exactly the documented keys, with their values
out=$(decide nova-r5-2m-numa.xml)
expect "facts keys" "$(jq -c '.facts | keys_unsorted | sort' <<<"$out")" \
	'["balloon","current_memory_bytes","domain_type","extra_specs","flavor","hugepages","locked","max_memory_bytes","memory_bytes","memory_devices","name","smm","smm_state","uuid","vcpus","vcpus_max"]'
expect "top-level keys" "$(jq -c 'keys | sort' <<<"$out")" \
	'["dry_run","explanation","facts","mode","policy","populate","reason"]'
expect "facts nova" "$(jq -c '.facts | [.name, .uuid, .domain_type, .vcpus, .vcpus_max, .memory_bytes, .current_memory_bytes, .max_memory_bytes, .hugepages, .locked, .smm, .smm_state, .balloon, .memory_devices, .flavor, .extra_specs["hw:cpu_policy"]]' <<<"$out")" \
	'["instance-0000a1b2","7f3c2a9e-1d4b-4c5e-9a8f-2b6d0e1f3a47","kvm",16,16,68719476736,68719476736,null,[2097152],false,false,"default",{"model":"virtio","autodeflate":false,"free_page_reporting":false},[],"r5.4xlarge","dedicated"]'
expect "policy block" "$(jq -c '.policy | [.glob, .matched, .matched_on]' <<<"$out")" '["r5.*","r5.4xlarge","nova-flavor"]'
expect "populate block" "$(jq -c '.populate' <<<"$out")" '{"slice_budget_ms":100,"slice_gap_ms":20,"workers":0,"total_budget_ms":300000,"boot_delay_ms":10000}'
out=$(decide nova10-x1-1g-per-node.xml)
expect "1G pages" "$(jq -c '.facts | [.hugepages, .locked, .smm, .smm_state, .balloon, .extra_specs]' <<<"$out")" '[[1073741824,1073741824],true,false,"off",null,{}]'
out=$(decide hugepages-default-size.xml)
expect "default pages" "$(jq -c .facts.hugepages <<<"$out")" '["default"]'
out=$(decide small-fpr-balloon.xml)
expect "balloon facts" "$(jq -c '.facts | [.hugepages, .balloon, .flavor, .current_memory_bytes]' <<<"$out")" \
	'[null,{"model":"virtio","autodeflate":true,"free_page_reporting":true},null,1610612736]'
out=$(decide ovmf-secure-boot.xml)
expect "secure boot" "$(jq -c '.facts | [.smm, .smm_state, .flavor]' <<<"$out")" '[true,"default","m5.4xlarge"]'
out=$(decide virtio-mem-hotplug.xml)
expect "memory devices" "$(jq -c '.facts | [.vcpus, .vcpus_max, .max_memory_bytes, .memory_devices]' <<<"$out")" \
	'[16,32,274877906944,[{"model":"virtio-mem","size_bytes":68719476736,"requested_bytes":17179869184,"node":0},{"model":"dimm","size_bytes":17179869184,"requested_bytes":null,"node":0}]]'

# migration context
expect "post-copy" "$(decide nova-r5-2m-numa.xml --migration postcopy | jq -r .reason)" postcopy
expect "pre-copy" "$(decide nova-r5-2m-numa.xml --migration precopy | jq -r .reason)" eligible

# text output
out=$("$CTL" decide --policy "$POL" --domain-xml "$EX/domains/nova-r5-2m-numa.xml" --host-facts "$HOST")
grep -q '^decision:  prepopulate (eligible)$' <<<"$out" && ok || bad "text decision line: $out"
grep -q 'flavor "memory-r5-x1" (glob "r5.\*" matched nova-flavor "r5.4xlarge")' <<<"$out" && ok || bad "text policy line: $out"

# bad input: exit 2, the error on stderr naming what is wrong
printf '<domain type="kvm"><name>x</name><memory unit="zz">1</memory></domain>' >"$TMP/bad.xml"
"$CTL" decide --policy "$POL" --domain-xml "$TMP/bad.xml" --host-facts "$HOST" >"$TMP/o" 2>"$TMP/e"
expect "bad xml exit" $? 2
grep -q '/domain/memory: unknown unit' "$TMP/e" && ok || bad "bad xml message: $(cat "$TMP/e")"
[ ! -s "$TMP/o" ] && ok || bad "bad xml printed a decision"
printf '<domain' >"$TMP/trunc.xml"
"$CTL" decide --policy "$POL" --domain-xml "$TMP/trunc.xml" >/dev/null 2>"$TMP/e"
expect "malformed exit" $? 2
grep -q 'malformed XML at line 1' "$TMP/e" && ok || bad "malformed message: $(cat "$TMP/e")"
"$CTL" decide --policy "$POL" >/dev/null 2>&1
expect "no --domain-xml" $? 2
"$CTL" decide --policy "$POL" --domain-xml "$EX/domains/tcg-guest.xml" --migration sideways >/dev/null 2>&1
expect "bad --migration" $? 2
"$CTL" decide --policy "$POL" --domain-xml "$TMP/none.xml" >/dev/null 2>"$TMP/e"
expect "missing xml exit" $? 2
grep -q 'none.xml: cannot read: No such file or directory' "$TMP/e" && ok || bad "missing xml message"
echo '{ "host_id": 5, "colour": "red" }' >"$TMP/host.json"
"$CTL" decide --policy "$POL" --domain-xml "$EX/domains/tcg-guest.xml" --host-facts "$TMP/host.json" >/dev/null 2>"$TMP/e"
expect "bad host facts exit" $? 2
expect "bad host facts errors" "$(grep -c 'host.json: \$\.' "$TMP/e")" 2
"$CTL" frobnicate >/dev/null 2>&1
expect "unknown command" $? 2

# policy check: valid sample, then a broken copy reporting every error
"$CTL" policy check "$POL" >"$TMP/o" 2>&1
expect "policy check exit" $? 0
grep -q "is valid: defaults and 4 flavors" "$TMP/o" && ok || bad "policy check output"
expect "effective flavor" "$("$CTL" policy check "$POL" --json | jq -c '.flavors[] | select(.flavor == "burstable-t3") | [.mode, .eligibility.min_vcpus, .populate.slice_budget_ms]')" '["fault",8,50]'
cp -r "$POL" "$TMP/pol"
sed -i 's/"min_vcpus": 8/"min_vcpus": "eight"/' "$TMP/pol/defaults.json"
sed -i 's/"t3.\*"/"m5.x*"/' "$TMP/pol/burstable-t3.json"
echo '{ "flavor": "z", "match": ["z.*"], "mode": "always" }' >"$TMP/pol/z.json"
"$CTL" policy check "$TMP/pol" >"$TMP/o" 2>"$TMP/e"
expect "broken policy exit" $? 2
expect "broken policy error count" "$(grep -c '^/' "$TMP/e")" 3
grep -q 'defaults.json: \$\.eligibility\.min_vcpus: expected an integer, got string' "$TMP/e" && ok || bad "type error: $(cat "$TMP/e")"
grep -q 'general-m5.json: \$.match\[0\]: glob "m5.\*" overlaps glob "m5.x\*" of flavor "burstable-t3"' "$TMP/e" && ok || bad "overlap error: $(cat "$TMP/e")"
grep -q 'z.json: \$\.mode: unknown mode "always"' "$TMP/e" && ok || bad "mode error: $(cat "$TMP/e")"
grep -q '3 errors' "$TMP/e" && ok || bad "error summary"

# rollout
out=$("$CTL" rollout --policy "$POL" --host-facts "$HOST" --json)
expect "rollout canary" "$(jq -c '[.host_id, .in_rollout, .why]' <<<"$out")" '["hv-eu1-rack12-07",true,"included-group"]'
printf 'abcdef0123456789abcdef0123456789\n' >"$TMP/machine-id"
out=$(PREPOP_MACHINE_ID_FILE=$TMP/machine-id "$CTL" rollout --policy "$POL" --host-facts "$TMP/nonexistent.json" --json 2>&1)
expect "explicit missing host facts" "$?" 2
out=$(PREPOP_MACHINE_ID_FILE=$TMP/machine-id "$CTL" rollout --policy "$POL" --json)
expect "machine-id host" "$(jq -c '[.host_id, .host_id_source, .in_rollout, .why]' <<<"$out")" \
	"[\"abcdef0123456789abcdef0123456789\",\"$TMP/machine-id\",true,\"in-percent\"]"

# the host-wide populate cap: in the effective policy, and where it may be set
out=$("$CTL" policy check "$POL" --json)
expect "concurrency cap" "$(jq .rollout.max_concurrent_guests <<<"$out")" 2
mkdir -p "$TMP/cap" && cp "$POL/defaults.json" "$TMP/cap/"
echo '{ "flavor": "c", "match": ["c.*"], "populate": { "max_concurrent_guests": 8 } }' >"$TMP/cap/c.json"
"$CTL" policy check "$TMP/cap" >/dev/null 2>"$TMP/e"
expect "cap in a flavor file: exit" "$?" 2
grep -q 'c.json: \$\.populate\.max_concurrent_guests: unknown key "max_concurrent_guests" (host-wide: set rollout.max_concurrent_guests in defaults.json)' "$TMP/e" &&
	ok || bad "cap in a flavor file: $(cat "$TMP/e")"

# status: what prepopd wrote, the last populate under its guest's row
mkdir -p "$TMP/st"
cat >"$TMP/st/status.json" <<'EOJ'
{ "version": 1, "pid": 42, "uri": "qemu:///system", "connected": true, "status": "connected; 2 domains",
  "policy": { "dir": "/etc/prepop/policy.d", "generation": 3, "reload_error": null },
  "domains": [
    { "name": "big", "uuid": "u1", "state": "settled", "decisions": 1, "mode": "prepopulate", "reason": "eligible",
      "explanation": "x", "dry_run": false, "flavor": "memory-r5-x1", "error": null,
      "populate": { "phase": "finished", "slices": 12, "leaves": 8192, "mapped_4k": 0, "mapped_2m": 8192,
                    "mapped_1g": 0, "fault_calls": 8200, "max_hold_ns": 8250000, "max_kick_ns": 310000, "kicks": 40,
                    "populate_ns": 90000000, "started": "2026-01-02T03:04:05.000Z",
                    "finished": "2026-01-02T03:04:06.500Z", "stop": "done", "stop_detail": "all RAM mapped" } },
    { "name": "small", "uuid": "u2", "state": "paused", "decisions": 0, "mode": null, "reason": null,
      "explanation": null, "dry_run": false, "flavor": null, "error": null, "populate": null } ] }
EOJ
out=$("$CTL" status --state-dir "$TMP/st")
expect "status exit" "$?" 0
grep -qx '  populate: done: all RAM mapped, 12 slices, leaves 8192 (4k 0, 2m 8192, 1g 0), longest vCPU hold 8.25 ms, longest kick 0.31 ms, finished 2026-01-02T03:04:06.500Z' <<<"$out" &&
	ok || bad "status populate line: $out"
expect "status: a line per populate" "$(grep -c '^  populate:' <<<"$out")" 1
grep -q '^small  *paused ' <<<"$out" && ok || bad "status paused row: $out"
expect "status --json passes the file through" "$("$CTL" status --state-dir "$TMP/st" --json | jq -c '.domains[0].populate | [.max_hold_ns, .stop]')" '[8250000,"done"]'
"$CTL" status --state-dir "$TMP/nonexistent" >/dev/null 2>"$TMP/e"
expect "status without prepopd: exit" "$?" 1
grep -q 'is prepopd running' "$TMP/e" && ok || bad "status without prepopd: $(cat "$TMP/e")"

echo "prepopctl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
