w() { for i in $(seq 300); do echo "w 8 4 $i" > /proc/stphwbp_testmod; done; }; w & w & wait
