kill -INT $PPID; sleep 10
