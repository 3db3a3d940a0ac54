#!/usr/bin/env bash
# Writes a valid script of about N lines (default 3200) to stdout, of the shapes real scripts
# have: globals, arrays, functions calling tapset functions, timer and begin/end probes
# with printf, string building, conditionals and foreach. Every group of 16 lines is one
# function and one probe; the bench runs it through -p3 (and 100,000 lines for linearity).
set -euo pipefail
N=${1:-3200}
awk -v n="$N" 'BEGIN {
	groups = int(n / 16); if (groups < 1) groups = 1
	print "global total, hits, names"
	for (i = 0; i < groups; i++) {
		printf "global g%d, a%d\n", i, i
		printf "function f%d:long(x:long, s:string) {\n", i
		printf "  if (x > %d) return x - strlen(s)\n", i
		printf "  a%d[s, x] = x * %d\n", i, i + 1
		printf "  return x + %d\n", i
		printf "}\n"
		kind = i % 3
		if (kind == 0) printf "probe timer.ms(%d) {\n", 10 + i % 90
		else if (kind == 1) printf "probe timer.s(%d) {\n", 1 + i % 9
		else printf "probe begin {\n"
		printf "  g%d += f%d(%d, execname())\n", i, i, i
		printf "  hits[cpu()]++\n"
		printf "  names[sprintf(\"n%%d\", g%d %% 7)] += g%d\n", i, i
		printf "  if (g%d > 1000) { printf(\"%%s %%d %%d\\n\", execname(), pid(), g%d) }\n", i, i
		printf "  foreach ([k, v] in a%d limit 3) total += a%d[k, v]\n", i, i
		printf "  total += substr(sprintf(\"%%d\", g%d), 0, 2) == \"1\" ? 1 : 0\n", i
		printf "}\n"
		printf "# group %d\n", i
		printf "\n"
	}
	print "probe end { printf(\"%d %d\\n\", total, names[\"n1\"]) }"
}'
