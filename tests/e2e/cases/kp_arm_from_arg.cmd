echo "t 16" > /proc/stphwbp_testmod; sleep 1; echo "w 16 8 7" > /proc/stphwbp_testmod
