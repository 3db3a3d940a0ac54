#!/usr/bin/env bash
# The figures in README.md, measured side by side in one run on this machine:
# - passes 1-3 on the largest example, against SystemTap's own passes 1-2 when `stap` is
#   installed (apt-get install systemtap; it is not needed for anything else);
# - pass 4 (kbuild of a generated module) against kbuild of a hand-written minimal watchpoint
#   module (bench/empty-module), on every installed kernel tree;
# - one boot-and-run of a small script with --vm, on every installed kernel.
# Run from the repository root after `cargo build --release`: bash bench/figures.sh
set -euo pipefail
BIN=${BIN:-target/release/stp-hwbp}
N=${N:-5}
EX=examples/pid_max_writes.stp
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rep() { for _ in $(seq "$N"); do ms "$@"; done | median; }

echo "== passes 1-3 on $EX (median of $N, ms)"
for p in 1 2 3; do echo "stp-hwbp -p$p: $(rep "$BIN" -p$p "$EX")"; done
if command -v stap >/dev/null; then
	k=$(ls /lib/modules | sort -V | tail -1)
	echo "stap -p1 (same kind of script): $(rep stap -p1 -e 'global n probe kernel.data(0xffffffff82000000).length(4).write { n++ } probe end { printf("%d\n", n) }')"
	echo "stap -p2 -r $k: $(rep stap -p2 -r "$k" -e 'global n probe kernel.data(0xffffffff82000000).length(4).write { n++ } probe end { printf("%d\n", n) }')"
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "== pass 4 against a hand-written module (median of $N, ms)"
for k in $(ls /lib/modules | sort -V); do
	[ -e "/lib/modules/$k/build/Makefile" ] || continue
	ours=$(cd "$tmp" && rep "$OLDPWD/$BIN" -p4 -r "$k" "$OLDPWD/$EX")
	cp -r bench/empty-module "$tmp/empty"
	ref=$(rep sh -c "make -C /lib/modules/$k/build M=$tmp/empty clean >/dev/null; make -C /lib/modules/$k/build M=$tmp/empty modules")
	echo "$k: stp-hwbp -p4 $ours, hand-written module $ref, ratio $(awk "BEGIN {printf \"%.2f\", $ours / $ref}")"
	rm -rf "$tmp/empty"
done

echo "== --vm boot and run of a small script (ms)"
for k in $(ls /lib/modules | sort -V); do
	[ -e "/boot/vmlinuz-$k" ] || continue
	echo "$k: $(ms "$BIN" --vm -r "$k" -e 'probe begin { println("hello") exit() }')"
done
