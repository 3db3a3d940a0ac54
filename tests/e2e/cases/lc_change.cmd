for v in 7 7 9 9 3; do echo "w 8 8 $v" > /proc/stphwbp_testmod; done
