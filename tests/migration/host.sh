#!/bin/bash
# One libvirt host of the migration tier, run by /init inside the emulated
# hypervisor in its own network namespace (ip netns exec) and its own mount
# and UTS namespaces (unshare -m -u):
#   host.sh NAME ADDR DIR
# libvirt's directories are bind-mounted from DIR/host
# (tests/integration/libvirt-host.sh), huge pages come from a hugetlbfs of
# its own, libvirtd listens on ADDR (TCP, no auth) and logs to
# DIR/libvirtd.log; every domain event goes to DIR/events.log.  Writes its
# pid to DIR/ns.pid (prepopd and anything else that must run on this host is
# started with nsenter -t PID -m -u -n) and DIR/ready, then waits for
# DIR/stop.
set -u
NAME=$1 ADDR=$2 DIR=$3
. /prepop/libvirt-host.sh
hostname "$NAME"
host_setup "$DIR/host"
mkdir -p /var/log/libvirt/qemu	# the guests' consoles (the package's directory is under the bind mount)
mount -t hugetlbfs -o pagesize=2M hugetlbfs /dev/hugepages
cat >/etc/libvirt/libvirtd.conf <<EOC
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$DIR/libvirtd.log"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
listen_tcp = 1
listen_tls = 0
listen_addr = "$ADDR"
auth_tcp = "none"
EOC
libvirtd -d --listen --pid-file "$HOST_PIDFILE"
for _ in $(seq 150); do virsh -q -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
virsh -q -c qemu:///system version >/dev/null 2>&1 || { echo "$NAME: libvirtd did not come up"; exit 1; }
virsh -q -c qemu:///system event --all --loop --timestamp >"$DIR/events.log" 2>&1 &
events=$!
echo $$ >"$DIR/ns.pid"
touch "$DIR/ready"
while [ ! -e "$DIR/stop" ]; do sleep 0.5; done
for d in $(timeout 60 virsh -q -c qemu:///system list --name 2>/dev/null); do
	timeout 60 virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
done
kill $events 2>/dev/null
host_stop
touch "$DIR/stopped"
