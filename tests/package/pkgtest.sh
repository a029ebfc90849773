#!/bin/bash
# The package tier inside the emulated hypervisor: Debian 12, systemd as
# PID 1 (this runs as pkgtest.service), DKMS and the running kernel's
# headers, libvirtd; the two packages in /prepop.  Each check prints
# "PKG: PASS name (T s): ..." or "PKG: FAIL name (T s): why; why";
# tests/package/run.sh counts them.  Logs go out as "PKGFILE name: line".
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive
STATS=/sys/kernel/debug/kvm_prepop/stats
STATUS=/run/prepop/status.json
KREL=$(uname -r)
DEB=$(ls /prepop/prepop_*.deb) DKMS=$(ls /prepop/prepop-dkms_*.deb)
MEM=384		# MiB: eligible under the test's policy (>= 256)

say() { echo "PKG: $*"; }
SC="" T_SC=0 SUMMARY=""
WHY=()
begin() { SC=$1 T_SC=$(date +%s) WHY=() SUMMARY=$2; say "== $1: $2"; }
note() { say "   $SC: $*"; }
bad() { WHY+=("$*"); say "   $SC: NOT OK: $*"; }
end() {
	local t=$(($(date +%s) - T_SC))
	if [ ${#WHY[@]} -eq 0 ]; then
		say "PASS $SC ($t s): $SUMMARY"
	else
		say "FAIL $SC ($t s): $(printf '%s; ' "${WHY[@]}" | sed 's/; $//')"
	fi
}
# waitfor SECONDS CMD...: poll CMD every 0.5 s until it succeeds
waitfor() {
	local limit=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt $limit ] || return 1
		sleep 0.5
	done
}
prop() { systemctl show -p "$2" --value "$1"; }
mainpid() { prop prepopd.service MainPID; }
# prepopd's own view, from its status file
agent() { jq -r "$1" $STATUS 2>/dev/null; }
module_usable() { [ "$(agent .module.usable)" = true ]; }
module_absent() { [ "$(agent .module.present)" = false ]; }
stat_of() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' $STATS 2>/dev/null; }
module_figures() {
	echo "calls $(stat_of populate_calls) (done $(stat_of populate_done), partial $(stat_of populate_partial)), kicks $(stat_of kicks), max_hold_ns $(stat_of max_hold_ns)"
}
# percent of a guest's RAM mapped in its stage-2 tables, per KVM's own stats
mapped_pct() {
	local pid d p4 p2 p1
	pid=$(cat /run/libvirt/qemu/$1.pid 2>/dev/null) || { echo 0; return; }
	for d in /sys/kernel/debug/kvm/$pid-*; do
		[ -d "$d" ] || continue
		p4=$(cat $d/pages_4k) p2=$(cat $d/pages_2m) p1=$(cat $d/pages_1g 2>/dev/null || echo 0)
		echo $(((p4 + 512 * p2 + 262144 * p1) * 100 / ($2 * 256)))
		return
	done
	echo 0
}
populate_stop() { agent ".domains[] | select(.name == \"$1\") | .populate.stop // empty"; }
no_prepopd() { ! pgrep -x prepopd >/dev/null; }
prepopd_is() { [ "$(systemctl is-active prepopd.service)" = "$1" ]; }
killed_by_sys() { journalctl -q -u prepopd.service --no-pager | grep -c 'status=31/SYS' || true; }

# ---- the host: systemd as PID 1, KVM, libvirtd
begin boot "systemd as PID 1, KVM (nested SVM), libvirtd"
[ "$(cat /proc/1/comm)" = systemd ] || bad "PID 1 is $(cat /proc/1/comm)"
waitfor 120 sh -c '! systemctl is-system-running | grep -q starting' || bad "still starting after 120 s"
note "$(systemctl --version | head -n1); system $(systemctl is-system-running); $(systemd-analyze time 2>/dev/null | head -n1); this test started at uptime $(cut -d' ' -f1 /proc/uptime) s"
failed=$(systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')
[ -z "$failed" ] || note "failed units: $failed"
[ -c /dev/kvm ] || bad "no /dev/kvm (kvm_amd: $(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null || echo not loaded))"
getent group kvm >/dev/null || groupadd -r kvm
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt libvirt-qemu
mkdir -p /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
# QEMU as its own user, as Debian runs it: prepopd then needs its capabilities
# (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH) to take the VM fd
cat >/etc/libvirt/qemu.conf <<'EOC'
user = "libvirt-qemu"
group = "kvm"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
dynamic_ownership = 0
stdio_handler = "file"
EOC
cat >/etc/libvirt/libvirtd.conf <<'EOC'
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOC
# libvirtd.service (what prepopd's unit is ordered after), a transient unit:
# the userland has the daemon, not libvirt-daemon-system's units
systemd-run -q --unit=libvirtd -p Type=notify /usr/sbin/libvirtd || bad "libvirtd did not start"
waitfor 60 sh -c 'virsh -q -c qemu:///system version >/dev/null 2>&1' || bad "libvirtd does not answer"
# apt's directories the userland's build removed; node-exporter's textfile
# directory, as prometheus-node-exporter makes it (prepopd writes its metrics there)
mkdir -p /var/cache/apt/archives/partial /var/lib/apt/lists/partial /var/lib/prometheus/node-exporter
end

# ---- install: DKMS builds the module for the running kernel and loads it;
# the unit is enabled and started, and sees the module
begin install "apt install ./prepop-dkms.deb ./prepop.deb: DKMS builds kvm_prepop for $KREL and loads it, prepopd.service enabled and running with the module"
t=$(date +%s)
if apt install -y "$DKMS" "$DEB" >/tmp/apt-install.log 2>&1; then
	note "apt install took $(($(date +%s) - t)) s (the DKMS build under TCG included)"
else
	bad "apt install failed: $(grep -a '^E:\|rror' /tmp/apt-install.log | head -n 5 | tr '\n' ' ')"
fi
st=$(dkms status kvm_prepop 2>/dev/null)
if ! grep -q "kvm_prepop/[^,]*, $KREL, x86_64: installed" <<<"$st"; then
	bad "dkms status: $st"
	for f in /var/lib/dkms/kvm_prepop/*/build/make.log; do [ -f "$f" ] && cp "$f" /tmp/dkms-make.log; done
fi
[ -d /sys/module/kvm_prepop ] || bad "kvm_prepop is not loaded"
[ -c /dev/kvm_prepop ] || bad "no /dev/kvm_prepop"
[ "$(modinfo -F filename kvm_prepop 2>/dev/null)" = "/lib/modules/$KREL/updates/dkms/kvm_prepop.ko" ] ||
	bad "modinfo kvm_prepop: $(modinfo -F filename kvm_prepop 2>&1)"
[ "$(systemctl is-enabled prepopd.service)" = enabled ] || bad "prepopd.service is $(systemctl is-enabled prepopd.service)"
getent group prepop >/dev/null || bad "no group prepop"
[ -d /var/lib/prepop ] || bad "no /var/lib/prepop (StateDirectory=)"
waitfor 60 module_usable || bad "prepopd does not see a usable module: $(agent .module)"
prepopd_is active || bad "prepopd.service is $(systemctl is-active prepopd.service)"
note "prepopd pid $(mainpid), started $(journalctl -q -u prepopd.service --no-pager | grep -c ': starting:') time(s); module $(agent '.module | "API \(.api_version), engine \(.engine), ceiling \(.hold_ceiling_ns) ns"')"
[ "$(prop prepopd.service NRestarts)" = 0 ] || bad "prepopd.service restarted itself $(prop prepopd.service NRestarts) times"
end

# ---- the shipped unit's sandbox, as systemd applied it
begin sandbox "prepopd under the unit's sandbox: 3 capabilities, seccomp, no new privileges, group prepop, no network, a private /dev with /dev/kvm_prepop only, a device filter admitting /dev/kvm_prepop and not the rest of the misc major"
pid=$(mainpid)
capbnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/$pid/status)
# CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19), CAP_SYS_ADMIN (21)
[ "$capbnd" = 0000000000280004 ] || bad "CapBnd $capbnd, not 0000000000280004"
[ "$(awk '$1 == "Seccomp:" { print $2 }' /proc/$pid/status)" = 2 ] || bad "no seccomp filter"
[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' /proc/$pid/status)" = 1 ] || bad "NoNewPrivs is not set"
gid=$(getent group prepop | cut -d: -f3)
grep -q "^Groups:.*\b$gid\b" /proc/$pid/status || bad "prepopd is not in group prepop ($gid): $(grep ^Groups: /proc/$pid/status)"
# no network: only the loopback device in its namespace
links=$(awk 'NR > 2 { sub(/:.*/, "", $1); print $1 }' /proc/$pid/net/dev | tr '\n' ' ')
[ "$links" = "lo " ] || bad "prepopd's network namespace has: $links"
devs=$(nsenter -t "$pid" -m ls /dev | tr '\n' ' ')
case " $devs " in *" kvm_prepop "*) ;; *) bad "prepopd's /dev lacks kvm_prepop: $devs" ;; esac
case " $devs " in *" kvm "*) bad "prepopd's /dev has kvm: $devs" ;; esac
note "prepopd's /dev: $devs"
note "$(systemctl show -p DevicePolicy -p DeviceAllow -p PrivateDevices prepopd.service | tr '\n' ' ')"
# the device filter itself: a shell moved into the unit's cgroup opens
# /dev/kvm_prepop, and not /dev/kvm (the same misc major, which char-misc
# admitted) or /dev/vhost-net
cg=/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3 }' /proc/$pid/cgroup)
probe() {
	bash -c 'echo $$ >"$1/cgroup.procs" && exec 3<>"$2" && echo opened' probe "$cg" "$1" 2>&1 | tail -n1 | sed 's/^.*: //'
}
r=$(probe /dev/kvm_prepop)
[ "$r" = opened ] || bad "in prepopd's cgroup, /dev/kvm_prepop: $r"
for d in /dev/kvm /dev/vhost-net /dev/fuse; do
	[ -c $d ] || continue
	r=$(probe $d)
	[ "$r" = "Operation not permitted" ] || bad "in prepopd's cgroup, $d: $r (not refused)"
	note "in prepopd's cgroup: /dev/kvm_prepop opened, $d: $r"
