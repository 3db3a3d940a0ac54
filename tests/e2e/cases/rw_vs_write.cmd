for c in "w 0 8 1" "r 0 8" "r 0 8" "w 8 8 1" "r 8 8" "r 8 8"; do echo "$c" > /proc/stphwbp_testmod; done
