#!/usr/bin/env bash
# QEMU for the hit-cost benchmark (bench/hitcost.sh sets STPHWBP_QEMU to this file, so that
# `stp-hwbp --vm` boots its guest here): the same command line with one vCPU, HITCOST_MEM MiB
# of memory (bpftrace needs 2 GiB) and instruction counting (`-icount shift=0,sleep=off`: one
# virtual nanosecond is one guest instruction; icount hangs with 2 vCPUs).
set -euo pipefail
args=()
while [ $# -gt 0 ]; do
	case $1 in
	-smp) args+=(-smp 1); shift 2 ;;
	-m) args+=(-m "${HITCOST_MEM:-2048}"); shift 2 ;;
	*) args+=("$1"); shift ;;
	esac
done
real=${HITCOST_REAL_QEMU:-qemu-system-x86_64}
if [ "$(realpath "$(command -v "$real")")" = "$(realpath "$0")" ]; then
	echo "hitcost-qemu.sh: HITCOST_REAL_QEMU names this wrapper; set it to QEMU itself" >&2
	exit 2
fi
exec "$real" "${args[@]}" -icount shift=0,sleep=off
