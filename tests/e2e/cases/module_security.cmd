d=/proc/stp_hwbp/stphwbp_module_security
p=/sys/module/stphwbp_module_security/parameters/stp_sym_addr_0
stat -c '%n %a %u:%g' $d/out $d/ctl $p
echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> /etc/passwd
echo 'nogroup:x:65534:' >> /etc/group
su -s /bin/sh nobody -c "id -u; cat $d/out; cat $d/ctl; echo exit > $d/ctl; cat $p" 2>&1
echo "w 0 8 1" > /proc/stphwbp_testmod
cut -d' ' -f1 $d/ctl
