#!/usr/bin/env bash
# Debian 13: the two packages installed with apt into a trixie chroot, as on a
# Debian 13 host with its kernel's headers: apt resolves the Depends from the
# archive, DKMS builds kvm_prepop for trixie's kernel (the chroot's only one),
# the programs run on trixie's libraries; then apt remove and purge.  No
# systemd runs in a chroot: the units' enablement is checked through
# deb-systemd-helper's state, starting them is the Debian 12 testbed's part.
# Prints "trixie: PASS|FAIL name: ..." lines and "trixie: done".
#   trixie.sh DIR PREPOP_DEB PREPOP_DKMS_DEB
# DIR/base (debootstrap trixie, minbase) and DIR/archives (apt's downloads)
# are kept between runs; DIR/root is made again from DIR/base every run.
set -uo pipefail
DIR=$1 DEB=$2 DKMS=$3
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/kernels/lib.sh"	# pk_mirror
mkdir -p "$DIR/archives/partial"
DIR=$(cd "$DIR" && pwd)
BASE=$DIR/base ROOT=$DIR/root
t0=$(date +%s)
say() { echo "trixie: $*"; }
WHY=()
bad() { WHY+=("$*"); }
verdict() {
	if [ ${#WHY[@]} -eq 0 ]; then say "PASS $1: $2"; else say "FAIL $1: $(printf '%s; ' "${WHY[@]}" | sed 's/; $//')"; fi
	WHY=()
}
MIRROR=$(pk_mirror)
if [ "$(cat "$BASE/.pp-done" 2>/dev/null)" != "$MIRROR" ]; then
	rm -rf "$BASE"
	debootstrap --variant=minbase trixie "$BASE" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$DIR/debootstrap.log"; say "FAIL chroot: debootstrap trixie failed"; say "done"; exit 1; }
	echo "$MIRROR" >"$BASE/.pp-done"
fi
rm -rf "$ROOT" && cp -a "$BASE" "$ROOT"
cp "$DEB" "$DKMS" "$ROOT/tmp/"
D=/tmp/$(basename "$DEB") K=/tmp/$(basename "$DKMS")
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie-updates main
EOF
# in the chroot, in a private mount namespace: /proc, apt's download cache
# (kept in DIR/archives), nothing left mounted whatever happens
in_root() {
	PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		unshare --mount --fork --pid --mount-proc="$ROOT/proc" \
		sh -c 'mount --bind "$1/archives" "$2/var/cache/apt/archives" && r=$2 && shift 2 && exec chroot "$r" "$@"' \
		sh "$DIR" "$ROOT" "$@"
}

# a Debian 13 host with its kernel's headers
in_root apt-get -q update >"$DIR/apt.log" 2>&1 &&
	in_root apt-get -q install -y --no-install-recommends linux-headers-amd64 >>"$DIR/apt.log" 2>&1 ||
	{ tail -n 20 "$DIR/apt.log"; say "FAIL chroot: apt-get update or the headers failed"; say "done"; exit 1; }
KREL=$(ls "$ROOT/usr/lib/modules" | head -n1)
say "note: trixie chroot with linux-headers-$KREL ($(($(date +%s) - t0)) s)"

# ---- install: apt resolves the Depends from trixie; DKMS builds for KREL
t1=$(date +%s)
# (without Recommends: libvirt-daemon-system would bring a whole QEMU)
if in_root apt install -q -y --no-install-recommends "$K" "$D" >"$DIR/install.log" 2>&1; then
	st=$(in_root dkms status kvm_prepop 2>&1)
	grep -q "kvm_prepop/[^,]*, $KREL, x86_64: installed" <<<"$st" || bad "dkms status: $st"
	f=$(find "$ROOT/usr/lib/modules/$KREL" -name 'kvm_prepop.ko*' | head -n1)
	[ -n "$f" ] || bad "no kvm_prepop.ko under /lib/modules/$KREL"
	[ -z "$f" ] || [ "$(modinfo -F vermagic "$f" | awk '{ print $1 }')" = "$KREL" ] || bad "kvm_prepop.ko's vermagic is not $KREL"
	in_root dpkg-query -W -f='${Status}\n' prepop prepop-dkms | grep -vqx 'install ok installed' && bad "not both installed: $(in_root dpkg-query -W -f='${Package} ${Status}, ' prepop prepop-dkms)"
else
	bad "apt install failed: $(grep -a '^E:\|rror' "$DIR/install.log" | head -n 5 | tr '\n' ' ')"
	for f in "$ROOT"/var/lib/dkms/kvm_prepop/*/build/make.log; do
		[ -f "$f" ] && cp "$f" "$DIR/dkms-make.log" && bad "DKMS: $(grep -a -m3 'error\|Error' "$f" | tr '\n' ' ') (make.log in $DIR)"
	done
fi
INSTALLED=${#WHY[@]}
verdict install "apt install ./$(basename "$DKMS") ./$(basename "$DEB"): Depends resolved from trixie, DKMS built kvm_prepop for $KREL ($(($(date +%s) - t1)) s)"

if [ "$INSTALLED" != 0 ]; then
	for c in run remove purge; do say "FAIL $c: not run (the install failed)"; done
	say "done ($(($(date +%s) - t0)) s)"
	exit 1
fi

# ---- the programs on trixie's libraries; the unit enabled (deb-systemd-helper's state)
out=$(in_root prepopctl --version 2>&1) || bad "prepopctl --version: $out"
out=$(in_root prepopctl policy check /etc/prepop/policy.d 2>&1) || bad "prepopctl policy check: $out"
out=$(in_root prepopd -h 2>&1) || bad "prepopd -h: $out"
out=$(in_root sh -c 'ldd /usr/sbin/prepopd /usr/bin/prepopctl' 2>&1)
grep -q 'not found' <<<"$out" && bad "missing libraries: $(grep 'not found' <<<"$out" | tr '\n' ' ')"
en=$(in_root systemctl is-enabled prepopd.service 2>&1)
[ "$en" = enabled ] || bad "systemctl is-enabled prepopd.service: $en"
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/prepopd.service" ] || bad "no multi-user.target.wants/prepopd.service"
[ -f "$ROOT/usr/lib/modules-load.d/kvm_prepop.conf" ] || bad "no modules-load.d/kvm_prepop.conf"
in_root getent group prepop >/dev/null || bad "no group prepop"
verdict run "prepopctl and prepopd run on trixie's libraries; prepopd.service enabled; group prepop"

# ---- remove: the module leaves DKMS and the kernel's tree; the conffiles stay
echo '{ "version": 1, "eligibility": { "min_memory_mib": 1 } }' >"$ROOT/etc/prepop/policy.d/defaults.json"
if in_root apt remove -q -y prepop prepop-dkms >"$DIR/remove.log" 2>&1; then
	st=$(in_root dkms status kvm_prepop 2>&1)
	[ -z "$st" ] || bad "dkms status after remove: $st"
	[ -z "$(find "$ROOT/usr/lib/modules" -name 'kvm_prepop.ko*')" ] || bad "kvm_prepop.ko left in /lib/modules"
	[ ! -e "$ROOT/usr/sbin/prepopd" ] || bad "/usr/sbin/prepopd left"
	ls -d "$ROOT"/usr/src/kvm_prepop-* >/dev/null 2>&1 && bad "/usr/src/kvm_prepop-* left"
	# (deb-systemd-helper keeps the enablement link until purge, as for any
	# package: the unit file is gone, the link dangles)
	en=$(in_root systemctl is-enabled prepopd.service 2>&1)
	[ "$en" = "" ] || grep -q 'No such file\|not-found\|masked' <<<"$en" || bad "after remove, systemctl is-enabled prepopd.service: $en"
	grep -q min_memory_mib "$ROOT/etc/prepop/policy.d/defaults.json" 2>/dev/null || bad "the edited conffile did not stay"
else
	bad "apt remove failed: $(grep -a '^E:\|rror' "$DIR/remove.log" | head -n 5 | tr '\n' ' ')"
fi
verdict remove "apt remove: out of DKMS and /lib/modules, no program, unit disabled; the edited policy stays"
if in_root apt purge -q -y prepop prepop-dkms >>"$DIR/remove.log" 2>&1; then
	[ ! -e "$ROOT/etc/prepop" ] || bad "/etc/prepop left: $(find "$ROOT/etc/prepop" | tr '\n' ' ')"
	ls "$ROOT"/var/lib/systemd/deb-systemd-helper-*/*prepopd* >/dev/null 2>&1 && bad "deb-systemd-helper state left"
	[ -z "$(ls "$ROOT"/etc/systemd/system/*/prepopd.service 2>/dev/null)" ] || bad "enablement links left"
	st=$(in_root dpkg-query -W -f='${Package} ${Status}\n' prepop prepop-dkms 2>/dev/null | grep -v 'not-installed$')
	[ -z "$st" ] || bad "dpkg still knows: $st"
else
	bad "apt purge failed: $(grep -a '^E:\|rror' "$DIR/remove.log" | tail -n 5 | tr '\n' ' ')"
fi
verdict purge "apt purge: /etc/prepop and deb-systemd-helper's state gone"
[ -n "${KEEP:-}" ] || rm -rf "$ROOT"
say "done ($(($(date +%s) - t0)) s)"
