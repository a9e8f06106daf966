# main.gp: the main result: normalized step latency of Baseline and Mozart-A/B/C for the paper's three models.
W = 1000; H = 560
load 'plots/style.gp'
if (!exists("data")) data = 'plots/main.tsv'
array models[3] = ['qwen3-30b-a3b', 'olmoe-1b-7b-0924', 'deepseek-moe-16b-base']
array labels[3] = ['Qwen3-30B-A3B', 'OLMoE-1B-7B', 'DeepSeek-MoE-16B']
array variants[4] = ['Baseline', 'Mozart-A', 'Mozart-B', 'Mozart-C']
array colours[4] = [c_base, c_a, c_b, c_c]
set title "Normalized step latency (sequence 256, HBM2); at the bar feet: C_T, all-to-all copies per token\nbars: this model; black marks: the paper's Table 4" font ',13'
bw = 0.2
set boxwidth bw
set xrange [-0.55:2.55]
set yrange [0:1.15]
set ytics 0.2
set ylabel 'step latency / Baseline latency'
set xtics () nomirror scale 0
do for [m = 1:3] { set xtics add (labels[m] m - 1) }
set key top right horizontal reverse Left width 1
mi(s) = s eq models[1] ? 0 : s eq models[2] ? 1 : s eq models[3] ? 2 : NaN
vi(s) = s eq variants[1] ? 0 : s eq variants[2] ? 1 : s eq variants[3] ? 2 : s eq variants[4] ? 3 : NaN
x(m, v) = mi(m) + (vi(v) - 1.5) * bw
plot for [v = 1:4] data using (x(strcol(1), strcol(2))):(strcol(2) eq variants[v] ? $4 : NaN) skip 1 \
         with boxes lc rgb colours[v] title variants[v], \
     data using (x(strcol(1), strcol(2))):7:(bw / 2) skip 1 with xerrorbars pt -1 lc rgb 'black' lw 2 title 'paper', \
     data using (x(strcol(1), strcol(2))):(0.04):(sprintf('%.2f', $6)) skip 1 with labels font ',10' tc rgb 'white' notitle
