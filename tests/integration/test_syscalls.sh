#!/usr/bin/env bash
# Every system call prepopd makes is allowed by the SystemCallFilter= of the
# unit it ships with (systemd/prepopd.service).
#   test_syscalls.sh SOURCE_DIR BUILD_DIR
# Builds prepopd without sanitizers (RelWithDebInfo, BUILD_DIR/syscalls: the
# sanitizers' runtime makes calls of its own), runs the integration tier's
# agent and migration tests with every prepopd under strace -f (start,
# pause, resume, metadata, reloads, a libvirtd restart, migrations with the
# job watch's threads, SIGTERM), and collects every call's name.  The
# populate path (/dev/kvm_prepop, QEMU's VM fd, the slice threads) needs the
# module, which this tier has not: its calls are listed below and checked
# the same way.  Each name must be in the expansion of the unit's
# SystemCallFilter= as systemd-analyze syscall-filter prints it.
set -u
SRC=$1 BUILD=$2
OUT=$BUILD/syscalls
T=$(mktemp -d /tmp/pp-sys-XXXXXX)
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# the populate path: module.c (open, VERSION, POPULATE), qemu.c (pid file,
# /proc scan, /proc/PID/fd, pidfd_open + pidfd_getfd), driver.c and probe.c
# (a thread per slice or query: glibc's pthread_create and thread exit)
POPULATE_PATH="openat read close ioctl fcntl newfstatat fstat lseek getdents64 readlink readlinkat
pidfd_open pidfd_getfd clone clone3 mmap mprotect munmap madvise set_robust_list rseq
rt_sigprocmask futex exit exit_group"

command -v strace >/dev/null || { echo "strace is missing (tests/setup-deps.sh installs it)"; exit 1; }
cmake -S "$SRC" -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPREPOP_TESTS=OFF >"$T/cmake.log" 2>&1 &&
	cmake --build "$OUT" --target prepopd prepopctl -j "$(nproc)" >>"$T/cmake.log" 2>&1 ||
	{ tail -20 "$T/cmake.log"; exit 1; }

# prepopd under strace: signals for prepopd go to prepopd itself
mkdir -p "$T/traces" "$T/pids"
cat >"$T/prepopd" <<EOF
#!/usr/bin/env bash
strace -f -qq -c -o "$T/traces/\$\$" -- "$OUT/prepopd/prepopd" "\$@" &
S=\$!
echo \$S >"$T/pids/\$\$"
fwd() { local c; c=\$(pgrep -P \$S) && kill -\$1 \$c; }
trap 'fwd TERM' TERM
trap 'fwd INT' INT
trap 'fwd HUP' HUP
while :; do
	wait \$S
	rc=\$?
	kill -0 \$S 2>/dev/null || exit \$rc
done
EOF
chmod +x "$T/prepopd"
# a prepopd a failed test left running (by the strace pid each wrapper noted)
reap() {
	local f s c
	for f in "$T"/pids/*; do
		[ -f "$f" ] || continue
		s=$(cat "$f")
		c=$(pgrep -P "$s") && kill -KILL $c 2>/dev/null
	done
}
trap reap EXIT

for t in test_agent test_migration; do
	if bash "$SRC/tests/integration/$t.sh" "$T/prepopd" "$OUT/ctl/prepopctl" "$SRC" >"$T/$t.log" 2>&1; then
		ok
	else
		bad "$t under strace: $(grep -E '^FAIL' "$T/$t.log" | head -3 | tr '\n' ' ')"
	fi
done

# every call name strace counted, over every prepopd run and thread
seen=$(cat "$T"/traces/* 2>/dev/null | awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $NF }' | sort -u)
n=$(ls "$T/traces" | wc -l)
[ "$n" -ge 5 ] && ok || bad "only $n prepopd runs traced"
for must in connect epoll_wait clone3; do	# libvirt's socket, the loop, a job watch thread
	grep -qx "$must" <<<"$seen" && ok || bad "strace saw no $must: the workload did not run"
done

# the names SystemCallFilter= allows: @groups expanded (nested ones too)
expand() {
	local tok
	for tok in "$@"; do
		case $tok in
		@*) systemd-analyze syscall-filter --no-pager "$tok" 2>/dev/null |
			sed -n '2,$p' | sed 's/^[[:space:]]*//' | grep -v '^#' | grep -v '^$' |
			while read -r sub; do expand "$sub"; done ;;
		*) echo "$tok" ;;
		esac
	done
}
filter_of() { # UNIT: the allow list (a deny list "~..." is not handled: fail)
	local line
	line=$(sed -n 's/^SystemCallFilter=//p' "$1" | tr '\n' ' ')
	[ -n "$line" ] || { echo "no SystemCallFilter= in $1" >&2; return 1; }
	case $line in *"~"*) echo "a deny-list SystemCallFilter= is not handled" >&2; return 1 ;; esac
	echo "$line"
}
# missing ALLOWED NAMES...: the names not allowed
missing() {
	local allowed=$1 s
	shift
	for s in "$@"; do grep -qx "$s" <<<"$allowed" || echo "$s"; done | sort -u
}

line=$(filter_of "$SRC/systemd/prepopd.service") || exit 1
allowed=$(expand $line | sort -u)
[ "$(wc -l <<<"$allowed")" -gt 100 ] && ok || bad "the filter expands to only $(wc -l <<<"$allowed") names: $line"
out=$(missing "$allowed" $seen)
[ -z "$out" ] && ok || bad "prepopd makes calls its unit forbids: $(echo $out)"
out=$(missing "$allowed" $POPULATE_PATH)
[ -z "$out" ] && ok || bad "the populate path makes calls its unit forbids: $(echo $out)"

# and the check can fail: the filter the unit had before forbids pidfd_getfd
old=$(expand @system-service @process | sort -u)
out=$(missing "$old" $seen $POPULATE_PATH)
[ "$out" == "pidfd_getfd" ] && ok || bad "the old filter (@system-service @process) should miss exactly pidfd_getfd, missed: $(echo $out)"

echo "observed: $(echo $seen)" >"$T/observed.txt"
echo "systemd syscalls: $(wc -w <<<"$seen") calls observed in $n runs; $pass passed, $fail failed (details in $T)"
[ $fail -eq 0 ]
