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
# the unit's settings, without its comments
settings=$(grep -v '^[[:space:]]*#' "$D/prepopd.service")
for want in 'Type=notify' 'WatchdogSec=' 'ExecReload=' 'RuntimeDirectory=prepop' 'DeviceAllow=char-misc rw' \
	'CapabilityBoundingSet=.*CAP_SYS_PTRACE' 'CapabilityBoundingSet=.*CAP_DAC_READ_SEARCH' \
	'SystemCallFilter=.*pidfd_getfd'; do
	grep -q "^$want" <<<"$settings" || { echo "unit lacks $want"; exit 1; }
done
# nothing left to recover, no write access it does not use, and no pulling in
# (or stopping with) a libvirt daemon: the monolithic one would start on a
# split-daemon host
for unwanted in 'RuntimeDirectoryPreserve' 'CapabilityBoundingSet=.*CAP_DAC_OVERRIDE' 'ReadWritePaths' \
	'\(Wants\|Requires\|Requisite\|BindsTo\|PartOf\)=.*\(libvirtd\|virtqemud\|virtproxyd\)' \
	'DeviceAllow=/dev/kvm_prepop'; do
	grep -q "^$unwanted" <<<"$settings" && { echo "unit has $unwanted"; exit 1; }
done
json_pp <"$D/prepopd.conf" >/dev/null 2>&1 || jq . "$D/prepopd.conf" >/dev/null
# the modules-load.d file the install rule ships names the module
grep -qx 'kvm_prepop' "$D/kvm_prepop.modules-load.conf" || { echo "kvm_prepop.modules-load.conf does not load kvm_prepop"; exit 1; }
echo "systemd: prepopd.service verified"
