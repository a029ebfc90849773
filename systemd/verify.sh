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
for want in 'Type=notify' 'WatchdogSec=' 'ExecReload=' 'RuntimeDirectory=prepop' \
	'DevicePolicy=closed' 'DeviceAllow=/dev/kvm_prepop rw' 'PrivateDevices=yes' 'BindPaths=-/dev/kvm_prepop' \
	'After=.*systemd-modules-load.service' 'PrivateNetwork=yes' 'RestrictAddressFamilies=AF_UNIX$' \
	'StateDirectory=prepop' 'SupplementaryGroups=prepop' 'ReadWritePaths=-/var/lib/prometheus/node-exporter$' \
	'CapabilityBoundingSet=.*CAP_SYS_PTRACE' 'CapabilityBoundingSet=.*CAP_DAC_READ_SEARCH' \
	'SystemCallFilter=.*pidfd_getfd'; do
	grep -q "^$want" <<<"$settings" || { echo "unit lacks $want"; exit 1; }
done
# nothing left to recover, no write access it does not use (only its runtime
# and state directories and node-exporter's textfile directory), no device
# but its own (a class such as char-misc would admit /dev/kvm too), no
# capability it does not use, and no pulling in (or stopping with) a libvirt
# daemon: the monolithic one would start on a split-daemon host
for unwanted in 'RuntimeDirectoryPreserve' 'CapabilityBoundingSet=.*CAP_DAC_OVERRIDE' 'CapabilityBoundingSet=.*CAP_CHOWN' \
	'\(Wants\|Requires\|Requisite\|BindsTo\|PartOf\)=.*\(libvirtd\|virtqemud\|virtproxyd\)' \
	'DeviceAllow=char-' 'DeviceAllow=/dev/kvm ' 'DeviceAllow=/dev/kvm$'; do
	grep -q "^$unwanted" <<<"$settings" && { echo "unit has $unwanted"; exit 1; }
done
[ "$(grep -c '^ReadWritePaths=' <<<"$settings")" = 1 ] || { echo "unit has other ReadWritePaths= than node-exporter's"; exit 1; }
json_pp <"$D/prepopd.conf" >/dev/null 2>&1 || jq . "$D/prepopd.conf" >/dev/null
# the group of the control socket; the modules-load.d file names the module
grep -qx 'g prepop - -' "$D/prepop.sysusers" || { echo "prepop.sysusers does not make the group prepop"; exit 1; }
grep -qx 'kvm_prepop' "$D/kvm_prepop.modules-load.conf" || { echo "kvm_prepop.modules-load.conf does not load kvm_prepop"; exit 1; }
# the udev rule restarts a running prepopd when the node appears, and parses
grep -q '^ACTION=="add", SUBSYSTEM=="misc", KERNEL=="kvm_prepop", RUN+="/usr/bin/systemctl --no-block try-restart prepopd.service"$' \
	"$D/kvm_prepop.rules" || { echo "kvm_prepop.rules does not restart prepopd on the node's add"; exit 1; }
if command -v udevadm >/dev/null && udevadm verify --help >/dev/null 2>&1; then
	udevadm verify --resolve-names=never "$D/kvm_prepop.rules" >/dev/null
fi
# the exposure docs/install.md gives is what systemd-analyze says of the unit
# (offline here; the package tier checks it with the unit running)
doc=$(grep -o 'Overall exposure level for prepopd.service: [0-9.]* [A-Z]*' "$D/../docs/install.md" | head -n1 | sed 's/^.*: //' || true)
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
	got=$(systemd-analyze security --offline=yes --no-pager "$T/prepopd.service" 2>/dev/null |
		sed -n 's/^.*Overall exposure level for prepopd.service: \([0-9.]*\) \([A-Z]*\).*$/\1 \2/p')
	[ -n "$got" ] && [ "$got" = "$doc" ] ||
		{ echo "docs/install.md gives exposure '${doc:-nothing}', systemd-analyze security --offline says '${got:-nothing}'"; exit 1; }
fi
echo "systemd: prepopd.service verified (exposure $doc)"