done
end

# ---- issue 7: prepopd under this sandbox populates a guest started through libvirt
begin populate "a KVM guest started through libvirt (QEMU as libvirt-qemu) is populated by prepopd under the shipped unit"
cat >/etc/prepop/policy.d/defaults.json <<'EOP'
{
  "version": 1,
  "description": "Package tier: guests of 256 MiB and more are eligible; a boot delay past the emulated guest's firmware.",
  "eligibility": { "min_vcpus": 1, "min_memory_mib": 256 },
  "populate": { "slice_budget_ms": 50, "slice_gap_ms": 20, "workers": 0, "total_budget_ms": 600000, "boot_delay_ms": 25000 }
}
EOP
out=$(prepopctl policy check /etc/prepop/policy.d 2>&1) || bad "prepopctl policy check: $out"
gen0=$(agent .policy.generation)
systemctl reload prepopd.service || bad "systemctl reload prepopd failed"
waitfor 30 sh -c "[ \"\$(jq -r .policy.generation $STATUS)\" != \"$gen0\" ]" || bad "the reload did not load the policy (generation $gen0)"
pid=$(mainpid)
calls0=$(stat_of populate_calls)
bash -c '. /prepop/lib/hvhost.sh && hvh_guest_xml g1 "$1"' xml "$MEM" >/tmp/g1.xml
virsh -q create /tmp/g1.xml >/dev/null || bad "virsh create failed: $(tail -n 3 /var/log/libvirt/qemu/g1.log 2>/dev/null | tr '\n' ' ')"
qpid=$(cat /run/libvirt/qemu/g1.pid 2>/dev/null)
note "QEMU pid ${qpid:-?} runs as $(ps -o user= -p "${qpid:-1}" 2>/dev/null), prepopd pid $pid as $(ps -o user= -p "$pid")"
waitfor 180 grep -q 'INNER GUEST UP' /tmp/g1.log 2>/dev/null || bad "the guest did not come up in 180 s"
# prepopd is done with the guest: the populate ran to its end, or stopped
if waitfor 300 sh -c "[ -n \"\$(jq -r '.domains[] | select(.name == \"g1\") | .populate.stop // empty' $STATUS 2>/dev/null)\" ]"; then
	stop=$(populate_stop g1)
	detail=$(agent '.domains[] | select(.name == "g1") | .populate.stop_detail // ""')
	note "populate $stop${detail:+ ($detail)}: $(mapped_pct g1 $MEM) % of its RAM mapped; prepopd: $(agent '.domains[] | select(.name == "g1") | .populate | "\(.slices) slices, leaves 4k \(.mapped_4k) 2m \(.mapped_2m), longest hold \(.max_hold_ns) ns"'); module: $(module_figures)"
	case $stop in
	done) [ "$(mapped_pct g1 $MEM)" -ge 90 ] || bad "done, but only $(mapped_pct g1 $MEM) % mapped" ;;
	# the module could not take a vCPU in time (EBUSY) three times in a row:
	# a matter of the emulated host's load, not of the sandbox
	error) grep -qi 'busy' <<<"$detail" || bad "populate stopped on an error: $detail" ;;
	*) bad "populate stopped: $stop $detail" ;;
	esac
