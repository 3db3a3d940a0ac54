on1() { taskset -c 1 sh -c "echo '$1' > /proc/stphwbp_testmod"; }
on1 "w 0 8 1"
echo 0 > /sys/devices/system/cpu/cpu1/online
echo "w 0 8 2" > /proc/stphwbp_testmod
echo "w 16 8 99" > /proc/stphwbp_testmod
sleep 1
echo "w 8 8 3" > /proc/stphwbp_testmod
echo 1 > /sys/devices/system/cpu/cpu1/online
on1 "w 0 8 4"
on1 "w 8 8 5"
