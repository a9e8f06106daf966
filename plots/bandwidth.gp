# bandwidth.gp: beyond the paper: DRAM bandwidth per stack, Qwen3-30B-A3B.
W = 1100; H = 520
load 'plots/style.gp'
set datafile missing NaN   # the other series' rows: skipped without breaking the lines
data = 'plots/bandwidth.tsv'
array variants[4] = ['Baseline', 'Mozart-A', 'Mozart-B', 'Mozart-C']
array colours[4] = [c_base, c_a, c_b, c_c]
set multiplot layout 1,2 margins 0.08, 0.98, 0.13, 0.83 spacing 0.1 \
    title "Qwen3-30B-A3B: DRAM bandwidth per stack (sequence 256; the paper's HBM2 is 256 GB/s)" font ',14'
set logscale x 2
set xrange [45:1450]
set xtics (64, 128, 256, 512, 1024)
set xlabel 'DRAM bandwidth per stack (GB/s)'
set ylabel 'step latency (s)'
set yrange [0:*]
set key top right
plot for [v = 1:4] data using 1:(strcol(2) eq variants[v] ? $3 : NaN) skip 1 \
    with linespoints lw 2 pt 7 ps 1.2 lc rgb colours[v] title variants[v]
set ylabel 'speedup over Baseline'
set yrange [1:*]
set key bottom right
plot for [v = 2:4] data using 1:(strcol(2) eq variants[v] ? $6 : NaN) skip 1 \
    with linespoints lw 2 pt 7 ps 1.2 lc rgb colours[v] title variants[v]
unset multiplot
