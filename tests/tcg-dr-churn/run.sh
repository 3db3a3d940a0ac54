#!/usr/bin/env bash
# Reproduces, without stp-hwbp's runtime, the guest crash that watchpoint churn meets under
# QEMU's multi-threaded TCG (README.md here). Usage, after `make setup` and `cargo build`:
#   bash tests/tcg-dr-churn/run.sh [KVER] [serial|quiet] [N]
# Prints the guest's verdict; a crash shows as "the guest kernel reported problems".
set -euo pipefail
here=$(realpath "$(dirname "$0")")
k=${1:-6.12.117+deb12-amd64}
mode=${2:-serial}
n=${3:-40000}
bin=${BIN:-$here/../../target/debug/stp-hwbp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/churn.c" "$here/Kbuild" "$tmp/"
make -C "/lib/modules/$k/build" M="$tmp" modules >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
echo 'probe begin { exit() }' > "$tmp/nop.stp"
"$bin" --vm -r "$k" --vm-file "$tmp/churn.ko:/root/churn.ko" --vm-file "$here/guest.sh:/root/guest.sh" \
	--vm-setup "sh /root/guest.sh $n $mode" -T 500 "$tmp/nop.stp" >/dev/null
