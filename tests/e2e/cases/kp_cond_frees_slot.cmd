t() { echo "w $1 8 $2" > /proc/stphwbp_testmod; }
t 8 4; t 0 1; t 0 2; sleep 1; t 8 5; t 0 3