else
	bad "prepopd not done with the guest in 300 s: $(mapped_pct g1 $MEM) % mapped, agent: $(agent '.domains[] | select(.name == "g1") | "\(.state) \(.mode) \(.reason) \(.error)"'); module: $(module_figures)"
fi
# what the sandbox decides: whether prepopd could take QEMU's VM fd and call the module
[ "$(($(stat_of populate_done) + $(stat_of populate_partial)))" -gt 0 ] || bad "no populate call mapped anything"
[ "$(agent '.domains[] | select(.name == "g1") | .populate.leaves // 0')" -gt 0 ] || bad "prepopd reports no leaf mapped"
[ "$(stat_of populate_calls)" -gt "$calls0" ] || bad "the module saw no populate call"
[ "$(mainpid)" = "$pid" ] || bad "prepopd's pid changed from $pid to $(mainpid)"
[ "$(killed_by_sys)" = 0 ] || bad "prepopd was killed by SIGSYS $(killed_by_sys) times"
[ "$(prop prepopd.service NRestarts)" = 0 ] || bad "prepopd.service restarted itself"
end

# ---- what prepopd writes and serves under the sandbox: the control socket
# (group prepop), the overrides (StateDirectory), the metrics (ReadWritePaths)
begin control "under the unit: the control socket (root and group prepop only), an override kept in /var/lib/prepop, the metrics file"
if ! prepopctl --help 2>&1 | grep -q 'prepopctl explain'; then
	note "this prepopctl has no control socket commands: nothing to check"
