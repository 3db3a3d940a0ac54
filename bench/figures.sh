#!/usr/bin/env bash
# The README's figures, measured side by side in one run on this machine. Every row runs
# stp-hwbp and its reference alternately N times (default 5) and prints both medians and the
# ratio of each pair (median, min, max):
# - `-p4` of a script whose module is cached, against the same `-p4` with `--no-cache`;
# - `-p4 --no-cache` (passes 1-4, kbuild) against kbuild of a hand-written minimal watchpoint
#   module (bench/empty-module), on every installed kernel tree; and the same for a script not
#   in the module cache on a tree built for before, where kbuild's recorded commands are
#   replayed (src/kbuild/recipe.rs);
# - `-p3 -r KVER` against `stap -p3 -r KVER`, on one probe (each side the mean of 20 runs) and on a
#   generated 3,200-line script (bench/gen-script.sh), when `stap` is installed;
# - `--vm`: QEMU start to the guest ready (`-v`'s boot time), and the whole run of a small
#   script whose module is cached, on every installed kernel with an image in /boot;
# - linearity: `-p3` of a generated 100,000-line script, its time and peak memory;
# - hit cost: guest instructions per watchpoint hit against a hand-written handler and
#   bpftrace, under QEMU's instruction counting (bench/hitcost.sh, which says how).
# Translation and build rows compare CPU time (user + system, children included): the
# project's machines are shared, and CPU time is what another session's load disturbs least.
# Guest rows are wall time. The module cache used is a fresh one in a temporary directory.
# Run from the repository root after `make release` (the static binary): bash bench/figures.sh
# ROWS picks groups of rows (default all): ROWS="translation" bash bench/figures.sh runs the
# `-p3` rows and the linearity row only; the groups are cache, build, translation, vm, hitcost.
set -euo pipefail
BIN=$(realpath "${BIN:-target/$(rustc -vV | sed -n 's/^host: //p')/release/stp-hwbp}")
N=${N:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME=$tmp/cache
unset STP_HWBP_CACHE_MAX
ONE='global n probe kernel.data(0xffffffff82000000).length(4).write { n++ } probe end { printf("%d\n", n) }'
printf '%s\n' "$ONE" > "$tmp/one.stp"
bash bench/gen-script.sh 3200 > "$tmp/gen3200.stp"
bash bench/gen-script.sh 100000 > "$tmp/gen100k.stp"
cp -r bench/empty-module "$tmp/empty"

# cpu CMD...: the command's user + system CPU time in ms, children included (its output
# discarded). With REPS=R set, the mean of R runs timed together: the kernel charges CPU time
# to a process in whole ticks, too coarse for a run of a millisecond or two.
cpu() {
	local TIMEFORMAT='%3U %3S' r=${REPS:-1}
	{ time for ((i = 0; i < r; i++)); do "$@" >/dev/null 2>&1 || return 1; done; } 2>"$tmp/t" ||
		{ echo "failed: $*" >&2; return 1; }
	awk -v r="$r" '{printf "%.2f\n", ($1 + $2) * 1000 / r}' "$tmp/t"
}
# wall CMD...: the command's wall time in ms.
wall() {
	local TIMEFORMAT='%3R'
	{ time "$@" >/dev/null 2>&1; } 2>"$tmp/t" || { echo "failed: $*" >&2; return 1; }
	awk '{printf "%.1f\n", $1 * 1000}' "$tmp/t"
}
# stats: "median M (min A, max B)" of the numbers on stdin.
stats() {
	sort -g | awk '{a[NR] = $1} END {printf "%s (min %s, max %s)", a[int((NR + 1) / 2)], a[1], a[NR]}'
}
# side LABEL UNIT OURS_FN REF_FN [slower]: runs both N times alternately; prints both medians
# and the ratio of each pair: REF/OURS (how many times faster stp-hwbp is), or with `slower`
# OURS/REF (how many times longer stp-hwbp takes).
side() {
	local label=$1 ours=$3 ref=$4 dir=${5:-faster} a b
	: > "$tmp/a"; : > "$tmp/b"; : > "$tmp/r"
	for _ in $(seq "$N"); do
		a=$($ours); b=$($ref)
		echo "$a" >> "$tmp/a"; echo "$b" >> "$tmp/b"
		awk -v a="$a" -v b="$b" -v d="$dir" \
			'BEGIN {printf "%.2f\n", d == "slower" ? (b > 0 ? a / b : 0) : (a > 0 ? b / a : 0)}' >> "$tmp/r"
	done
	echo "$label: stp-hwbp $(stats < "$tmp/a") $2; reference $(stats < "$tmp/b") $2; ratio $(stats < "$tmp/r")"
}
# one LABEL UNIT FN: a row without a reference.
one() {
	local label=$1 fn=$3
	: > "$tmp/a"
	for _ in $(seq "$N"); do $fn >> "$tmp/a"; done
	echo "$label: $(stats < "$tmp/a") $2"
}

ROWS=${ROWS:-cache build translation vm hitcost}
want() { [[ " $ROWS " == *" $1 "* ]]; }

trees=()
for k in $(ls /lib/modules | sort -V); do
	[ -e "/lib/modules/$k/build/Makefile" ] && trees+=("$k")
done

if want cache; then
	echo "== module cache: -p4 of a cached module (reference: the same -p4 with --no-cache; CPU ms; ratio: times faster)"
	for k in "${trees[@]}"; do
		(cd "$tmp" && "$BIN" -p4 -r "$k" one.stp >/dev/null 2>&1)
		hit() { (cd "$tmp" && cpu "$BIN" -p4 -r "$k" one.stp); }
		cold() { (cd "$tmp" && cpu "$BIN" -p4 --no-cache -r "$k" one.stp); }
		side "$k" ms hit cold
		hitwall() { (cd "$tmp" && wall "$BIN" -p4 -r "$k" one.stp); }
		one "$k, cache hit, wall" ms hitwall
	done
fi

if want build; then
	echo "== -p4 --no-cache against kbuild of a hand-written module (CPU ms; ratio: stp-hwbp / hand-written)"
	for k in "${trees[@]}"; do
		ours() { (cd "$tmp" && cpu "$BIN" -p4 --no-cache -r "$k" one.stp); }
		ref() {
			make -C "/lib/modules/$k/build" M="$tmp/empty" clean >/dev/null 2>&1
			cpu make -C "/lib/modules/$k/build" M="$tmp/empty" modules
		}
		side "$k" ms ours ref slower
	done
	echo "== -p4 of a script not in the module cache, on a tree built for before (kbuild's recorded commands replayed), against the same hand-written module"
	for k in "${trees[@]}"; do
		rc=$tmp/recipes-$k
		(cd "$tmp" && XDG_CACHE_HOME=$rc "$BIN" -p4 -r "$k" one.stp >/dev/null)
		ours() {
			find "$rc/stp-hwbp" -mindepth 1 -maxdepth 1 ! -name recipes -exec rm -rf {} +
			(cd "$tmp" && XDG_CACHE_HOME=$rc cpu "$BIN" -p4 -r "$k" one.stp)
		}
		ref() {
			make -C "/lib/modules/$k/build" M="$tmp/empty" clean >/dev/null 2>&1
			cpu make -C "/lib/modules/$k/build" M="$tmp/empty" modules
		}
		side "$k" ms ours ref slower
	done
fi

if want translation && command -v stap >/dev/null; then
	k=${trees[0]}
	echo "== -p3 -r $k, stp-hwbp against stap (CPU ms; ratio: times faster)"
	# Both sides name the tree, so both read its .config to learn its architecture.
	ours() { REPS=20 cpu "$BIN" -p3 -r "$k" "$tmp/one.stp"; }
	ref() { REPS=20 cpu stap -p3 -r "$k" "$tmp/one.stp"; }
	side "one probe" ms ours ref
	# A run of ours is a few ms: the mean of 10, as a single run's CPU time comes in whole ticks.
	ours() { REPS=10 cpu "$BIN" -p3 -r "$k" "$tmp/gen3200.stp"; }
	ref() { REPS=2 cpu stap -p3 -r "$k" "$tmp/gen3200.stp"; }
	side "generated $(wc -l < "$tmp/gen3200.stp")-line script" ms ours ref
fi

if want translation; then
	echo "== linearity: -p3 of a generated $(wc -l < "$tmp/gen100k.stp")-line script ($(wc -c < "$tmp/gen100k.stp") bytes)"
	/usr/bin/time -f '%e s wall, %U s user, %S s system, peak RSS %M KB' "$BIN" -p3 "$tmp/gen100k.stp" 2>&1 >/dev/null |
		awk -v size="$(wc -c < "$tmp/gen100k.stp")" '{print; printf "peak RSS / script size: %.1f\n", $12 * 1024 / size}'
fi

if want vm; then
	echo "== --vm: QEMU start to the guest ready, and a cached small script start to finish (wall ms)"
	for k in "${trees[@]}"; do
		[ -e "/boot/vmlinuz-$k" ] || continue
		vm=(--vm -r "$k" -e 'probe begin { println("hello") exit() }')
		"$BIN" "${vm[@]}" >/dev/null 2>&1 # builds the module and prepares the boot (once)
		: > "$tmp/boot"; : > "$tmp/all"
		for _ in $(seq "$N"); do
			s=$(date +%s%N)
			"$BIN" -v "${vm[@]}" 2>&1 >/dev/null | sed -n 's/.*(boot \([0-9]*\) ms).*/\1/p' >> "$tmp/boot"
			e=$(date +%s%N)
			echo $(((e - s) / 1000000)) >> "$tmp/all"
		done
		echo "$k: boot $(stats < "$tmp/boot") ms; whole run $(stats < "$tmp/all") ms"
	done
fi

if want hitcost; then BIN=$BIN bash bench/hitcost.sh; fi
