#!/usr/bin/env bash
# Builds the seed corpus for the fuzz targets from tests/golden/*.stp and examples/*.stp, at run
# time (nothing is copied into fuzz/ by hand, so the seeds follow the golden files).
# Each seed is encoded as fuzz/src/pipeline.rs `decode` reads it: the script, then each line of
# NAME.args after a 0xFF byte, then 0xFF and `-g` when NAME.flags has -g.
# Usage: fuzz/seed-corpus.sh [TARGET...]   (default: parse elaborate translate)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parse elaborate translate)
for t in "${targets[@]}"; do
	out="$here/corpus/$t"
	mkdir -p "$out"
	for stp in "$root"/tests/golden/*.stp "$root"/examples/*.stp; do
		[ -e "$stp" ] || continue
		base=${stp%.stp}
		seed="$out/seed_$(basename "$(dirname "$stp")")_$(basename "$base")"
		{
			cat "$stp"
			if [ -f "$base.args" ]; then
				while IFS= read -r a || [ -n "$a" ]; do
					printf '\xff%s' "$a"
				done <"$base.args"
			fi
			if [ -f "$base.flags" ] && grep -qw -- -g "$base.flags"; then
				printf '\xff-g'
			fi
		} >"$seed"
	done
	echo "$t: $(ls "$out" | wc -l) files in $out"
done
