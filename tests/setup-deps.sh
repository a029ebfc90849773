#!/usr/bin/env bash
# Install the Debian packages prepop's build and tests need.  Idempotent: it
# asks apt only for what is missing, and runs 'apt-get update' only then.
set -euo pipefail

PKGS=(
	build-essential cmake pkg-config clang libclang-rt-14-dev
	libjson-c-dev libxml2-dev libevent-dev libsystemd-dev libvirt-dev libcmocka-dev
	jq
	# the integration tier: a private libvirtd running TCG guests; strace for
	# the systemd tier's check of prepopd's system calls
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients systemd util-linux strace
	# the testbed: an emulated hypervisor running Debian's 6.1 kernel
	qemu-system-x86 busybox-static cpio kmod linux-headers-amd64 sparse iproute2 debootstrap
	# ... and Debian 13's 6.12 and the newest 7.x (tests/kernels/lib.sh): xz for
	# their .ko.xz, the archive keys for its private apt and trixie chroot
	xz-utils debian-archive-keyring
)

missing=()
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup-deps: all ${#PKGS[@]} packages present"
	exit 0
fi
echo "setup-deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
