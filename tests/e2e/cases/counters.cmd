for c in 0 1; do taskset -c $c sh -c 'for i in $(seq 300); do echo "w 0 8 $i" > /proc/stphwbp_testmod; done' & done; wait
