#!/bin/sh
# Builds and runs the user-space unit tests of runtime-c's pure logic (maps, rings,
# locks, strings, timer periods), once with small rings (every test wraps) and once with
# the default limits; then the shared /proc directory's locking (test_procdir.c), the
# arm64 store decoder (test_a64_store.c), and
# that stp_limits.h refuses out-of-range limits.
# Exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
rt="$here/../../runtime-c"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
total_p=0
total_f=0
for cfg in "-DSTP_BUFSIZE=4096 -DSTP_PRINTBUF=1024" ""; do
	# shellcheck disable=SC2086
	if ! gcc -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -pthread \
		$cfg -include "$here/kshim.h" -I"$rt" -o "$out/t" "$here/test_runtime.c"; then
		echo "runtime-unit: build failed (${cfg:-defaults})"
		status=1
		total_f=$((total_f + 1))
		continue
	fi
	line=$("$out/t")
	rc=$?
	echo "$line"
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	total_p=$((total_p + ${p:-0}))
	total_f=$((total_f + ${f:-1}))
	[ "$rc" -eq 0 ] || status=1
done
# One more test program: builds $1.c (with gcc options $2), runs it, adds up its counts.
run_test() {
	# shellcheck disable=SC2086
	if gcc -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror $2 \
		-I"$rt" -o "$out/$1" "$here/$1.c"; then
		line=$("$out/$1")
		rc=$?
		echo "$line"
		total_p=$((total_p + $(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')))
		total_f=$((total_f + $(echo "$line" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p')))
		[ "$rc" -eq 0 ] || status=1
	else
		echo "runtime-unit: build of $1.c failed"
		total_f=$((total_f + 1))
		status=1
	fi
}
# /proc/stp_hwbp shared by modules loading and unloading at once (stp_procdir.h, with the
# kernel APIs it uses modelled in the test itself).
run_test test_procdir -pthread
# The arm64 store decoder (stp_a64_store.h), on real encodings.
run_test test_a64_store "-include $here/kshim.h"

# stp_limits.h refuses every limit outside its range (defence in depth behind the
# translator's own -D check): each of these must fail to compile, the bounds themselves
# must not.
printf '#include "kshim.h"\n#include "stp_limits.h"\nint main(void) { return 0; }\n' > "$out/limits.c"
limits_ok() {
	# shellcheck disable=SC2086
	gcc -std=gnu11 -Wall -Werror -fsyntax-only $1 -I"$here" -I"$rt" "$out/limits.c" 2>/dev/null
}
for bad in STP_MAXACTION=0 STP_MAXACTION=-1 STP_MAXACTION=1000001 \
	STP_MAXSTRINGLEN=7 STP_MAXSTRINGLEN=4097 STP_MAXMAPENTRIES=0 STP_MAXMAPENTRIES=1048577 \
	STP_MAXNESTING=0 STP_MAXNESTING=33 STP_MAXTRYLOCK=0 STP_MAXTRYLOCK=10001 \
	STP_TRYLOCKDELAY=-1 STP_TRYLOCKDELAY=101 STP_MAXSKIPPED=-1 STP_MAXSKIPPED=1000000001 \
	STP_MAXERRORS=-1 STP_MAXERRORS=1000000001 STP_BUFSIZE=2048 STP_BUFSIZE=5000 \
	STP_BUFSIZE=134217728 STP_PRINTBUF=63 STP_PRINTBUF=32768 STP_MAXBACKTRACE=0 \
	STP_MAXBACKTRACE=65 STP_MAXKEYS=0 STP_DIAGLEN=63; do
	if limits_ok "-D$bad"; then
		echo "FAIL stp_limits.h accepts -D$bad"
		total_f=$((total_f + 1))
		status=1
	else
		total_p=$((total_p + 1))
	fi
done
for good in "" "-DSTP_MAXACTION=1 -DSTP_MAXSTRINGLEN=8 -DSTP_MAXMAPENTRIES=1 -DSTP_MAXNESTING=1
	-DSTP_MAXTRYLOCK=1 -DSTP_TRYLOCKDELAY=0 -DSTP_MAXSKIPPED=0 -DSTP_MAXERRORS=0
	-DSTP_BUFSIZE=4096 -DSTP_PRINTBUF=64 -DSTP_MAXBACKTRACE=1" \
	"-DSTP_MAXACTION=1000000 -DSTP_MAXSTRINGLEN=4096 -DSTP_MAXMAPENTRIES=1048576
	-DSTP_MAXNESTING=32 -DSTP_MAXTRYLOCK=10000 -DSTP_TRYLOCKDELAY=100
	-DSTP_MAXSKIPPED=1000000000 -DSTP_MAXERRORS=1000000000 -DSTP_BUFSIZE=67108864
	-DSTP_PRINTBUF=16777216 -DSTP_MAXBACKTRACE=64"; do
	if limits_ok "$good"; then
		total_p=$((total_p + 1))
	else
		echo "FAIL stp_limits.h refuses the bounds: $good"
		total_f=$((total_f + 1))
		status=1
	fi
done
echo "$total_p passed, $total_f failed"
exit $status
