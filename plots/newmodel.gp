# newmodel.gp: beyond the paper: DeepSeek-V3 (256 routed experts, top-8) on the Qwen3 wafer design.
W = 800; H = 520
load 'plots/style.gp'
data = 'plots/newmodel.tsv'
array colours[4] = [0x7f7f7f, 0x1f77b4, 0xff7f0e, 0x2ca02c]   # c_base, c_a, c_b, c_c as numbers
set title "DeepSeek-V3, a model the paper did not run (16 expert chiplets, sequence 256, HBM2)\nabove the bars: step latency; at the bar feet: C_T" font ',12'
set ylabel 'step latency / Baseline latency'
set yrange [0:1.15]
set ytics 0.2
set boxwidth 0.6
set xrange [-0.6:3.6]
set xtics nomirror scale 0
plot data using 0:5:(colours[int($0) + 1]):xtic(2) skip 1 with boxes lc rgb variable notitle, \
     data using 0:($5 + 0.04):(sprintf('%.1f s', $3)) skip 1 with labels font ',11' notitle, \
     data using 0:(0.04):(sprintf('%.2f', $4)) skip 1 with labels font ',10' tc rgb 'white' notitle
