# Inside the emulated hypervisor (tests/lib/hv.sh builds and boots it; its
# hv_userland stages this file as /prepop/lib/hvhost.sh): what every tier's
# /init and scripts there share.  Source it with HV_SAY set to the tier's
# console prefix (e.g. SYSTEM, DEMO); it defines functions only.
#
#   say TEXT...                   "HV_SAY: TEXT" on the console (also from inside $(...))
#   hvh_arg NAME                  NAME=VALUE's VALUE on the kernel command line
#   hvh_base HOSTNAME             mounts, the host name (and /tmp/host.json with it as
#                                 host_id), KVM and kvm_prepop (/prepop/modules; its
#                                 parameters from prepop_args=k=v,... on the kernel
#                                 command line), the keeper's idle VMs
#                                 (/prepop/keepvm), hugetlbfs on /dev/hugepages if the
#                                 kernel reserved 2M pages
#   hvh_up HOSTNAME               hvh_base, then libvirt's user and configuration, libvirtd
#   hvh_handout FILE...           each file's last 2000 lines on the console as
#                                 "HVFILE <name>: <line>" (hv_files gets them back)
#   hvh_end                       the kernel log between "HV_SAY: dmesg begin" and
#                                 "HV_SAY: dmesg end", "HV_SAY: done", power off
#   hvh_guest_xml NAME MIB [hugepages] [smm] [pty]
#                                 a KVM guest's domain XML on stdout: 2 vCPUs, RAM MIB MiB,
#                                 /prepop/guest/vmlinuz and initrd.gz, serial logged to
#                                 /tmp/NAME.log; hugepages: on 2 MiB hugetlbfs pages;
#                                 smm: <smm state='on'/>; pty: the serial on a pty (its
#                                 path: virsh ttyconsole NAME), still logged
#   hvh_diag FILE WHAT            for something that does not return: what every QEMU,
#                                 libvirtd and prepopd thread waits on (their kernel
#                                 stacks) and kvm_prepop's counters, appended to FILE
#   waitfor SECONDS CMD...        poll CMD every 0.2 s until it succeeds (status 1 on timeout)
#   alive PID                     the process runs (not a zombie)
#   kvm_dir NAME                  the guest's KVM directory in debugfs (per-VM stats)
#   agent NAME                    the guest's entry in prepopd's status (JSON, one line)
#   agent_says NAME               "state reason error" from it
#   prepopd_start [asan]          prepopd (or its ASan+UBSan build) on /prepop/policy.d,
#                                 host facts /tmp/host.json, state /run/prepop, log
#                                 /tmp/prepopd[-asan].log; PREPOPD: its pid
#   prepopd_stop                  SIGTERM, wait (30 s); status 0 if it exited 0 in time;
#                                 STOPPED says how it ended

say() { echo "$HV_SAY: $*" >/dev/console; }

hvh_arg() { sed -n "s/.*[[:space:]]$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

hvh_base() {
	local m
	export PATH=/usr/sbin:/usr/bin:/sbin:/bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	ln -s /proc/self/fd /dev/fd
	mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t tmpfs tmpfs /run
	mount -t tmpfs tmpfs /tmp
	hostname "$1"
	echo "{ \"host_id\": \"$1\" }" >/tmp/host.json
	# kvm-amd and what it needs, in the order the testbed's build wrote; then kvm_prepop
	for m in $(cat /prepop/modules/load); do insmod /prepop/modules/$m.ko || say "insmod $m failed"; done
	# shellcheck disable=SC2046
	insmod /prepop/modules/kvm_prepop.ko $(hvh_arg prepop_args | tr , ' ') || say "insmod kvm_prepop failed"
	say "kernel $(uname -r); npt=$(cat /sys/module/kvm_amd/parameters/npt) nested=$(cat /sys/module/kvm_amd/parameters/nested); kvm_prepop engine=$(cat /sys/module/kvm_prepop/parameters/engine 2>/dev/null || echo none) max_hold_ms=$(cat /sys/module/kvm_prepop/parameters/max_hold_ms 2>/dev/null || echo none); $(nproc) CPUs, $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB"
	# VMs that live for the whole run: no KVM static key flips (tests/lib/keepvm.c)
	/prepop/keepvm >/tmp/keeper.log 2>&1 &
	if [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null || echo 0)" -gt 0 ]; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs hugetlbfs /dev/hugepages
	fi
}

hvh_up() {
	hvh_base "$1"
	getent group kvm >/dev/null || groupadd -r kvm
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm libvirt-qemu
	mkdir -p /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /run/libvirt
	cat >/etc/libvirt/qemu.conf <<'EOC'
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
dynamic_ownership = 0
stdio_handler = "file"
EOC
	cat >/etc/libvirt/libvirtd.conf <<'EOC'
auth_unix_rw = "none"
log_outputs = "3:file:/tmp/libvirtd.log"
EOC
	libvirtd -d
	if waitfor 30 eval 'virsh -q -c qemu:///system version >/dev/null 2>&1'; then
		say "libvirtd up"
	else
		say "libvirtd did not answer in 30 s"
	fi
}

hvh_handout() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		tail -n 2000 "$f" | tr -d '\r' | sed "s|^|HVFILE $(basename "$f"): |"
	done
}

