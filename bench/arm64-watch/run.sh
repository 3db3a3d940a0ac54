#!/bin/bash
# Builds arm64_watch_probe.ko against the arm64 tree `make setup` unpacked, boots that kernel in
# qemu-system-aarch64 with a busybox initramfs, and writes pid_max 20 times with 1, then 4,
# watchpoints armed. Prints the guest's uptime at init (boot time) and the module's counts.
# Expected: "hits=20 other=0" for both, and no hang. (Not part of `make test`.)
set -euo pipefail
REL=${REL:-6.12.117+deb12-arm64}
ROOT=${STP_HWBP_FOREIGN:-/var/cache/stp-hwbp}/arm64
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/Kbuild" "$here/arm64_watch_probe.c" "$work/"
make -s -C "$ROOT/lib/modules/$REL/build" M="$work" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- modules
mkdir -p "$work/root/bin" "$work/root/proc" "$work/root/sys" "$work/root/dev"
cp "$ROOT/bin/busybox" "$work/root/bin/"
cp "$work/arm64_watch_probe.ko" "$work/root/"
cat > "$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "init at uptime $(cut -d' ' -f1 /proc/uptime) s"
a=$(grep -w pid_max /proc/kallsyms | cut -d' ' -f1)
for n in 1 4; do
	insmod /arm64_watch_probe.ko addr=0x$a nwatch=$n
	i=0; while [ $i -lt 20 ]; do echo $((40000 + i)) > /proc/sys/kernel/pid_max; i=$((i + 1)); done
	rmmod arm64_watch_probe
done
dmesg | grep -E "arm64_watch_probe: hits|Unexpected|WARNING|BUG|stall"
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$work/initrd.gz")
timeout 180 qemu-system-aarch64 -M virt -accel tcg -cpu max -smp 2 -m 512 -nographic -no-reboot \
	-kernel "$ROOT/boot/vmlinuz-$REL" -initrd "$work/initrd.gz" \
	-append 'console=ttyAMA0 rdinit=/init panic=-1 loglevel=4' | grep -E "init at|arm64_watch_probe: hits|Unexpected|WARNING|BUG|stall"