else
	sock=/run/prepop/control
	[ -S $sock ] || bad "no $sock"
	[ "$(stat -c '%G %a' $sock 2>&1)" = "prepop 660" ] || bad "$sock is $(stat -c '%U:%G %a' $sock 2>&1), not group prepop 660"
	id pp-op >/dev/null 2>&1 || useradd -M -G prepop pp-op
	id pp-other >/dev/null 2>&1 || useradd -M pp-other
	out=$(runuser -u pp-op -- prepopctl status 2>&1) || bad "prepopctl status as a member of prepop: $out"
	rc=0; out=$(runuser -u pp-other -- prepopctl status 2>&1) || rc=$?
	[ $rc = 3 ] || bad "prepopctl status as another user: exit $rc ($out), not 3"
	out=$(prepopctl explain g1 2>&1) || bad "prepopctl explain g1: $out"
	out=$(prepopctl fault g1 2>&1) || bad "prepopctl fault g1: $out"
	grep -q g1 /var/lib/prepop/overrides.json 2>/dev/null || grep -q "$(virsh -q domuuid g1)" /var/lib/prepop/overrides.json 2>/dev/null ||
		bad "the override is not in /var/lib/prepop/overrides.json: $(cat /var/lib/prepop/overrides.json 2>&1)"
	out=$(prepopctl auto g1 2>&1) || bad "prepopctl auto g1: $out"
	prom=/var/lib/prometheus/node-exporter/prepop.prom
	waitfor 30 grep -q 'domain="g1"' $prom 2>/dev/null || bad "no metrics for g1 in $prom: $(ls -la /var/lib/prometheus/node-exporter 2>&1 | tr '\n' ' ')"
	HAS_CTL=1
	note "$sock: $(stat -c '%U:%G %a' $sock); overrides and $(grep -c . $prom 2>/dev/null) lines of metrics written under the sandbox"
