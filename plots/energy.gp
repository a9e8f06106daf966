# energy.gp: where each variant's joules per step go: every phase's dynamic energy and the static leakage, stacked; and the dynamic part alone.
W = 1200; H = 560
load 'plots/style.gp'
data = 'plots/energy.tsv'
array models[3] = ['qwen3-30b-a3b', 'olmoe-1b-7b-0924', 'deepseek-moe-16b-base']
array labels[3] = ['Qwen3', 'OLMoE', 'DeepSeek-MoE']
array variants[4] = ['Baseline', 'Mozart-A', 'Mozart-B', 'Mozart-C']
array short[4] = ['Base', 'A', 'B', 'C']
array cats[7] = ['att_compute', 'expert_compute', 'dram_stream', 'act_traffic', 'a2a_dispatch', 'a2a_combine', 'static']
array catlabels[7] = ['attention compute', 'expert compute', 'DRAM traffic', 'activation traffic', 'all-to-all dispatch', 'all-to-all combine', 'static (leakage)']
array ccol[7] = ['#9467bd', '#2ca02c', '#d62728', '#8c564b', '#1f77b4', '#17becf', '#c7c7c7']
mi(s) = s eq models[1] ? 0 : s eq models[2] ? 1 : 2
vi(v) = v eq variants[1] ? 0 : v eq variants[2] ? 1 : v eq variants[3] ? 2 : 3
x(m, v) = mi(m) * 5 + vi(v)
set multiplot layout 1, 2 title "Energy per training step (sequence 256, HBM2; 28 nm constants of models/tech-28nm.wafer, mean of the steps)" font ',13'
set boxwidth 0.8
set xrange [-0.7:13.7]
set xtics () nomirror scale 0 font ',10'
do for [m = 1:3] { do for [v = 1:4] { set xtics add (short[v] (m - 1) * 5 + v - 1) } }
do for [m = 1:3] { set label m labels[m] at (m - 1) * 5 + 1.5, graph -0.09 center font ',11' }
set bmargin 5
set yrange [0:*]
set title "all of it: the stack is the step's joules" font ',12'
set ylabel 'energy per step (J)'
set key top right vertical font ',10'
# the running sums from the top category down, so each box shows its own share
plot for [c = 7:1:-1] data using (x(strcol(1), strcol(2))):(strcol(3) eq cats[c] ? $5 : NaN) skip 1 \
    with boxes lc rgb ccol[c] title catlabels[c]
set title 'dynamic only (what the schedule does)' font ',12'
set ylabel 'dynamic energy per step (J)'
set key top right vertical font ',10'
plot for [c = 6:1:-1] data using (x(strcol(1), strcol(2))):(strcol(3) eq cats[c] ? $6 : NaN) skip 1 \
    with boxes lc rgb ccol[c] title catlabels[c]
unset multiplot
