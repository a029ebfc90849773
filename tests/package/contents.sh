#!/usr/bin/env bash
# What the two packages hold, checked from the .debs themselves: one
# "PASS name: ..." or "FAIL name: why" line per check, then "contents: done".
#   contents.sh PREPOP_DEB PREPOP_DKMS_DEB VERSION
set -uo pipefail
DEB=$1 DKMS=$2 VERSION=$3
SRC=$(cd "$(dirname "$0")/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
WHY=()
bad() { WHY+=("$*"); }
verdict() {	# NAME WHAT
	if [ ${#WHY[@]} -eq 0 ]; then
		echo "PASS $1: $2"
	else
		echo "FAIL $1: $(printf '%s; ' "${WHY[@]}" | sed 's/; $//')"
	fi
	WHY=()
}
files() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|' | grep -v '/$'; }
field() { dpkg-deb -f "$1" "$2"; }
ctrl() { dpkg-deb --ctrl-tarfile "$1" | tar -xO "./$2" 2>/dev/null; }
has() {	# LIST PATH...
	local l=$1 p
	shift
	for p in "$@"; do grep -qx -- "$p" <<<"$l" || bad "no $p"; done
}
scripts() {	# DEB NAME...: present, executable, parse as sh
	local deb=$1 s mode
	shift
	for s in "$@"; do
		mode=$(dpkg-deb --ctrl-tarfile "$deb" | tar -tv "./$s" 2>/dev/null | awk '{ print $1 }')
		[ -n "$mode" ] || { bad "no $s"; continue; }
		[ "$mode" = "-rwxr-xr-x" ] || bad "$s is $mode"
		ctrl "$deb" "$s" >"$W/$s" && sh -n "$W/$s" || bad "$s does not parse"
	done
}

# ---- prepop
L=$(files "$DEB")
has "$L" /usr/sbin/prepopd /usr/bin/prepopctl /usr/lib/systemd/system/prepopd.service \
	/usr/lib/udev/rules.d/60-kvm_prepop.rules /usr/lib/sysusers.d/prepop.conf /etc/prepop/prepopd.conf /usr/share/man/man8/prepopd.8.gz \
	/usr/share/man/man8/prepopctl.8.gz /usr/share/doc/prepop/copyright /usr/share/doc/prepop/install.md
for f in "$SRC"/policy/policy.d/*.json; do has "$L" "/etc/prepop/policy.d/$(basename "$f")"; done
# the modules-load.d file goes with the module: without it, loading it fails
grep -q modules-load.d <<<"$L" && bad "ships a modules-load.d file (the module is prepop-dkms's)"
[ "$(field "$DEB" Architecture)" = amd64 ] || bad "Architecture $(field "$DEB" Architecture)"
[ "$(field "$DEB" Version)" = "$VERSION" ] || bad "Version $(field "$DEB" Version), not $VERSION"
verdict prepop-files "prepopd, prepopctl, the unit, the udev rule, sysusers.d, configuration and $(ls "$SRC"/policy/policy.d/*.json | wc -l) policy files, man pages, docs"

# every file under /etc is a conffile, and nothing else
want=$(grep '^/etc/' <<<"$L" | sort)
got=$(ctrl "$DEB" conffiles | sort)
[ -n "$got" ] && [ "$want" = "$got" ] || bad "conffiles [$(echo $got)] are not the files under /etc [$(echo $want)]"
verdict prepop-conffiles "$(echo "$got" | wc -l) conffiles, every file under /etc/prepop"

# Depends: what the programs link (dpkg-shlibdeps) and the systemd helpers
dep=$(field "$DEB" Depends)
for p in libc6 libvirt0 libjson-c5 libxml2 libevent-2.1-7 libevent-pthreads-2.1-7 libsystemd0 init-system-helpers; do
	grep -q "\(^\|, \)$p\( \|,\|$\)" <<<"$dep" || bad "Depends lacks $p"
done
mkdir -p "$W/prepop" && dpkg-deb -x "$DEB" "$W/prepop"
for b in usr/sbin/prepopd usr/bin/prepopctl; do
	for lib in $(objdump -p "$W/prepop/$b" | awk '$1 == "NEEDED" { print $2 }'); do
		pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -n1 | cut -d: -f1)
		[ -z "$pkg" ] || grep -q "\(^\|, \)${pkg}[ ,]\|, ${pkg}$\|^${pkg}$" <<<"$dep" || bad "$b needs $lib ($pkg), not in Depends"
	done
done
verdict prepop-depends "$dep"

scripts "$DEB" postinst prerm postrm
grep -q 'deb-systemd-helper enable prepopd.service' "$W/postinst" || bad "postinst does not enable the unit"
grep -q 'systemd-sysusers prepop.conf' "$W/postinst" || bad "postinst does not make the group prepop"
grep -q 'deb-systemd-invoke start prepopd.service' "$W/postinst" || bad "postinst does not start the unit"
grep -q 'deb-systemd-invoke stop prepopd.service' "$W/prerm" || bad "prerm does not stop the unit"
grep -q 'deb-systemd-helper purge prepopd.service' "$W/postrm" || bad "postrm does not purge the unit's state"
verdict prepop-scripts "postinst enables and starts prepopd.service, prerm stops it, postrm masks/purges its state (deb-systemd-helper)"

# the installed unit and udev rule are the repository's
cmp -s "$W/prepop/usr/lib/systemd/system/prepopd.service" "$SRC/systemd/prepopd.service" || bad "the unit differs from systemd/prepopd.service"
cmp -s "$W/prepop/usr/lib/udev/rules.d/60-kvm_prepop.rules" "$SRC/systemd/kvm_prepop.rules" || bad "the udev rule differs from systemd/kvm_prepop.rules"
verdict prepop-unit "systemd/prepopd.service and kvm_prepop.rules as shipped"

# the man pages: render without warnings (groff), and name every option and
# command the programs' own usage names
for m in prepopd prepopctl; do
	gzip -dc "$W/prepop/usr/share/man/man8/$m.8.gz" >"$W/$m.8" || { bad "$m.8.gz is not gzip"; continue; }
	if command -v groff >/dev/null; then
		w=$(groff -man -Tutf8 -ww -z "$W/$m.8" 2>&1)
		[ -z "$w" ] || bad "$m.8: $w"
	fi
	grep -q "^\.TH $(echo $m | tr a-z A-Z) 8 \"\" \"prepop $VERSION\"" "$W/$m.8" || bad "$m.8 has no .TH for prepop $VERSION"
done
for o in $("$W/prepop/usr/sbin/prepopd" -h | grep -o '\[-[a-zA-Z]\( [A-Z_]*\)\?\]' | grep -o '\-[a-zA-Z]'); do
	grep -q "^\.B[IR]* \\\\$o\b" "$W/prepopd.8" || bad "prepopd.8 does not describe $o"
done
sect() { sed -n "/^\.SH $1\$/,/^\.SH /p" "$2"; }
for c in $("$W/prepop/usr/bin/prepopctl" --help | sed -n 's/^\(usage:\)\? *prepopctl \([a-z][a-z ]*[a-z]\)\( .*\|\)$/\2/p' | awk '{ print $1 }' | sort -u); do
	grep -q "^\.B prepopctl $c\b" "$W/prepopctl.8" || bad "prepopctl.8 has no synopsis for '$c'"
	# a tag of COMMANDS' list (the line after .TP) names it
	[ "$c" = help ] || sect COMMANDS "$W/prepopctl.8" | awk '/^\.TP/ { getline; print }' | grep -q "\b$c\b" ||
		bad "prepopctl.8 does not describe '$c'"
done
for o in $("$W/prepop/usr/bin/prepopctl" --help | grep -o '\-\-[a-z-]*' | sort -u); do
	grep -q -- "${o//-/\\\\-}" "$W/prepopctl.8" || bad "prepopctl.8 does not mention $o"
done
command -v groff >/dev/null || echo "note man-pages: groff is not installed; the pages were not rendered"
verdict man-pages "prepopd(8), prepopctl(8) render and cover every option and command of the programs' usage"

# ---- prepop-dkms
L=$(files "$DKMS")
S=/usr/src/kvm_prepop-$VERSION
has "$L" "$S/dkms.conf" "$S/Makefile" "$S/include/uapi/linux/kvm_prepop.h" /usr/lib/modules-load.d/kvm_prepop.conf \
	/usr/share/doc/prepop-dkms/copyright
for f in "$SRC"/kmod/*.[ch]; do
	case $f in *.mod.c) continue ;; esac
	has "$L" "$S/$(basename "$f")"
done
grep -E '\.(o|ko|cmd|mod|symvers)$|\.mod\.c$|modules\.order' <<<"$L" && bad "ships build artefacts"
[ "$(field "$DKMS" Architecture)" = all ] || bad "Architecture $(field "$DKMS" Architecture)"
grep -q '\(^\|, \)dkms\b' <<<"$(field "$DKMS" Depends)" || bad "Depends lacks dkms"
verdict dkms-files "kvm_prepop's $(grep -c "^$S/.*\.[ch]$" <<<"$L") sources, Makefile, dkms.conf in $S; modules-load.d; Depends: $(field "$DKMS" Depends)"

mkdir -p "$W/dkms" && dpkg-deb -x "$DKMS" "$W/dkms"
conf=$W/dkms/$S/dkms.conf
(
	set +u	# dkms.conf names DKMS's own variables
	# shellcheck disable=SC1090
	. "$conf"
	[ "$PACKAGE_NAME" = kvm_prepop ] || echo "PACKAGE_NAME $PACKAGE_NAME"
	[ "$PACKAGE_VERSION" = "$VERSION" ] || echo "PACKAGE_VERSION $PACKAGE_VERSION, not $VERSION"
	[ "${BUILT_MODULE_NAME[0]}" = kvm_prepop ] || echo "BUILT_MODULE_NAME ${BUILT_MODULE_NAME[0]}"
	[ "$AUTOINSTALL" = yes ] || echo "AUTOINSTALL $AUTOINSTALL"
	# kbuild itself: DKMS 3 runs "make -jN KERNELRELEASE=..." plus the rest
	grep -q '^MAKE\[0\]="make -C ${kernel_source_dir} M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build modules"$' "$conf" ||
		echo "MAKE[0] is not kbuild's: $(grep '^MAKE' "$conf")"
	# the kernels kmod/compat.h accepts, and no other (as DKMS matches: =~)
	for k in 6.1.0-56-amd64 6.2.16 6.12.117+deb13-amd64 7.0.1 7.3.4+deb13-amd64; do
		[[ $k =~ $BUILD_EXCLUSIVE_KERNEL ]] || echo "BUILD_EXCLUSIVE_KERNEL refuses $k"
	done
	for k in 5.10.0-30-amd64 6.3.1 6.11.2 6.13.0 6.120.1 7.4.0 16.1.0; do
		[[ $k =~ $BUILD_EXCLUSIVE_KERNEL ]] && echo "BUILD_EXCLUSIVE_KERNEL admits $k"
	done
) >"$W/dkms.why" 2>&1
while IFS= read -r l; do bad "dkms.conf: $l"; done <"$W/dkms.why"
verdict dkms-conf "kvm_prepop $VERSION, AUTOINSTALL, BUILD_EXCLUSIVE_KERNEL: 6.1-6.2, 6.12, 7.0-7.3 (kmod/compat.h's)"

scripts "$DKMS" postinst prerm postrm
grep -q "common.postinst \"\$NAME\" \"\$VERSION\"" "$W/postinst" || bad "postinst does not build with DKMS"
grep -q '^VERSION=' "$W/postinst" && ! grep -q "^VERSION=$VERSION$" "$W/postinst" && bad "postinst's VERSION is not $VERSION"
grep -q 'rmmod "$NAME"' "$W/prerm" || bad "prerm does not unload the module"
grep -q 'dkms remove -m "$NAME" -v "$VERSION" --all' "$W/prerm" || bad "prerm does not remove it from DKMS"
verdict dkms-scripts "postinst builds (DKMS common.postinst) and loads, prerm stops prepopd, unloads, dkms remove"
echo "contents: done"
