# shellcheck shell=bash
# Debian's kernels for the testbed and the module build check, fetched from
# Debian's own archive, never installed on the host.  Source this file; it
# defines functions only.
#
#   pk_kernel K [headers]
#                   K = 6.1 | 6.12 | 7.  Fetches the kernel once (cached under
#                   PP_KERNELS_DIR, default build/kernels) and sets
#       PK_KREL       its release (uname -r)
#       PK_VERSION    its Debian package version
#       PK_VMLINUZ    the kernel image
#       PK_MODDIR     its modules: $PK_MODDIR/kernel/... (.ko, or .ko.xz from 6.12 on)
#       PK_CHROOT     the build chroot (empty for 6.1: the host builds it)
#       PK_KDIR       the headers (inside PK_CHROOT when there is one)
#     6.1  : the host's linux-headers-amd64 (tests/setup-deps.sh) and its image,
#            through the host's apt ("headers": not the image).
#     6.12 : trixie's linux-image-amd64.
#     7    : the highest 7.x linux-image-amd64 of trixie-backports and sid.
#     6.12 and 7 are resolved and downloaded through a private apt configuration
#     (its own sources list, lists and cache under PP_KERNELS_DIR/apt, the
#     machine's Debian mirror; the machine's apt sources are never touched),
#     and built in a trixie chroot (gcc-14, glibc >= 2.38 for 7.x's kbuild
#     tools) with the headers extracted where their Makefiles expect them.
#     The resolution is cached too: PP_KERNELS_REFRESH=1 asks the archive again.
#   pk_make DIR ARG...
#                   make -C DIR KDIR=$PK_KDIR ARG... for the kernel pk_kernel
#                   chose: on the host for 6.1, in the chroot otherwise (DIR is
#                   bind-mounted at /build in a private mount namespace).
#   pk_modules NAME...
#                   the modules NAME... need, dependencies first, one name a
#                   line (from each module's modinfo "depends").
#   pk_module_file NAME
#                   the module's file under PK_MODDIR.

PK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PK_DIR=${PP_KERNELS_DIR:-$PK_SRC/build/kernels}
# the build chroot's Debian release and packages (kernel-facts.md); trixie's
# dwarves is the pahole (1.30) Debian built 6.12 and 7.x with, so kbuild
# generates the modules' BTF against the headers' vmlinux as Debian does (and
# 7.x's kbuild does not warn about a pahole version mismatch).  sparse: sid's
# package (0.6.5~rc1; trixie's 0.6.4 cannot parse 7.x's __typeof_unqual__; it needs only libc),
# as /usr/local/bin/sparse
PK_CHROOT_SUITE=trixie
PK_CHROOT_PKGS=gcc-14,make,libc6-dev,libelf1t64,libssl3t64,zlib1g,xz-utils,kmod,binutils,dwarves

pk_log() { echo "kernels: $*" >&2; }

# The machine's Debian mirror: the sources entry of the host's own release.
pk_mirror() {
	local codename uri
	[ -n "${PP_DEBIAN_MIRROR:-}" ] && { echo "$PP_DEBIAN_MIRROR"; return; }
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	uri=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
		awk -v c="$codename" '$1 == c { print $2; exit }')
	echo "${uri:-http://deb.debian.org/debian/}"
}

# apt-get / apt-cache with the private configuration
pk_apt() {
	local cmd=$1 a=$PK_DIR/apt
	shift
	"$cmd" -q -o Dir::Etc::sourcelist="$a/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::Etc::preferences="$a/preferences" -o Dir::Etc::preferencesparts="$a/preferences.d" \
		-o Dir::State="$a/state" -o Dir::State::status="$a/state/status" \
		-o Dir::Cache="$a/cache" -o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin \
		-o APT::Architecture=amd64 -o APT::Architectures::=amd64 \
		-o Acquire::Languages=none -o APT::Sandbox::User=root -o Debug::NoLocking=1 "$@"
}

