echo "w 0 8 1" > /proc/stphwbp_testmod
