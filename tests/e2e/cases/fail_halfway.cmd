echo "modules:" $(cut -d' ' -f1 /proc/modules | grep '^stphwbp_' | sort)
echo "/proc/stp_hwbp:" $(ls /proc/stp_hwbp)
echo "hotplug states:" $(grep -c 'stp_hwbp:watch' /sys/devices/system/cpu/hotplug/states)
echo "kprobes:" $(wc -l < /sys/kernel/debug/kprobes/list)
for o in 0 8 16 24; do echo "w $o 8 1" > /proc/stphwbp_testmod; done