hvh_end() {
	say "dmesg begin"
	dmesg --color=never
	say "dmesg end"
	say "done"
	busybox poweroff -f
}

hvh_guest_xml() {
	local name=$1 mem=$2 o backing='' smm='' serial="<serial type='file'><source path='/tmp/$1.log'/></serial>"
	shift 2
	for o in "$@"; do
		case $o in
		hugepages) backing="<memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages></memoryBacking>" ;;
		smm) smm="<smm state='on'/>" ;;
		pty) serial="<serial type='pty'><log file='/tmp/$name.log' append='off'/></serial>" ;;
		*) echo "hvh_guest_xml: unknown option $o" >&2; return 2 ;;
		esac
	done
	cat <<EOX
<domain type='kvm'>
  <name>$name</name>
  <memory unit='MiB'>$mem</memory>
  $backing
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/prepop/guest/vmlinuz</kernel>
    <initrd>/prepop/guest/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <features><acpi/>$smm</features>
  <cpu mode='host-passthrough'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    $serial
    <memballoon model='none'/>
  </devices>
</domain>
EOX
}

hvh_diag() {
	local p t
	{
		echo "==== $(date +%T) $2"
		ps -eo pid,stat,wchan:30,etime,args | grep -v ' \[.*\]$'
		for p in $(pidof qemu-system-x86_64 libvirtd prepopd); do
			for t in /proc/$p/task/*; do
				echo "--- pid $p tid ${t##*/} $(cat $t/comm) state $(awk '{ print $3 }' $t/stat)"
				cat $t/stack
			done
		done
		cat /sys/kernel/debug/kvm_prepop/stats
	} >>"$1" 2>&1
}

waitfor() {
	local limit=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt $limit ] || return 1
		sleep 0.2
	done
}

alive() {
	local s
	s=$(awk '{ print $3 }' /proc/$1/stat 2>/dev/null) || return 1
	[ -n "$s" ] && [ "$s" != Z ]
}

kvm_dir() {
	local pid d
	pid=$(cat /run/libvirt/qemu/$1.pid 2>/dev/null) || return 1
	for d in /sys/kernel/debug/kvm/$pid-*; do
		[ -d "$d" ] && echo "$d" && return 0
	done
	return 1
}

# ---- prepopd
agent() { /prepop/prepopctl status --json 2>/dev/null | jq -c --arg n "$1" '.domains[]? | select(.name == $n)' 2>/dev/null; }
agent_says() { agent "$1" | jq -r '"\(.state) \(.reason) \(.error)"'; }
agent_up() {
	[ "$(jq -r '"\(.pid) \(.connected)"' /run/prepop/status.json 2>/dev/null)" = "$1 true" ]
}
PREPOPD=
prepopd_start() {
	if [ "${1:-}" = asan ]; then
		mkdir -p /tmp/asan
		ASAN_OPTIONS=log_path=/tmp/asan/asan:detect_leaks=1 \
			UBSAN_OPTIONS=log_path=/tmp/asan/ubsan:print_stacktrace=1 \
			/prepop/asan/prepopd -p /prepop/policy.d -H /tmp/host.json -s /run/prepop \
			2>>/tmp/prepopd-asan.log &
	else
		/prepop/prepopd -p /prepop/policy.d -H /tmp/host.json -s /run/prepop 2>>/tmp/prepopd.log &
	fi
	PREPOPD=$!
	waitfor 60 agent_up $PREPOPD || { say "prepopd ($PREPOPD) did not come up"; return 1; }
}
STOPPED=
prepopd_stop() {
	local rc=0
	STOPPED="not running"
	[ -n "$PREPOPD" ] || return 0
	kill -TERM $PREPOPD 2>/dev/null
	if ! waitfor 30 eval '! alive $PREPOPD'; then
		kill -KILL $PREPOPD 2>/dev/null
		STOPPED="still running 30 s after SIGTERM; "
	fi
	wait $PREPOPD 2>/dev/null || rc=$?
	STOPPED="${STOPPED#not running}exit status $rc"
	PREPOPD=
	[ $rc -eq 0 ] && [ "${STOPPED#still}" = "$STOPPED" ]
}
