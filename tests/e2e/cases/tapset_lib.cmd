exec setsid env STPVAR=hello cat /proc/sys/kernel/pid_max > /dev/null
