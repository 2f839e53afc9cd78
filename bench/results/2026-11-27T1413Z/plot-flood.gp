set terminal pngcairo size 1000,620 noenhanced
set grid
set key top left
set logscale xy
set xlabel 'offered flood DISCOVERs/s'
set output 'rate-flood.png'
set title 'xdhcp-bench flood: completed vs offered rate'
set ylabel 'completed/s'
plot [100:] x title 'offered' with lines lc rgb 'gray', 'flood-xdhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd (xdhcp-bench)', 'flood-xdhcpd-failover-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd-failover (xdhcp-bench)', 'flood-kea-xdhcp-bench.dat' using 1:2 with linespoints title 'kea (xdhcp-bench)', 'flood-kea-mt-xdhcp-bench.dat' using 1:2 with linespoints title 'kea-mt (xdhcp-bench)', 'flood-dhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'dhcpd (xdhcp-bench)', 'flood-dnsmasq-xdhcp-bench.dat' using 1:2 with linespoints title 'dnsmasq (xdhcp-bench)'
set output 'latency-flood.png'
set title 'xdhcp-bench flood: latency (p50 solid, p99 dashed)'
set ylabel 'ms'
plot [100:] 'flood-xdhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd (xdhcp-bench) p50', 'flood-xdhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd (xdhcp-bench) p99', 'flood-xdhcpd-failover-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd-failover (xdhcp-bench) p50', 'flood-xdhcpd-failover-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd-failover (xdhcp-bench) p99', 'flood-kea-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea (xdhcp-bench) p50', 'flood-kea-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea (xdhcp-bench) p99', 'flood-kea-mt-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea-mt (xdhcp-bench) p50', 'flood-kea-mt-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea-mt (xdhcp-bench) p99', 'flood-dhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'dhcpd (xdhcp-bench) p50', 'flood-dhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'dhcpd (xdhcp-bench) p99', 'flood-dnsmasq-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'dnsmasq (xdhcp-bench) p50', 'flood-dnsmasq-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'dnsmasq (xdhcp-bench) p99'
