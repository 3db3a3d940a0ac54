for v in 1 2 3; do echo "w 0 8 $v" > /proc/stphwbp_testmod; done
