echo 40001 > /proc/sys/kernel/pid_max
