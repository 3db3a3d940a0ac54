#!/usr/bin/env bash
# Builds target/debian/stp-hwbp_VERSION_ARCH.deb from a `make install` into a staging root.
# No cargo-deb: dpkg-deb is on every Debian machine, and the control file is small enough to
# write here. Depends is what pass 4 (kbuild, insmod) needs, plus the libc the binary links
# against (none for the static binary `make deb` builds); --vm's QEMU and busybox are
# recommendations, the kernel headers a suggestion (users pick the tree for their own kernel).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
bin=${BIN:-target/release/stp-hwbp}
[ -x "$bin" ] || { echo "deb.sh: build $bin first (make deb does)" >&2; exit 1; }

stage=target/debian/stage
rm -rf "$stage"
make --no-print-directory install DESTDIR="$stage" PREFIX=/usr ZSH_COMPLETIONS=/usr/share/zsh/vendor-completions >/dev/null

# Debian keeps man pages and the changelog compressed, without timestamps (reproducible).
gzip -9n "$stage/usr/share/man/man1/stp-hwbp.1"
git log -20 --format='  * %s' 2>/dev/null | { echo "stp-hwbp ($version) unstable; urgency=medium"; echo; cat; echo; echo " -- stp-hwbp developers <stp-hwbp@localhost>  $(date -R -d @0)"; } \
	| gzip -9n > "$stage/usr/share/doc/stp-hwbp/changelog.gz"

# A dynamically linked binary needs the libc it links against at its newest symbol version;
# the static one `make release` builds needs none.
libs=
if ldd "$bin" 2>/dev/null | grep -q "=>"; then
	glibc=$(objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
	libs="libc6 (>= $glibc), libgcc-s1, "
fi
size_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: stp-hwbp
Version: $version
Architecture: $arch
Maintainer: stp-hwbp developers <stp-hwbp@localhost>
Installed-Size: $size_kb
Depends: ${libs}gcc, make, kmod
Recommends: qemu-system-x86, busybox-static
Suggests: linux-headers-amd64
Section: devel
Priority: optional
Description: hardware watchpoints for the Linux kernel, SystemTap-style
 stp-hwbp translates a SystemTap-style probe script into a kernel module that
 sets data watchpoints through the kernel's hw_breakpoint API (plus kprobes,
 timers, begin/end probes), builds it with kbuild against an installed kernel
 tree, loads it and streams its output. Scripts see each watchpoint's
 availability and arm and disarm watchpoints while they run.
CONTROL

out="target/debian/stp-hwbp_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
