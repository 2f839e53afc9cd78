set terminal pngcairo size 1000,620 noenhanced
set grid
set key top left
set logscale xy
set xlabel 'offered exchanges/s'
set output 'rate-renew-cached.png'
set title 'xdhcp-bench renew-cached: completed vs offered rate'
set ylabel 'completed/s'
plot [100:] x title 'offered' with lines lc rgb 'gray', 'renew-cached-xdhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd (xdhcp-bench)', 'renew-cached-kea-xdhcp-bench.dat' using 1:2 with linespoints title 'kea (xdhcp-bench)', 'renew-cached-dhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'dhcpd (xdhcp-bench)'
set output 'latency-renew-cached.png'
set title 'xdhcp-bench renew-cached: latency (p50 solid, p99 dashed)'
set ylabel 'ms'
plot [100:] 'renew-cached-xdhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd (xdhcp-bench) p50', 'renew-cached-xdhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd (xdhcp-bench) p99', 'renew-cached-kea-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea (xdhcp-bench) p50', 'renew-cached-kea-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea (xdhcp-bench) p99', 'renew-cached-dhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'dhcpd (xdhcp-bench) p50', 'renew-cached-dhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'dhcpd (xdhcp-bench) p99'
