set terminal pngcairo size 1000,620 noenhanced
set grid
set key top left
set logscale xy
set xlabel 'offered exchanges/s'
set output 'rate-renew.png'
set title 'xdhcp-bench renew: completed vs offered rate'
set ylabel 'completed/s'
plot [100:] x title 'offered' with lines lc rgb 'gray', 'renew-xdhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd (xdhcp-bench)', 'renew-xdhcpd-failover-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd-failover (xdhcp-bench)', 'renew-kea-ha-xdhcp-bench.dat' using 1:2 with linespoints title 'kea-ha (xdhcp-bench)', 'renew-kea-xdhcp-bench.dat' using 1:2 with linespoints title 'kea (xdhcp-bench)', 'renew-kea-mt-xdhcp-bench.dat' using 1:2 with linespoints title 'kea-mt (xdhcp-bench)', 'renew-dhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'dhcpd (xdhcp-bench)', 'renew-dnsmasq-xdhcp-bench.dat' using 1:2 with linespoints title 'dnsmasq (xdhcp-bench)'
set output 'latency-renew.png'
set title 'xdhcp-bench renew: latency (p50 solid, p99 dashed)'
set ylabel 'ms'
plot [100:] 'renew-xdhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd (xdhcp-bench) p50', 'renew-xdhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd (xdhcp-bench) p99', 'renew-xdhcpd-failover-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd-failover (xdhcp-bench) p50', 'renew-xdhcpd-failover-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd-failover (xdhcp-bench) p99', 'renew-kea-ha-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea-ha (xdhcp-bench) p50', 'renew-kea-ha-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea-ha (xdhcp-bench) p99', 'renew-kea-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea (xdhcp-bench) p50', 'renew-kea-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea (xdhcp-bench) p99', 'renew-kea-mt-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea-mt (xdhcp-bench) p50', 'renew-kea-mt-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea-mt (xdhcp-bench) p99', 'renew-dhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'dhcpd (xdhcp-bench) p50', 'renew-dhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'dhcpd (xdhcp-bench) p99', 'renew-dnsmasq-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'dnsmasq (xdhcp-bench) p50', 'renew-dnsmasq-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'dnsmasq (xdhcp-bench) p99'
