#!/usr/bin/env bash
# One libvirt host for the migration test, run by test_migration.sh inside
# its own network, mount and UTS namespaces:
#   migration-host.sh NAME ADDR DIR PREPOPD POLICY_DIR SRC
# Starts libvirtd (listening on TCP, no auth) and prepopd, writes DIR/ready,
# and waits until DIR/stop appears.
set -u
NAME=$1 ADDR=$2 DIR=$3 PREPOPD=$4 POLICY=$5 SRC=$6
. "$SRC/tests/integration/libvirt-host.sh"
hostname "$NAME"
host_setup "$DIR/host"
cat >>/etc/libvirt/libvirtd.conf <<EOC
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
listen_tcp = 1
listen_tls = 0
listen_addr = "$ADDR"
auth_tcp = "none"
EOC
HOST_PIDFILE=$DIR/libvirtd.pid
libvirtd -d --listen --pid-file "$HOST_PIDFILE"
for _ in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
echo "{ \"host_id\": \"$NAME\" }" >"$DIR/host.json"
"$PREPOPD" -u qemu:///system -p "$POLICY" -H "$DIR/host.json" -s "$DIR/state" -o 2>"$DIR/agent.log" &
echo $! >"$DIR/agent.pid"
touch "$DIR/ready"
while [ ! -e "$DIR/stop" ]; do sleep 0.2; done
kill "$(cat "$DIR/agent.pid")" 2>/dev/null
for d in $(virsh -c qemu:///system list --name 2>/dev/null); do virsh -c qemu:///system destroy "$d" >/dev/null 2>&1; done
host_stop
