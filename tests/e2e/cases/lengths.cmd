for c in "w 8 1 1" "w 9 1 1" "w 17 1 1" "w 18 2 1" "w 23 1 1" "w 24 4 1" "w 31 1 1" "w 0 8 1" "w 12 4 1"; do echo "$c" > /proc/stphwbp_testmod; done
