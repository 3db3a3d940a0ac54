for o in 0 8 16 24; do echo "w $o 8 1" > /proc/stphwbp_testmod; done
