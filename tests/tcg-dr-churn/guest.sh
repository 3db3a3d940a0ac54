# In the guest: churn pid_max's watchpoint while a shell loop writes lines to stdout (the
# guest's serial port, as a script's output is carried under --vm).
a=$(grep " pid_max$" /proc/kallsyms | cut -d' ' -f1)
if [ "$2" = serial ]; then ( while :; do echo "w begin"; echo "w end: disabled"; done ) & fi
insmod /root/churn.ko addr=0x$a n=$1
i=0; while [ $i -lt 60 ]; do sleep 1; i=$((i+1)); dmesg | grep -q "churn: done" && break; done
[ "$2" = serial ] && kill %1
dmesg | grep "churn: done" >&2
rmmod churn
