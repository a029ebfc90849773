#!/usr/bin/env bash
# A private libvirtd for tests, sourced by the integration tests.  The caller
# runs inside its own mount namespace (unshare -m); libvirt's directories are
# bind-mounted from TESTDIR, so the machine's own libvirt is never touched.
#   host_setup TESTDIR    host_start    host_stop    host_restart
set -u

host_setup() {
	local dir=$1
	# libvirt's QEMU driver resolves its build-time user and groups even
	# when qemu.conf says root
	getent group kvm >/dev/null || groupadd -r kvm
	getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
	id libvirt-qemu >/dev/null 2>&1 || useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
	for d in etc/libvirt run/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt; do
		mkdir -p "$dir/$d" "/$d"
		mount --bind "$dir/$d" "/$d"
	done
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
auth_unix_ro = "none"
log_outputs = "3:stderr"
EOC
	HOST_PIDFILE=$dir/libvirtd.pid
}

host_start() {
	libvirtd -d --pid-file "$HOST_PIDFILE"
	for _ in $(seq 100); do
		virsh -c qemu:///system version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "libvirtd did not come up" >&2
	return 1
}

host_stop() {
	local pid
	pid=$(cat "$HOST_PIDFILE" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
}

host_restart() {
	host_stop && host_start
}

# A TCG guest that needs nothing to boot: SeaBIOS finds no disk and waits.
guest_xml() { # NAME [extra <metadata> content] [MiB]
	cat <<EOX
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>${3:-64}</memory>
  <vcpu>1</vcpu>
  <metadata>${2:-}</metadata>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <memballoon model='none'/>
  </devices>
</domain>
EOX
}