pk_apt_update() {
	local a=$PK_DIR/apt m s
	# lists younger than an hour do (one setup fetches 6.12 and 7 in turn)
	if [ -n "$(find "$a/updated" -mmin -60 2>/dev/null)" ]; then return 0; fi
	mkdir -p "$a/state/lists/partial" "$a/cache/archives/partial" "$a/preferences.d"
	: >"$a/state/status"
	: >"$a/preferences"
	m=$(pk_mirror)
	for s in trixie trixie-backports sid; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m $s main"
	done >"$a/sources.list"
	pk_log "apt update ($m: trixie trixie-backports sid)"
	pk_apt apt-get update >"$a/update.log" 2>&1 || { cat "$a/update.log" >&2; return 1; }
	touch "$a/updated"
}

# KREL and version of alias K in the private apt's lists: "KREL VERSION"
pk_resolve() {
	local k=$1 want suites v best='' krel
	case $k in
	6.12) want=6.12. suites=' trixie/main ' ;;
	7) want=7. suites=' trixie-backports/main | sid/main ' ;;
	*) pk_log "unknown kernel $k (6.1, 6.12 or 7)"; return 2 ;;
	esac
	for v in $(pk_apt apt-cache madison linux-image-amd64 |
		awk -F' [|] ' -v s="$suites" '{ n = split(s, a, "[|]"); for (i = 1; i <= n; i++) if (index($3 " ", a[i])) print $2 }'); do
		case $v in "$want"*) ;; *) continue ;; esac
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	[ -n "$best" ] || { pk_log "no $want* linux-image-amd64 in${suites//|/,}"; return 1; }
	krel=$(pk_apt apt-cache show "linux-image-amd64=$best" | sed -n 's/^Depends: //p' | head -n1 |
		grep -o 'linux-image-[0-9][^ ,]*-amd64' | head -n1 | sed 's/^linux-image-//')
	[ -n "$krel" ] || { pk_log "linux-image-amd64=$best names no linux-image-*-amd64"; return 1; }
	echo "$krel $best"
}

# the packages of KREL at VERSION: the image and the headers with the
# dependencies built from the same source (their names carry KREL's ABI)
pk_closure() {
	local krel=$1 ver=$2 abi=${1%-amd64} todo seen='' p d
	todo="linux-image-$krel linux-headers-$krel"
	while [ -n "$todo" ]; do
		set -- $todo
		p=$1
		shift
		todo="$*"
		case " $seen " in *" $p "*) continue ;; esac
		seen="$seen $p"
		for d in $(pk_apt apt-cache show "$p=$ver" | sed -n 's/^\(Pre-\)\?Depends: //p' | head -n1 |
			tr ',' '\n' | sed 's/|.*//; s/(.*//; s/:any//; s/ //g'); do
			case $d in *"$abi"*) todo="$todo $d" ;; esac
		done
	done
	echo $seen
}

