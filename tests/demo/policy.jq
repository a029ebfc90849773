# The demo's policy: the sample policy (policy/policy.d) with only what the
# emulated hypervisor needs changed, applied to its defaults.json (the flavor
# files are copied unchanged; tests/demo.sh prints the difference).
# Its host has 2 CPUs and 4 GiB: guests of 2 vCPUs and hundreds of MiB stand
# in for the fleet's large guests (sample: 8 vCPUs, 16 GiB).
.eligibility.min_vcpus = 2
| .eligibility.min_memory_mib = 256
# Everything runs tens of times slower under TCG: wait out the guests'
# firmware as the system tier does (sample: 10 s), and give a populate of
# 4K pages 5 minutes, as the sample gives its huge-page flavor (sample: 60 s).
| .populate.boot_delay_ms = 25000
| .populate.total_budget_ms = 300000
