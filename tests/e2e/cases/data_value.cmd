echo "w 8 4 0x1234" > /proc/stphwbp_testmod; echo "w 8 4 77" > /proc/stphwbp_testmod