fi
[ "$(killed_by_sys)" = 0 ] || bad "prepopd was killed by SIGSYS"
[ "$(prop prepopd.service NRestarts)" = 0 ] || bad "prepopd.service restarted itself"
end

# ---- the node comes and goes: boot order, and a module loaded after prepopd started
begin module-order "boot order (modules-load.d, then prepopd) and a module loaded while prepopd runs (the udev rule restarts it)"
systemctl stop prepopd.service
rmmod kvm_prepop || bad "rmmod kvm_prepop with prepopd stopped failed"
# as at boot: systemd-modules-load loads it from the package's modules-load.d file
systemctl restart systemd-modules-load.service || bad "systemd-modules-load failed"
[ -c /dev/kvm_prepop ] || bad "modules-load.d did not load kvm_prepop"
systemctl start prepopd.service
waitfor 60 module_usable || bad "started after the module: no usable module ($(agent .module))"
# without the node: observe-only; then the module is loaded
systemctl stop prepopd.service
rmmod kvm_prepop || bad "rmmod kvm_prepop failed"
systemctl start prepopd.service
waitfor 60 module_absent || bad "prepopd does not report the module absent ($(agent .module))"
pid=$(mainpid)
modprobe kvm_prepop || bad "modprobe kvm_prepop failed"
if waitfor 60 sh -c "[ \"\$(systemctl show -p MainPID --value prepopd.service)\" != $pid ]" && waitfor 60 module_usable; then
	note "loaded after prepopd started: prepopd restarted (pid $pid -> $(mainpid)), module usable"
else
	bad "after modprobe, prepopd (pid $pid -> $(mainpid)) does not use the module: $(agent .module)"
fi
prepopd_is active || bad "prepopd.service is $(systemctl is-active prepopd.service)"
end

# ---- systemd-analyze security, against the figure docs/install.md gives
begin security "systemd-analyze security prepopd.service: the exposure docs/install.md documents"
systemd-analyze security --no-pager prepopd.service >/tmp/security.txt 2>&1
score=$(sed -n 's/^.*Overall exposure level for prepopd.service: \([0-9.]*\) \([A-Z]*\).*$/\1 \2/p' /tmp/security.txt)
[ -n "$score" ] || bad "no overall exposure in: $(tail -n 3 /tmp/security.txt | tr '\n' ' ')"
note "overall exposure: $score"
doc=$(zcat -f /usr/share/doc/prepop/install.md* 2>/dev/null | grep -o 'Overall exposure level for prepopd.service: [0-9.]* [A-Z]*' | head -n1 | sed 's/^.*: //')
[ "$doc" = "$score" ] || bad "docs/install.md says '${doc:-nothing}', systemd-analyze says '$score'"
end

# ---- remove: no process, no module; the guest runs on; conffiles stay
begin remove "apt remove prepop prepop-dkms: no prepopd, no kvm_prepop, out of DKMS; the guest runs on; the edited policy stays"
if ! apt remove -y prepop prepop-dkms >/tmp/apt-remove.log 2>&1; then
	bad "apt remove failed: $(grep -a '^E:\|rror' /tmp/apt-remove.log | head -n 5 | tr '\n' ' ')"
