#!/bin/bash
# Prepares cross builds and guests for arm64 without installing anything arm64 into the host:
# the host gets the cross compiler and qemu-system-aarch64 (amd64 packages); the arm64 kernel
# image, its headers and busybox-static are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` under STP_HWBP_FOREIGN (default /var/cache/stp-hwbp), one root per architecture:
#
#   /var/cache/stp-hwbp/arm64/usr/src/linux-headers-RELEASE   the build tree (`-r RELEASE -a arm64`)
#   /var/cache/stp-hwbp/arm64/boot/vmlinuz-RELEASE            the kernel `--vm` boots
#   /var/cache/stp-hwbp/arm64/bin/busybox                     the guest's userland
#
# The headers package links `scripts` and `tools` to arm64 binaries (fixdep, modpost); they are
# pointed at the host's linux-kbuild package of the same version instead.
# Idempotent (a complete root is left alone, so a set-up machine never touches the network) and
# non-interactive (CI=true, no stdin). Run as root, or with sudo available.
set -euo pipefail

RELEASES=${STP_HWBP_ARM64_RELEASES:-6.12.117+deb12-arm64}
ROOT=${STP_HWBP_FOREIGN:-/var/cache/stp-hwbp}/arm64
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
export DEBIAN_FRONTEND=noninteractive

# The host's kbuild tools for a release: linux-kbuild-6.12.117+deb12 for 6.12.117+deb12-arm64,
# and for Debian's ABI-numbered releases (6.1.0-56-arm64) the series' linux-kbuild-6.1.
kbuild_ver() {
	local ver=${1%-arm64}
	if [[ $ver =~ ^([0-9]+\.[0-9]+)\.0-[0-9]+$ ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		echo "$ver"
	fi
}

host_pkgs=(qemu-system-arm gcc-aarch64-linux-gnu)
for rel in $RELEASES; do
	host_pkgs+=("linux-kbuild-$(kbuild_ver "$rel")" "linux-headers-${rel%-arm64}-common")
done

complete() {
	for rel in $RELEASES; do
		[ -f "$ROOT/boot/vmlinuz-$rel" ] || return 1
		[ -x "$ROOT/usr/src/linux-headers-$rel/scripts/basic/fixdep" ] || return 1
	done
	[ -x "$ROOT/bin/busybox" ] || return 1
	for p in "${host_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || return 1; done
}

if complete; then
	echo "arm64: all present under $ROOT"
	exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	$SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${host_pkgs[@]}"

dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
debs=(busybox-static:arm64)
for rel in $RELEASES; do
	debs+=("linux-image-$rel:arm64" "linux-headers-$rel:arm64")
done
# apt-get download writes into the current directory as the calling user; _apt needs to read it.
chmod 755 "$dl"
(cd "$dl" && apt-get download "${debs[@]}")
$SUDO mkdir -p "$ROOT"
for d in "$dl"/*.deb; do
	$SUDO dpkg-deb -x "$d" "$ROOT"
done

for rel in $RELEASES; do
	tree=$ROOT/usr/src/linux-headers-$rel
	for l in scripts tools; do
		$SUDO ln -sfn "/usr/lib/linux-kbuild-$(kbuild_ver "$rel")/$l" "$tree/$l"
	done
	# What `-r RELEASE` and the guest's module directory expect beside the image.
	$SUDO mkdir -p "$ROOT/lib/modules/$rel"
	$SUDO ln -sfn "$tree" "$ROOT/lib/modules/$rel/build"
done

complete || { echo "arm64: setup incomplete under $ROOT" >&2; exit 1; }
echo "arm64: ready under $ROOT"
