echo 40001 > /proc/sys/kernel/pid_max; echo 40002 > /proc/sys/kernel/pid_max