pk_chroot_setup() {
	local ch=$PK_DIR/chroot m
	[ -f "$ch/.pp-done" ] && [ "$(cat "$ch/.pp-done")" = "$PK_CHROOT_SUITE $PK_CHROOT_PKGS" ] && return 0
	rm -rf "$ch"
	m=$(pk_mirror)
	pk_log "debootstrap $PK_CHROOT_SUITE (once): $PK_CHROOT_PKGS"
	if ! debootstrap --variant=minbase --include="$PK_CHROOT_PKGS" "$PK_CHROOT_SUITE" "$ch" "$m" \
		>"$PK_DIR/chroot.log" 2>&1; then
		tail -n 20 "$PK_DIR/chroot.log" >&2
		return 1
	fi
	rm -rf "$ch"/usr/share/{doc,man,locale,info} "$ch"/var/cache/apt/archives/*.deb "$ch"/var/lib/apt/lists/*
	mkdir -p "$ch/build" "$PK_DIR/debs" || return 1
	pk_apt_update || return 1
	rm -f "$PK_DIR"/debs/sparse_*.deb
	(cd "$PK_DIR/debs" && pk_apt apt-get download sparse/sid >/dev/null) || { pk_log "no sparse in sid"; return 1; }
	rm -rf "$PK_DIR/sparse" && dpkg-deb -x "$PK_DIR"/debs/sparse_*.deb "$PK_DIR/sparse" || return 1
	install -m 755 "$PK_DIR/sparse/usr/bin/sparse" "$ch/usr/local/bin/sparse" || return 1
	echo "$PK_CHROOT_SUITE $PK_CHROOT_PKGS" >"$ch/.pp-done"
}

# fetch alias K (6.12 or 7) into $PK_DIR/K; sets PK_KREL PK_VERSION
pk_fetch() {
	local k=$1 kd=$PK_DIR/$1 r krel ver pkgs p f
	if [ -f "$kd/.done" ] && [ "${PP_KERNELS_REFRESH:-0}" != 1 ]; then
		read -r PK_KREL PK_VERSION <"$kd/.done"
		return 0
	fi
	pk_apt_update || return 1
	r=$(pk_resolve "$k") || return 1
	read -r krel ver <<<"$r"
	if [ -f "$kd/.done" ] && [ "$(cat "$kd/.done")" = "$krel $ver" ]; then
		read -r PK_KREL PK_VERSION <"$kd/.done"
		return 0
	fi
	pkgs=$(pk_closure "$krel" "$ver") || return 1
	pk_log "$k: linux $krel ($ver): $pkgs"
	mkdir -p "$PK_DIR/debs"
	local get=()
	for p in $pkgs; do
		ls "$PK_DIR/debs/${p}_${ver//:/%3a}_"*.deb >/dev/null 2>&1 || get+=("$p=$ver")
	done
	if [ ${#get[@]} -gt 0 ]; then
		(cd "$PK_DIR/debs" && pk_apt apt-get download "${get[@]}" >/dev/null) || {
			pk_log "download of ${get[*]} failed"
			return 1
		}
	fi
	rm -rf "$kd" && mkdir -p "$kd/root" || return 1
	for p in $pkgs; do
		case $p in linux-headers-* | linux-kbuild-*) continue ;; esac
		for f in "$PK_DIR/debs/${p}_${ver//:/%3a}_"*.deb; do dpkg-deb -x "$f" "$kd/root" || return 1; done
	done
	echo "$pkgs" >"$kd/packages"
	echo "$krel $ver" >"$kd/.done"
	PK_KREL=$krel PK_VERSION=$ver
}

# the headers of PK_KREL, where their Makefiles look for them (/usr/src,
# /usr/lib/linux-kbuild-*), inside the chroot
pk_chroot_headers() {
	local ch=$PK_DIR/chroot p f
	[ "$(cat "$ch/usr/src/.pp-$PK_KREL" 2>/dev/null)" = "$PK_VERSION" ] && return 0
	pk_log "$1: headers of $PK_KREL into the chroot"
	for p in $(cat "$PK_DIR/$1/packages"); do
		case $p in linux-headers-* | linux-kbuild-*) ;; *) continue ;; esac
		for f in "$PK_DIR/debs/${p}_${PK_VERSION//:/%3a}_"*.deb; do dpkg-deb -x "$f" "$ch" || return 1; done
	done
	# 7.x's Makefile accepts C=1 only if scripts/checker-valid.sh says the
	# checker parses __typeof_unqual__; Debian's linux-kbuild lacks the script
	# (kbuild then warns and checks nothing), so supply one
	local common
	common=$(sed -n 's|^include \(/usr/src/[^ ]*\)/Makefile$|\1|p' "$ch/usr/src/linux-headers-$PK_KREL/Makefile")
	if [ -n "$common" ] && grep -q 'scripts/checker-valid\.sh' "$ch$common/Makefile" &&
		[ ! -e "$ch$common/scripts/checker-valid.sh" ]; then
		cat >"$ch$common/scripts/checker-valid.sh" <<-'EOF'
		#!/bin/sh
		# Supplied by prepop's tests/kernels/lib.sh (Debian's linux-kbuild lacks it):
		# prints 1 if the checker "$@" parses __typeof_unqual__ without an error.
		command -v "$1" >/dev/null 2>&1 || { echo 0; exit 0; }
		t=$(mktemp --suffix=.c)
		trap 'rm -f "$t"' EXIT
		printf 'static inline int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' >"$t"
		if "$@" "$t" 2>&1 | grep -q error; then echo 0; else echo 1; fi
		EOF
		chmod 755 "$ch$common/scripts/checker-valid.sh"
	fi
	echo "$PK_VERSION" >"$ch/usr/src/.pp-$PK_KREL"
}

pk_kernel_locked() {
	local k=$1 kd d f
	case $k in
	6.1)
		# the host's headers; the image only for the testbed
		PK_KREL=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
			grep -o 'linux-headers-[^ ,]*' | sed -n '1s/^linux-headers-//p')
		[ -n "$PK_KREL" ] && [ -d "/usr/src/linux-headers-$PK_KREL" ] ||
			{ pk_log "6.1: the host's linux-headers-amd64 is missing (run tests/setup-deps.sh)"; return 2; }
		PK_VERSION=$(dpkg-query -W -f='${Version}' "linux-headers-$PK_KREL")
		PK_KDIR=/usr/src/linux-headers-$PK_KREL
		PK_CHROOT=
		kd=$PK_DIR/6.1
		[ "$2" = headers ] && { PK_VMLINUZ='' PK_MODDIR=''; return 0; }
		if [ ! -f "$kd/.done" ] || [ "$(cat "$kd/.done")" != "$PK_KREL $PK_VERSION" ]; then
			rm -rf "$kd" && mkdir -p "$kd/root" || return 1
			(cd "$kd" && { apt-get download "linux-image-$PK_KREL" >/dev/null 2>&1 ||
				apt-get download "linux-image-$PK_KREL-unsigned"; }) || return 1
			dpkg-deb -x "$kd"/linux-image-*.deb "$kd/root" || return 1
			rm -f "$kd"/linux-image-*.deb
			echo "$PK_KREL $PK_VERSION" >"$kd/.done"
		fi
		;;
	6.12 | 7)
		pk_fetch "$k" || return 1
		pk_chroot_setup || return 1
		pk_chroot_headers "$k" || return 1
		PK_CHROOT=$PK_DIR/chroot
		PK_KDIR=/usr/src/linux-headers-$PK_KREL
		kd=$PK_DIR/$k
		;;
	*) pk_log "unknown kernel $k (6.1, 6.12 or 7)"; return 2 ;;
	esac
	PK_MODDIR=
	for d in "$kd/root/usr/lib/modules/$PK_KREL" "$kd/root/lib/modules/$PK_KREL"; do
		[ -d "$d/kernel" ] && { PK_MODDIR=$d; break; }
	done
	PK_VMLINUZ=
	for f in "$kd/root/boot/vmlinuz-$PK_KREL" "$kd/root/usr/lib/modules/$PK_KREL/vmlinuz"; do
		[ -f "$f" ] && { PK_VMLINUZ=$f; break; }
	done
	[ -n "$PK_MODDIR" ] && [ -n "$PK_VMLINUZ" ] || { pk_log "$k: no image or modules in $kd/root"; return 1; }
}

pk_kernel() {
	local rc=0
	mkdir -p "$PK_DIR"
	# one setup at a time: the tiers share the cache
	exec 9>"$PK_DIR/.lock"
	flock 9
	pk_kernel_locked "$1" "${2:-}" || rc=$?
	exec 9>&-
	return $rc
}

pk_make() {
	local dir
	dir=$(cd "$1" && pwd)
	shift
	if [ -z "$PK_CHROOT" ]; then
		make -C "$dir" KDIR="$PK_KDIR" "$@"
		return
	fi
	# a private mount namespace: /proc (objtool reads it) and the sources at
	# /build vanish with it, whatever happens
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		unshare --mount --fork --pid --mount-proc="$PK_CHROOT/proc" \
		sh -c 'mount --bind "$1" "$2/build" && r=$2 && shift 2 && exec chroot "$r" "$@"' sh \
		"$dir" "$PK_CHROOT" make -C /build KDIR="$PK_KDIR" "$@"
}

pk_module_file() {
	local n=${1//-/_} f b
	while IFS= read -r f; do
		b=${f##*/}
		b=${b%%.ko*}
		[ "${b//-/_}" = "$n" ] && { echo "$f"; return 0; }
	done < <(find "$PK_MODDIR/kernel" -name '*.ko*')
	return 1
}

pk_modules() {
	local -A visited=()
	local order=()
	pk__visit() {
		local n=${1//-/_} f d
		[ -n "${visited[$n]:-}" ] && return 0
		visited[$n]=1
		f=$(pk_module_file "$n") || { pk_log "no module $n in $PK_MODDIR"; return 1; }
		for d in $(modinfo -F depends "$f" | tr ',' ' '); do
			pk__visit "$d" || return 1
		done
		order+=("$n")
	}
	local m
	for m in "$@"; do pk__visit "$m" || return 1; done
	printf '%s\n' "${order[@]}"
}
