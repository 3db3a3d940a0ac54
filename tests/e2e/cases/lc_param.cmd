t() { echo "w $1 8 $2" > /proc/stphwbp_testmod; }
t 8 1; t 16 2; t 0 3; sleep 1; t 16 4; t 8 5
