#!/bin/sh
# The guest side of the hit-cost benchmark (bench/hitcost.sh copies it into the guest with the
# modules and runs it before its trivial script): `sh hitcost-guest.sh N REPS ROWS`, ROWS a
# word of the row letters to run (e.g. `abcde`).
# Each repetition runs every row once, in turn, on a freshly triggered loop of N writes:
#   a  nothing armed
#   b  hitcost_ref.ko: a hand-written wide breakpoint, handler atomic_long_inc
#   c  stp-hwbp's module for `{ n++ }`            (/root/hitcost_c.ko)
#   d  stp-hwbp's module for `{ n++; a[execname()]++; last = data_value() }` (/root/hitcost_d.ko)
#   e  bpftrace `@n = count(); @a[comm] = count(); @last = *ADDR` (when /bin/bpftrace exists)
#   f  bpftrace `@n = count()` alone
# and prints one line per run: `ROW x writes N ns T hits H`; H is what the watching side counted
# (N for a), so the host checks hits == N. Problems are printed as `ERROR ...` lines; a
# bpftrace that cannot watch bench_var here as `NOTMEASURED ROW reason`.
N=$1
REPS=$2
ROWS=$3
insmod /root/hitcost_bench.ko || { echo "ERROR insmod hitcost_bench failed"; exit 1; }
addr=$(awk '$3 == "bench_var" { print $1; exit }' /proc/kallsyms)
[ -n "$addr" ] || { echo "ERROR bench_var is not in /proc/kallsyms"; exit 1; }

# trigger: runs the loop; prints "writes N ns T".
trigger() {
	echo "$N" > /proc/hitcost_bench || echo "ERROR the trigger failed"
}
loop() {
	cut -d' ' -f1-4 /proc/hitcost_bench
}

row_a() {
	trigger
	echo "ROW a $(loop) hits $N"
}

row_b() {
	insmod /root/hitcost_ref.ko || { echo "ERROR insmod hitcost_ref failed"; return; }
	trigger
	hits=$(cut -d' ' -f2 /proc/hitcost_ref)
	rmmod hitcost_ref
	echo "ROW b $(loop) hits $hits"
}

# row_stp ROW MODULE: the generated module runs the trigger as its -c command; its end probe
# prints "hits H ...".
row_stp() {
	out=$(/bin/stp-hwbp --run-module "/root/$2.ko" -T 600 -c "echo $N > /proc/hitcost_bench" 2>/tmp/err)
	st=$?
	[ "$st" = 0 ] || { echo "ERROR $2 exited $st: $(cat /tmp/err) $out"; return; }
	hits=$(echo "$out" | sed -n 's/^hits \([0-9]*\).*/\1/p')
	echo "ROW $1 $(loop) hits ${hits:-none} ($out)"
}

# row_bpftrace ROW BODY: bpftrace watching bench_var with that probe body, in the background;
# the trigger once it has attached; SIGINT makes it print its maps.
row_bpftrace() {
	prog="watchpoint:0x$addr:8:w { $2 }"
	: > /tmp/bt.out
	# A bound in guest seconds (instructions / 1e9) on a bpftrace that never attaches or ends.
	timeout 300 /bin/bpftrace -e "$prog" > /tmp/bt.out 2>&1 &
	pid=$!
	i=0
	while ! grep -q '^Attaching' /tmp/bt.out && kill -0 $pid 2>/dev/null && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if ! kill -0 $pid 2>/dev/null; then
		echo "NOTMEASURED $1 bpftrace did not attach: $(tr '\n' ' ' < /tmp/bt.out)"
		return
	fi
	sleep 0.5
	echo "bpftrace attached at $(cut -d' ' -f1 /proc/uptime) s (guest time)" >&2
	trigger
	kill -INT $pid
	wait $pid
	hits=$(sed -n 's/^@n: \([0-9]*\)/\1/p' /tmp/bt.out)
	echo "ROW $1 $(loop) hits ${hits:-none} ($(grep '^@last' /tmp/bt.out))"
}

r=0
while [ $r -lt "$REPS" ]; do
	r=$((r + 1))
	case $ROWS in *a*) row_a ;; esac
	case $ROWS in *b*) row_b ;; esac
	case $ROWS in *c*) row_stp c hitcost_c ;; esac
	case $ROWS in *d*) row_stp d hitcost_d ;; esac
	case $ROWS in *e*) row_bpftrace e "@n = count(); @a[comm] = count(); @last = *(int64 *)0x$addr;" ;; esac
	case $ROWS in *f*) row_bpftrace f "@n = count();" ;; esac
done
