#!/usr/bin/env bash
# Installing, tried as a user would (make test runs this last):
# - `make deb`: the package's metadata declares what pass 4 and --vm need, it holds the binary,
#   the man page, the three shells' completions and the examples; unpacked in a scratch root,
#   its binary builds an example at -p4 against every installed kernel tree, from /tmp;
# - `make install` with DESTDIR and PREFIX puts the same files under that prefix, and
#   `make uninstall` removes all of them;
# - `cargo install --path .` gives a working binary.
# A missing tool or kernel tree is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "package: FAIL: $*" >&2; exit 1; }

deb=$(make --no-print-directory deb | tail -1)
[ -f "$deb" ] || fail "make deb printed '$deb', not a package"
field() { dpkg-deb -f "$deb" "$1"; }
for dep in gcc make kmod; do
	field Depends | grep -qF "$dep" || fail "Depends lacks $dep: $(field Depends)"
done
for rec in qemu-system-x86 busybox-static; do
	field Recommends | grep -qF "$rec" || fail "Recommends lacks $rec"
done
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/stp-hwbp ./usr/share/man/man1/stp-hwbp.1.gz \
	./usr/share/bash-completion/completions/stp-hwbp ./usr/share/zsh/vendor-completions/_stp-hwbp \
	./usr/share/fish/vendor_completions.d/stp-hwbp.fish ./usr/share/doc/stp-hwbp/changelog.gz \
	./usr/share/doc/stp-hwbp/examples/pid_max_writes.stp ./usr/share/doc/stp-hwbp/README.md; do
	grep -qxF "$f" <<<"$contents" || fail "the package lacks $f"
done
root=$scratch/root
dpkg-deb -x "$deb" "$root"
# The packaged binary is the static one `make release` links: it needs no shared libc.
if ldd "$root/usr/bin/stp-hwbp" 2>/dev/null | grep -q "=>"; then fail "the packaged binary is not static"; fi
gzip -t "$root/usr/share/man/man1/stp-hwbp.1.gz"

# The installed binary is self-contained (runtime C and tapsets are inside it): run it away
# from the checkout.
trees=()
for b in /lib/modules/*/build; do [ -e "$b/Makefile" ] && trees+=("$(basename "$(dirname "$b")")"); done
[ "${#trees[@]}" -ge 1 ] || fail "no kernel tree under /lib/modules/*/build"
for kver in "${trees[@]}"; do
	work=$scratch/p4-$kver
	mkdir -p "$work"
	(cd "$work" && env -u CARGO_MANIFEST_DIR "$root/usr/bin/stp-hwbp" -p4 -r "$kver" \
		"$root/usr/share/doc/stp-hwbp/examples/pid_max_writes.stp" >/dev/null) \
		|| fail "the packaged binary's -p4 failed on $kver"
	ko=$work/stphwbp_pid_max_writes.ko
	[ -f "$ko" ] || fail "-p4 on $kver left no $ko"
	vermagic=$(modinfo -F vermagic "$ko")
	[ "${vermagic%% *}" = "$kver" ] || fail "$ko was built for '${vermagic%% *}', not $kver"
	# Every tree compiles the module without DWARF (Kbuild -g0; only modpost's small .mod.c
	# keeps the kernel's -g), and makes no BTF for it, even where the tree has its vmlinux.
	if readelf --debug-dump=info "$ko" | grep -q 'DW_AT_name.*stphwbp_pid_max_writes\.c$'; then
		fail "$ko carries DWARF for its code"
	fi
	if readelf -S "$ko" | grep -q '\.BTF'; then
		fail "$ko carries BTF"
	fi
	echo "package: the packaged binary built pid_max_writes.ko for $kver"
done

# make install / make uninstall with a staging root and a prefix.
dest=$scratch/dest
make --no-print-directory install DESTDIR="$dest" PREFIX=/opt/stp >/dev/null
for f in bin/stp-hwbp share/man/man1/stp-hwbp.1 share/bash-completion/completions/stp-hwbp \
	share/zsh/site-functions/_stp-hwbp share/fish/vendor_completions.d/stp-hwbp.fish \
	share/doc/stp-hwbp/examples/plan_b.stp; do
	[ -f "$dest/opt/stp/$f" ] || fail "make install put no $f under PREFIX"
done
"$dest/opt/stp/bin/stp-hwbp" --version >/dev/null
make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/opt/stp >/dev/null
left=$(find "$dest" -type f | head -5)
[ -z "$left" ] || fail "make uninstall left: $left"

# cargo install --path . (reusing the release build's artifacts).
cargo install --quiet --locked --path "$repo" --root "$scratch/cargo" --target-dir "$repo/target" 2>&1 \
	| grep -v '^warning: be sure to add' || true
"$scratch/cargo/bin/stp-hwbp" -p2 "$repo/examples/pid_max_writes.stp" >/dev/null \
	|| fail "cargo install's binary cannot run -p2"
echo "package: $(basename "$deb"), make install/uninstall and cargo install all work"
