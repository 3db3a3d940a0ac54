for x in 3 17 25 250 1000 99; do echo "w 8 4 $x" > /proc/stphwbp_testmod; done
