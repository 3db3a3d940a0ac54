echo "t 0" > /proc/stphwbp_testmod
