echo "w 8 8 4" > /proc/stphwbp_testmod
echo "w 0 8 1" > /proc/stphwbp_testmod
sleep 1
echo "w 8 8 5" > /proc/stphwbp_testmod
