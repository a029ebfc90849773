#!/usr/bin/env bash
# The unit parses, and its hardening leaves what prepopd needs.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/usr/sbin"
printf '#!/bin/sh\n' >"$T/usr/sbin/prepopd" && chmod +x "$T/usr/sbin/prepopd"
sed "s|/usr/sbin/prepopd|$T/usr/sbin/prepopd|" "$D/prepopd.service" >"$T/prepopd.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$T/prepopd.service" 2>&1 | grep -v 'libvirtd.service\|virtqemud.service' || true)
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
for want in 'Type=notify' 'WatchdogSec=' 'ExecReload=' 'RuntimeDirectoryPreserve=yes' 'DeviceAllow=/dev/kvm_prepop rw' 'CAP_SYS_PTRACE'; do
	grep -q "^$want\|$want" "$D/prepopd.service" || { echo "unit lacks $want"; exit 1; }
done
json_pp <"$D/prepopd.conf" >/dev/null 2>&1 || jq . "$D/prepopd.conf" >/dev/null
echo "systemd: prepopd.service verified"
