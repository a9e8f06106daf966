# breakdown.gp: where each variant's step time goes: exposed (not hidden by overlap) seconds per phase, stacked.
W = 1100; H = 600
load 'plots/style.gp'
data = 'plots/breakdown.tsv'
array models[3] = ['qwen3-30b-a3b', 'olmoe-1b-7b-0924', 'deepseek-moe-16b-base']
array labels[3] = ['Qwen3-30B-A3B', 'OLMoE-1B-7B', 'DeepSeek-MoE-16B']
array variants[4] = ['Baseline', 'Mozart-A', 'Mozart-B', 'Mozart-C']
array short[4] = ['Base', 'A', 'B', 'C']
array cats[6] = ['att_compute', 'expert_compute', 'dram_stream', 'act_traffic', 'a2a_dispatch', 'a2a_combine']
array catlabels[6] = ['attention compute', 'expert compute', 'DRAM weight streaming', 'activation traffic', 'all-to-all dispatch', 'all-to-all combine']
array ccol[6] = ['#9467bd', '#2ca02c', '#d62728', '#8c564b', '#1f77b4', '#17becf']
set title "Exposed time per phase (not hidden by overlap); the stack's height is the step latency\n(sequence 256, HBM2; mean of the steps)" font ',13'
set ylabel 'exposed time per step (s)'
set yrange [0:*]
set boxwidth 0.8
mi(s) = s eq models[1] ? 0 : s eq models[2] ? 1 : 2
vi(v) = v eq variants[1] ? 0 : v eq variants[2] ? 1 : v eq variants[3] ? 2 : 3
x(m, v) = mi(m) * 5 + vi(v)
set xrange [-0.7:13.7]
set xtics () nomirror scale 0
do for [m = 1:3] { do for [v = 1:4] { set xtics add (short[v] (m - 1) * 5 + v - 1) } }
do for [m = 1:3] { set label m labels[m] at (m - 1) * 5 + 1.5, graph -0.09 center font ',12' }
set bmargin 5
set key top right vertical
# draw the running sums from the top category down so that each box shows its own share
plot for [c = 6:1:-1] data using (x(strcol(1), strcol(2))):(strcol(3) eq cats[c] ? $6 : NaN) skip 1 \
    with boxes lc rgb ccol[c] title catlabels[c]
