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
virtio-mem-hotplug.xml fault virtio-mem general-m5
balloon-inflated.xml fault balloon general-m5
nvdimm-pmem.xml fault file-backed general-m5
m5-small-pages.xml prepopulate eligible general-m5
tcg-guest.xml fault not-kvm null
hugepages-default-size.xml prepopulate eligible memory-r5-x1
EOT

# facts: exactly the documented keys, with their values
out=$(decide nova-r5-2m-numa.xml)
expect "facts keys" "$(jq -c '.facts | keys_unsorted | sort' <<<"$out")" \
	'["balloon","current_memory_bytes","domain_type","extra_specs","flavor","hugepages","locked","max_memory_bytes","memory_bytes","memory_devices","memory_source","name","nosharepages","override","smm","smm_state","uuid","vcpus","vcpus_max"]'
expect "top-level keys" "$(jq -c 'keys | sort' <<<"$out")" \
	'["dry_run","explanation","facts","mode","policy","populate","reason","rules"]'
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
	'[16,32,274877906944,[{"model":"virtio-mem","size_bytes":68719476736,"requested_bytes":17179869184,"current_bytes":null,"source_path":null,"node":0},{"model":"dimm","size_bytes":17179869184,"requested_bytes":null,"current_bytes":null,"source_path":null,"node":0}]]'
out=$(decide nvdimm-pmem.xml)
expect "nvdimm facts" "$(jq -c '[.facts.memory_bytes, .facts.memory_devices[0].source_path, (.explanation | test("nvdimm device 0 is the file /var/lib/libvirt/pmem/pmem-db-02.img"))]' <<<"$out")" \
	'[103079215104,"/var/lib/libvirt/pmem/pmem-db-02.img",true]'
out=$(decide balloon-inflated.xml)
expect "inflated balloon" "$(jq -c '[.facts.balloon, .facts.current_memory_bytes, (.explanation | test("inflated to leave the guest 40 GiB of 64 GiB"))]' <<<"$out")" \
	'[{"model":"virtio","autodeflate":false,"free_page_reporting":false},42949672960,true]'

# the rule chain: every rule in order up to the one that decided
out=$(decide m5-small-pages.xml)
expect "rules" "$(jq -c '[.rules[] | .rule + ":" + .result]' <<<"$out")" \
	'["kill-switch:pass","rollout:pass","domain-type:pass","override:pass","mode-fault:pass","postcopy:pass","smm:pass","overcommit:pass","balloon:pass","virtio-mem:pass","file-backed:pass","ksm:pass","mode-prepopulate:pass","min-vcpus:pass","min-memory:pass","hugepages:pass","eligible:decided"]'
expect "overcommit rule" "$(jq -r '.rules[7].detail' <<<"$out")" \
	"guests on small pages take 48 GiB of 112 GiB (0.43x): RAM 384 GiB - huge page pools 256 GiB - reserve 16 GiB, within the policy's 1.00x"
expect "ksm stopped" "$(jq -r '.rules[11].detail' <<<"$out")" "KSM is not merging"

# host facts that change decisions: KSM merging, the reserve, huge page pools
jq '.ksm_running = true' "$HOST" >"$TMP/ksm.json"
expect "KSM merging" "$(decide m5-small-pages.xml --host-facts "$TMP/ksm.json" | jq -r .reason)" ksm
expect "KSM and huge pages" "$(decide nova-r5-2m-numa.xml --host-facts "$TMP/ksm.json" | jq -r .reason)" eligible
jq '.reserved_bytes = 120259084288' "$HOST" >"$TMP/reserve.json"	# 112 GiB: nothing left for small pages
expect "reserve" "$(decide m5-small-pages.xml --host-facts "$TMP/reserve.json" | jq -r .reason)" overcommit
expect "reserve, huge pages" "$(decide nova-r5-2m-numa.xml --host-facts "$TMP/reserve.json" | jq -r .reason)" eligible
jq '.hugepage_pools[0].pages = 16384 | .hugepage_pools[0].free = 0' "$HOST" >"$TMP/pool.json"	# a full 32 GiB 2M pool
out=$(decide nova-r5-2m-numa.xml --host-facts "$TMP/pool.json")
expect "pool too small" "$(jq -r .reason <<<"$out")" overcommit
expect "pool explained" "$(jq -r .explanation <<<"$out")" \
	"guests on 2 MiB pages take 64 GiB of that pool's 32 GiB (2.00x), above the policy's 1.00x"
echo '{ "hugepage_pools": [ { "page_bytes": 3000, "pages": 1, "free": 2, "colour": 1 }, { "free": 1 } ], "ksm_running": 1 }' >"$TMP/badpool.json"
"$CTL" decide --policy "$POL" --domain-xml "$EX/domains/tcg-guest.xml" --host-facts "$TMP/badpool.json" >/dev/null 2>"$TMP/e"
expect "bad pools exit" $? 2
for m in 'hugepage_pools\[0\]\.colour: unknown key "colour"' 'hugepage_pools\[0\]\.page_bytes: page size 3000 is not a power of two' \
	 'hugepage_pools\[0\]\.free: more free pages (2) than pages (1)' 'hugepage_pools\[1\]: missing required key "page_bytes"' \
	 'hugepage_pools\[1\]: missing required key "pages"' 'ksm_running: expected true or false'; do
	grep -q "$m" "$TMP/e" && ok || bad "bad pools: no '$m' in: $(cat "$TMP/e")"
done

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

# status and the other commands that ask prepopd: tests/cli/test_ctl_online.sh

echo "prepopctl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
