# topology.gp: beyond the paper: the NoP-Tree against a 2D mesh of the same chiplets.
W = 1200; H = 500
load 'plots/style.gp'
data = 'plots/topology.tsv'
array models[3] = ['qwen3-30b-a3b', 'olmoe-1b-7b-0924', 'deepseek-moe-16b-base']
array labels[3] = ['Qwen3-30B-A3B', 'OLMoE-1B-7B', 'DeepSeek-MoE-16B']
array variants[4] = ['Baseline', 'Mozart-A', 'Mozart-B', 'Mozart-C']
vi(v) = v eq variants[1] ? 0 : v eq variants[2] ? 1 : v eq variants[3] ? 2 : 3
set multiplot layout 1,3 margins 0.07, 0.99, 0.17, 0.8 spacing 0.06 \
    title "NoP-Tree (switches with in-network reduction) against a 2D mesh of the same 16 expert chiplets\n(sequence 256, HBM2)" font ',14'
bw = 0.38
set boxwidth bw
set xrange [-0.6:3.6]
set xtics ('Baseline' 0, 'A' 1, 'B' 2, 'C' 3) nomirror scale 0
set xlabel 'variant (Mozart-A, -B, -C)'
set key at screen 0.5, screen 0.01 center bottom horizontal reverse Left width 2
do for [m = 1:3] {
    set title labels[m] font ',12'
    set ylabel (m == 1 ? 'step latency (s)' : '')
    set yrange [0:*]
    plot data using (vi(strcol(3)) - bw / 2):((strcol(1) eq models[m] && strcol(2) eq 'tree') ? $4 : NaN) skip 1 \
            with boxes lc rgb C[1] title (m == 1 ? 'NoP-Tree' : ''), \
         data using (vi(strcol(3)) + bw / 2):((strcol(1) eq models[m] && strcol(2) eq 'mesh') ? $4 : NaN) skip 1 \
            with boxes lc rgb C[2] title (m == 1 ? '2D mesh' : '')
    unset key
}
unset multiplot
