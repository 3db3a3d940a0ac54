#!/usr/bin/env bash
# Issue 11's hit-cost rows: what one hit of a data watchpoint costs in guest instructions, for
# a hand-written handler, two generated handlers and bpftrace, side by side in one guest per
# kernel. Called by bench/figures.sh (`make bench`); by hand, after `make release` (the static binary):
#   bash bench/hitcost.sh      (N=20000 writes a run, REPS=5 runs of every row)
# For every installed kernel with an image in /boot (KERNELS="..." to choose; the RT kernel
# only when named there), ONE guest boots under `-icount shift=0,sleep=off -smp 1` (one
# virtual nanosecond is one guest instruction; bench/hitcost-qemu.sh) with 2 GiB, and runs
# REPS times, in turn: (a) nothing armed, (b) a hand-written wide breakpoint whose handler does
# atomic_long_inc (bench/hitcost/hitcost_ref.c), (c) and (d) stp-hwbp's modules for the two
# scripts below, (e) bpftrace (when installed on the host: it is copied into the guest with
# its libraries) and (f) bpftrace's `{ @n = count() }` alone, for comparison. Each run
# triggers bench/hitcost/hitcost_bench.c's loop of N volatile stores to `long bench_var`,
# timed with ktime_get_ns() (bench/hitcost-guest.sh), and is checked: the watching side must
# count exactly N hits. Printed per row: instructions per write, and
# the ratio (x-a)/(b-a) of each run against the same repetition's a and b, as median (min,
# max).
set -euo pipefail
BIN=$(realpath "${BIN:-target/$(rustc -vV | sed -n 's/^host: //p')/release/stp-hwbp}")
N=${N:-20000}
REPS=${REPS:-5}
here=$(realpath "$(dirname "$0")")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME=${HITCOST_CACHE:-$tmp/cache}

cat > "$tmp/c.stp" <<'STP'
global n
probe kernel.data("bench_var").length(8).write { n++ }
probe end { printf("hits %d\n", n) }
STP
cat > "$tmp/d.stp" <<'STP'
global n, a, last
probe kernel.data("bench_var").length(8).write { n++; a[execname()]++; last = data_value() }
probe end { printf("hits %d last %d\n", n, last) }
STP
echo 'probe begin { exit() }' > "$tmp/nop.stp"

if [ -z "${KERNELS:-}" ]; then
	KERNELS=$(for k in $(ls /lib/modules | sort -V); do
		case $k in *-rt-*) continue ;; esac
		[ -e "/lib/modules/$k/build/Makefile" ] && [ -e "/boot/vmlinuz-$k" ] && echo "$k"
	done)
fi
real_qemu=${STPHWBP_QEMU:-qemu-system-x86_64}
rows=abcd
vmfiles=()
if command -v bpftrace >/dev/null; then
	rows=abcdef
	vmfiles+=(--vm-file "$(command -v bpftrace):/bin/bpftrace")
else
	echo "(e) bpftrace: not measured (bpftrace is not installed: apt-get install bpftrace)"
fi

for k in $KERNELS; do
	d=$tmp/$k
	mkdir -p "$d"
	cp "$here"/hitcost/{Kbuild,hitcost_bench.c,hitcost_ref.c} "$d/"
	make -C "/lib/modules/$k/build" M="$d" modules >"$d/build.log" 2>&1 ||
		{ cat "$d/build.log" >&2; exit 1; }
	(cd "$d" && "$BIN" -p4 -r "$k" -m hitcost_c "$tmp/c.stp" >/dev/null &&
		"$BIN" -p4 -r "$k" -m hitcost_d "$tmp/d.stp" >/dev/null)
	files=("${vmfiles[@]}")
	for m in hitcost_bench hitcost_ref hitcost_c hitcost_d; do
		files+=(--vm-file "$d/$m.ko:/root/$m.ko")
	done
	files+=(--vm-file "$here/hitcost-guest.sh:/root/hitcost-guest.sh")
	STPHWBP_QEMU=$here/hitcost-qemu.sh HITCOST_REAL_QEMU=$real_qemu \
		"$BIN" --vm -r "$k" "${files[@]}" -T 900 \
		--vm-setup "sh /root/hitcost-guest.sh $N $REPS $rows" "$tmp/nop.stp" >"$d/out" 2>"$d/err" ||
		{ cat "$d/out" "$d/err" >&2; echo "hitcost: the $k guest failed" >&2; exit 1; }
	if grep -q '^ERROR' "$d/out"; then
		grep '^ERROR' "$d/out" >&2
		echo "hitcost: the $k guest reported errors" >&2
		exit 1
	fi
	# A bpftrace that cannot run here leaves its rows out, with its reason; the rest stand.
	krows=$rows
	while read -r _ r why; do
		echo "($r) bpftrace on $k: not measured: $why"
		krows=${krows//$r/}
	done < <(grep '^NOTMEASURED' "$d/out" | sort -u -k2,2)
	echo "== hit cost on $k: guest instructions per write of a watched long (N=$N writes a run, $REPS runs of each row; icount, 1 vCPU); ratio (x-a)/(b-a); median (min, max)"
	# ROW x writes N ns T hits H ...: checks hits == N, then per row the instructions per
	# write and, per repetition, the ratio against that repetition's a and b.
	awk -v n="$N" -v rows="$krows" '
	function stats(v, c,   i, j, t, s) {
		for (i = 1; i <= c; i++) s[i] = v[i]
		for (i = 2; i <= c; i++) for (j = i; j > 1 && s[j - 1] > s[j]; j--) { t = s[j]; s[j] = s[j - 1]; s[j - 1] = t }
		s_med = s[int((c + 1) / 2)]
		return sprintf(fmt, s_med) " (" sprintf(fmt, s[1]) ", " sprintf(fmt, s[c]) ")"
	}
	$1 == "ROW" {
		if ($4 != n || $8 != n) { print "hitcost: row " $2 " counted " $8 " hits for " $4 " writes, expected " n > "/dev/stderr"; bad = 1 }
		r = $2; c[r]++; ipw[r, c[r]] = $6 / $4
	}
	END {
		if (bad) exit 1
		name["a"] = "(a) nothing armed"
		name["b"] = "(b) hand-written handler, atomic_long_inc"
		name["c"] = "(c) stp-hwbp { n++ }"
		name["d"] = "(d) stp-hwbp { n++; a[execname()]++; last = data_value() }"
		name["e"] = "(e) bpftrace { @n = count(); @a[comm] = count(); @last = *ADDR }"
		name["f"] = "(f) bpftrace { @n = count() }"
		for (i = 1; i <= length(rows); i++) {
			r = substr(rows, i, 1)
			if (c[r] == 0) { print "hitcost: no run of row " r > "/dev/stderr"; exit 1 }
			for (j = 1; j <= c[r]; j++) v[j] = ipw[r, j]
			fmt = "%.1f"; line = name[r] ": " stats(v, c[r]) " instructions"
			if (r != "a" && r != "b") {
				for (j = 1; j <= c[r]; j++) v[j] = (ipw[r, j] - ipw["a", j]) / (ipw["b", j] - ipw["a", j])
				fmt = "%.3f"; line = line "; ratio " stats(v, c[r])
			}
			print line
			med[r] = s_med
		}
		# The goals of issue 11.
		if ("c" in med) printf "goal (c) at most 1.1: %s\n", med["c"] <= 1.1 ? "met" : "missed"
		if (("e" in med) && ("d" in med)) printf "goal (d) at most (e), %.3f: %s\n", med["e"], med["d"] <= med["e"] ? "met" : "missed"
	}' "$d/out"
done
