#!/bin/sh
# Builds and runs the user-space unit tests of runtime-c's pure logic (maps, rings,
# locks), once with small rings (every test wraps) and once with the default limits.
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
echo "$total_p passed, $total_f failed"
exit $status
