t() { echo "w $1 8 $2" > /proc/stphwbp_testmod; }
t 0 1; t 0 3; t 0 4; sleep 1
t 8 5; sleep 1; t 0 7
t 8 6; sleep 1; t 0 8
t 8 10; sleep 1; t 0 11
