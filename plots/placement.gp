# placement.gp: C_T and group imbalance of every mz-place algorithm on every model (16 chiplets, 4 groups).
W = 1000; H = 620
load 'plots/style.gp'
data = 'plots/placement.tsv'
models = 'qwen3-30b-a3b olmoe-1b-7b-0924 deepseek-moe-16b-base qwen1.5-real deepseek-v3'
array labels[5] = ["Qwen3-30B-A3B", "OLMoE-1B-7B", "DeepSeek-MoE-16B", "Qwen1.5-MoE\n(real data, 15 chiplets)", "DeepSeek-V3"]
algos = 'contiguous round-robin random balanced mozart ctswap'
na = words(algos); nm = words(models)
set multiplot layout 2,1 margins 0.1, 0.98, 0.1, 0.86 spacing 0.12 title 'Expert placement: all-to-all copies per token and switch-group balance' font ',14'
set style fill solid 0.9 border -1
set boxwidth 1.0 / (na + 1.5)
set xrange [-0.6:nm - 0.4]
set xtics () nomirror
do for [m = 1:nm] { set xtics add (labels[m] m - 1) }
set key at screen 0.5, screen 0.925 center top horizontal maxrows 1 width 1
set ylabel "C_T\n(chiplet copies per token)"
set yrange [0:*]
set grid ytics
# bars of algorithm a at model m: x = m - 1 + (a - (na + 1) / 2) * width
x(m, a) = m - 1 + (a - (na + 1) / 2.0) / (na + 1.5)
plot for [a = 1:na] data using (x(sum [m = 1:nm] (strcol(1) eq word(models, m) ? m : 0), a)):\
    (strcol(2) eq word(algos, a) ? $3 : NaN) skip 1 with boxes lc rgb C[a] title word(algos, a)
set ylabel "group imbalance\n(max load share - 1/groups)"
set yrange [0:*]
unset key
plot for [a = 1:na] data using (x(sum [m = 1:nm] (strcol(1) eq word(models, m) ? m : 0), a)):\
    (strcol(2) eq word(algos, a) ? $4 : NaN) skip 1 with boxes lc rgb C[a] title word(algos, a)
unset multiplot
