echo "w 8 8 4" > /proc/stphwbp_testmod
sleep 1
echo free > /proc/stphwbp_testmod
sleep 1
echo "w 8 8 5" > /proc/stphwbp_testmod
