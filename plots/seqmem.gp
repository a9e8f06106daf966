# seqmem.gp: step latency of Baseline and Mozart-A/B/C by sequence length, on HBM2 and on SSD (the paper's appendix grid).
W = 1200; H = 760
load 'plots/style.gp'
data = 'plots/seqmem.tsv'
array models[3] = ['qwen3-30b-a3b', 'olmoe-1b-7b-0924', 'deepseek-moe-16b-base']
array labels[3] = ['Qwen3-30B-A3B', 'OLMoE-1B-7B', 'DeepSeek-MoE-16B']
array mems[2] = ['hbm2', 'ssd']
array memlabels[2] = ['HBM2', 'SSD']
array variants[4] = ['Baseline', 'Mozart-A', 'Mozart-B', 'Mozart-C']
array colours[4] = [c_base, c_a, c_b, c_c]
bw = 0.2
set boxwidth bw
set xrange [-0.55:2.55]
set xtics ('128' 0, '256' 1, '512' 2) nomirror scale 0
si(s) = s == 128 ? 0 : s == 256 ? 1 : s == 512 ? 2 : NaN
vi(v) = v eq variants[1] ? 0 : v eq variants[2] ? 1 : v eq variants[3] ? 2 : 3
set multiplot layout 2,3 margins 0.07, 0.99, 0.14, 0.86 spacing 0.06, 0.12 \
    title "Step latency by sequence length and memory: HBM2 (256 GB/s per stack) and SSD (15.8 GB/s per device)\nabove the bars: Mozart-C's speedup over Baseline" font ',14'
set key at screen 0.5, screen 0.01 center bottom horizontal maxrows 1 reverse Left width 2
do for [r = 1:2] {
    do for [m = 1:3] {
        set title labels[m] . ', ' . memlabels[r] font ',12'
        set ylabel (m == 1 ? 'step latency (s)' : '')
        set xlabel (r == 2 ? 'sequence length (tokens)' : '')
        set autoscale xy
        stats data using ((strcol(1) eq models[m] && strcol(3) eq mems[r]) ? $5 : NaN) skip 1 nooutput
        set xrange [-0.55:2.55]
        set yrange [0:STATS_max * 1.18]
        plot for [v = 1:4] data using (si($2) + (vi(strcol(4)) - 1.5) * bw):\
                 ((strcol(1) eq models[m] && strcol(3) eq mems[r] && strcol(4) eq variants[v]) ? $5 : NaN) skip 1 \
                 with boxes lc rgb colours[v] title (r == 1 && m == 1 ? variants[v] : ''), \
             data using (si($2) + 1.5 * bw):((strcol(1) eq models[m] && strcol(3) eq mems[r] && strcol(4) eq 'Mozart-C') ? \
                 STATS_max * 1.08 : NaN):(sprintf('%.2fx', $8)) skip 1 with labels font ',10' offset -2.5,0 notitle
        unset key
    }
}
unset multiplot
