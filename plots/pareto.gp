# pareto.gp: Qwen3's design points (chiplets and groups, the mesh, DRAM bandwidth) as step latency against wafer area and against power; each variant's Pareto front ringed.
W = 1200; H = 560
load 'plots/style.gp'
data = 'plots/pareto.tsv'
array variants[4] = ['Baseline', 'Mozart-A', 'Mozart-B', 'Mozart-C']
array vcol[4] = [c_base, c_a, c_b, c_c]
# labels: the chiplet geometries, the mesh and the ends of the bandwidth sweep, for Mozart-C
lab(s) = (s[1:1] eq 'c' || s eq 'mesh' || s eq 'bw64' || s eq 'bw1024') ? (s eq 'c16g4' ? 'paper: 16 in 4' : s[1:1] eq 'c' ? sprintf('%s in %s', s[2:strstrt(s, 'g') - 1], s[strstrt(s, 'g') + 1:]) : s eq 'mesh' ? 'mesh' : s eq 'bw64' ? '64 GB/s' : '1024 GB/s') : ''
set multiplot layout 1, 2 title "Qwen3-30B-A3B design points: expert chiplets in switch groups, the mesh, DRAM 64-1024 GB/s per stack\nringed: on its variant's Pareto front (no other design point both faster and cheaper)" font ',13'
set ylabel 'step latency (s)'
set yrange [2:5.5]
set key top right font ',10'
set grid xtics
set xlabel 'wafer area (mm^2, bottom-up from 28 nm densities)' noenhanced
set xrange [15000:88000]
plot for [v = 1:4] data using ($4):(strcol(2) eq variants[v] ? $3 : NaN) skip 1 with points pt 7 ps 0.9 lc rgb vcol[v] title variants[v], \
     for [v = 1:4] data using ($4):(strcol(2) eq variants[v] && $6 == 1 ? $3 : NaN) skip 1 with points pt 6 ps 2.2 lw 1.5 lc rgb vcol[v] notitle, \
     data using ($4):(strcol(2) eq 'Mozart-C' ? $3 : NaN):(lab(strcol(1))) skip 1 with labels left offset 1.2, 0 font ',8' tc rgb '#444444' notitle
set xlabel 'mean power over the step (W)'
set xrange [500:2700]
plot for [v = 1:4] data using ($5):(strcol(2) eq variants[v] ? $3 : NaN) skip 1 with points pt 7 ps 0.9 lc rgb vcol[v] title variants[v], \
     for [v = 1:4] data using ($5):(strcol(2) eq variants[v] && $7 == 1 ? $3 : NaN) skip 1 with points pt 6 ps 2.2 lw 1.5 lc rgb vcol[v] notitle, \
     data using ($5):(strcol(2) eq 'Mozart-C' ? $3 : NaN):(lab(strcol(1))) skip 1 with labels left offset 1.2, 0 font ',8' tc rgb '#444444' notitle
unset multiplot