fi
no_prepopd || bad "prepopd still runs: $(pgrep -a -x prepopd)"
! grep -q '^kvm_prepop ' /proc/modules || bad "kvm_prepop still loaded"
[ ! -e /dev/kvm_prepop ] || bad "/dev/kvm_prepop still there"
st=$(dkms status kvm_prepop 2>/dev/null)
[ -z "$st" ] || bad "dkms status: $st"
ls -d /var/lib/dkms/kvm_prepop/*/ >/dev/null 2>&1 && bad "left in /var/lib/dkms: $(ls /var/lib/dkms/kvm_prepop)"
[ -z "$(find /lib/modules/$KREL -name 'kvm_prepop.ko*')" ] || bad "kvm_prepop.ko left in /lib/modules/$KREL"
# masked by the postrm (deb-systemd-helper) until purge or a reinstall
case $(prop prepopd.service LoadState) in not-found | masked) ;; *) bad "prepopd.service is $(prop prepopd.service LoadState)" ;; esac
prepopd_is inactive || bad "prepopd.service is $(systemctl is-active prepopd.service)"
systemctl is-failed -q prepopd.service && bad "prepopd.service is failed"
[ -z "${HAS_CTL:-}" ] || [ ! -e /var/lib/prometheus/node-exporter/prepop.prom ] || bad "prepopd's metrics file is left"
[ "$(virsh -q domstate g1 2>&1)" = running ] || bad "the guest is $(virsh -q domstate g1 2>&1)"
grep -q '"min_memory_mib": 256' /etc/prepop/policy.d/defaults.json 2>/dev/null || bad "the edited conffile is gone"
[ "$(dpkg-query -W -f='${db:Status-Abbrev}' prepop 2>/dev/null)" = "rc " ] || bad "prepop is '$(dpkg-query -W -f='${db:Status-Abbrev}' prepop 2>&1)', not rc"
end

# ---- reinstall after remove (the unit's mask from the removal is undone), then purge
begin reinstall-purge "apt install ./prepop.deb after remove: enabled and running again (observe-only); apt purge: nothing left (the group prepop stays)"
apt install -y "$DEB" >/tmp/apt-reinstall.log 2>&1 || bad "apt install failed: $(grep -a '^E:\|rror' /tmp/apt-reinstall.log | head -n 5 | tr '\n' ' ')"
[ "$(systemctl is-enabled prepopd.service 2>&1)" = enabled ] || bad "prepopd.service is $(systemctl is-enabled prepopd.service 2>&1)"
waitfor 30 prepopd_is active || bad "prepopd.service is $(systemctl is-active prepopd.service)"
waitfor 30 module_absent || bad "prepopd does not report the module absent: $(agent .module)"
apt purge -y prepop prepop-dkms >/tmp/apt-purge.log 2>&1 || bad "apt purge failed: $(grep -a '^E:\|rror' /tmp/apt-purge.log | head -n 5 | tr '\n' ' ')"
no_prepopd || bad "prepopd still runs"
[ ! -e /etc/prepop ] || bad "/etc/prepop left: $(find /etc/prepop | tr '\n' ' ')"
ls /var/lib/systemd/deb-systemd-helper-*/*prepopd* >/dev/null 2>&1 && bad "deb-systemd-helper state left: $(ls /var/lib/systemd/deb-systemd-helper-*/*prepopd*)"
ls -d /var/lib/dkms/kvm_prepop/*/ >/dev/null 2>&1 && bad "/var/lib/dkms/kvm_prepop left: $(ls /var/lib/dkms/kvm_prepop)"
[ ! -e /var/lib/prepop ] || bad "/var/lib/prepop left"
[ ! -e /usr/lib/modules-load.d/kvm_prepop.conf ] || bad "modules-load.d/kvm_prepop.conf left"
[ -z "$(ls /etc/systemd/system/*/prepopd.service 2>/dev/null)" ] || bad "enablement links left"
[ "$(virsh -q domstate g1 2>&1)" = running ] || bad "the guest is $(virsh -q domstate g1 2>&1)"
end

# ---- the logs, the kernel log, power off
virsh -q destroy g1 >/dev/null 2>&1
dump() { [ -f "$2" ] && tail -n 400 "$2" | tr -d '\r' | sed "s|^|PKGFILE $1: |"; }
journalctl -q -u prepopd.service --no-pager -o short-monotonic >/tmp/prepopd.journal 2>&1
journalctl -q -b --no-pager -o short-monotonic -p warning >/tmp/warnings.journal 2>&1
for f in /tmp/apt-install.log /tmp/apt-remove.log /tmp/apt-reinstall.log /tmp/apt-purge.log /tmp/security.txt \
	/tmp/prepopd.journal /tmp/warnings.journal /var/log/libvirt/libvirtd.log /var/log/libvirt/qemu/g1.log; do
	dump "$(basename "$f")" "$f"
done
dump dkms-make.log /tmp/dkms-make.log
say "dmesg begin"
dmesg --color=never
say "dmesg end"
say "done"
systemctl poweroff --force --force
