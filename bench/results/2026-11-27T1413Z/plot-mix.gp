set terminal pngcairo size 1000,620 noenhanced
set grid
set key top left
set logscale xy
set xlabel 'offered exchanges/s'
set output 'rate-mix.png'
set title 'xdhcp-bench mix: completed vs offered rate'
set ylabel 'completed/s'
plot [100:] x title 'offered' with lines lc rgb 'gray', 'mix-xdhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd (xdhcp-bench)', 'mix-xdhcpd-failover-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd-failover (xdhcp-bench)', 'mix-kea-xdhcp-bench.dat' using 1:2 with linespoints title 'kea (xdhcp-bench)', 'mix-kea-mt-xdhcp-bench.dat' using 1:2 with linespoints title 'kea-mt (xdhcp-bench)', 'mix-dhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'dhcpd (xdhcp-bench)', 'mix-dnsmasq-xdhcp-bench.dat' using 1:2 with linespoints title 'dnsmasq (xdhcp-bench)'
set output 'latency-mix.png'
set title 'xdhcp-bench mix: latency (p50 solid, p99 dashed)'
set ylabel 'ms'
plot [100:] 'mix-xdhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd (xdhcp-bench) p50', 'mix-xdhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd (xdhcp-bench) p99', 'mix-xdhcpd-failover-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd-failover (xdhcp-bench) p50', 'mix-xdhcpd-failover-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd-failover (xdhcp-bench) p99', 'mix-kea-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea (xdhcp-bench) p50', 'mix-kea-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea (xdhcp-bench) p99', 'mix-kea-mt-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea-mt (xdhcp-bench) p50', 'mix-kea-mt-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea-mt (xdhcp-bench) p99', 'mix-dhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'dhcpd (xdhcp-bench) p50', 'mix-dhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'dhcpd (xdhcp-bench) p99', 'mix-dnsmasq-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'dnsmasq (xdhcp-bench) p50', 'mix-dnsmasq-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'dnsmasq (xdhcp-bench) p99'
