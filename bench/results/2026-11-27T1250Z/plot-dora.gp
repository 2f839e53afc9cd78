set terminal pngcairo size 1000,620 noenhanced
set grid
set key top left
set logscale xy
set xlabel 'offered exchanges/s'
set output 'rate-dora.png'
set title 'xdhcp-bench dora: completed vs offered rate'
set ylabel 'completed/s'
plot [100:] x title 'offered' with lines lc rgb 'gray', 'dora-xdhcpd-xdhcp-bench.dat' using 1:2 with linespoints title 'xdhcpd (xdhcp-bench)', 'dora-kea-xdhcp-bench.dat' using 1:2 with linespoints title 'kea (xdhcp-bench)', 'dora-xdhcpd-perfdhcp.dat' using 1:2 with linespoints title 'xdhcpd (perfdhcp)', 'dora-kea-perfdhcp.dat' using 1:2 with linespoints title 'kea (perfdhcp)', 'dora-echo-xdp-xdhcp-bench.dat' using 1:2 with linespoints title 'echo-xdp (xdhcp-bench)', 'dora-echo-xdp-perfdhcp.dat' using 1:2 with linespoints title 'echo-xdp (perfdhcp)'
set output 'latency-dora.png'
set title 'xdhcp-bench dora: latency (p50 solid, p99 dashed)'
set ylabel 'ms'
plot [100:] 'dora-xdhcpd-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd (xdhcp-bench) p50', 'dora-xdhcpd-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd (xdhcp-bench) p99', 'dora-kea-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea (xdhcp-bench) p50', 'dora-kea-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea (xdhcp-bench) p99', 'dora-xdhcpd-perfdhcp.dat' using 1:($3>0?$3:1/0) with linespoints title 'xdhcpd (perfdhcp) p50', 'dora-xdhcpd-perfdhcp.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'xdhcpd (perfdhcp) p99', 'dora-kea-perfdhcp.dat' using 1:($3>0?$3:1/0) with linespoints title 'kea (perfdhcp) p50', 'dora-kea-perfdhcp.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'kea (perfdhcp) p99', 'dora-echo-xdp-xdhcp-bench.dat' using 1:($3>0?$3:1/0) with linespoints title 'echo-xdp (xdhcp-bench) p50', 'dora-echo-xdp-xdhcp-bench.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'echo-xdp (xdhcp-bench) p99', 'dora-echo-xdp-perfdhcp.dat' using 1:($3>0?$3:1/0) with linespoints title 'echo-xdp (perfdhcp) p50', 'dora-echo-xdp-perfdhcp.dat' using 1:($5>0?$5:1/0) with linespoints dashtype 2 title 'echo-xdp (perfdhcp) p99'
