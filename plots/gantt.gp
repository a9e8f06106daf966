# gantt.gp: one Qwen3 MoE layer's schedule on the wafer's resources (rows), Baseline above Mozart-C.
# Data: plots/gantt{part}-baseline.tsv and plots/gantt{part}-c.tsv from plots/gantt.awk; part = '' (forward) or
# '-bwd' (backward, set by gantt-bwd.gp).
W = 1200; H = 1300
load 'plots/style.gp'
if (!exists("part")) part = ''
files = sprintf('plots/gantt%s-baseline.tsv plots/gantt%s-c.tsv', part, part)
names = "Baseline Mozart-C"
direction = (part eq '-bwd') ? 'backward' : 'forward'
cats = 'att_compute expert_compute dram_stream act_traffic a2a_dispatch a2a_combine'
array catlabel[6] = ['attention compute', 'expert compute', 'DRAM weight streaming', 'activation traffic', \
                     'all-to-all dispatch', 'all-to-all combine']
array col[6] = ['#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#d62728', '#e377c2']
# the same hues mixed with 70% white: the other layers' ops
array pale[6] = ['#bcd6e8', '#c0e2c0', '#ffd9b7', '#dfd4e9', '#f3bebe', '#f7d6ee']
nc = words(cats)

# per panel: the layer, its span, when and which layer starts next, the row labels
array span[2]; array nxt[2]; array nxtl[2]; array lay[2]; array nrows[2]; array rowlabel[200]
do for [p = 1:2] {
    f = word(files, p)
    stats f using (column(7) == 1 && strcol(5) ne 'layer_start' ? $4 : NaN) nooutput
    span[p] = STATS_max
    stats f using (strcol(5) eq 'layer_start' && column(7) == 1 ? $6 : NaN) nooutput
    lay[p] = int(STATS_max)
    # the next layer's start, if one falls in the window (1e9 stands for none: stats needs a point)
    stats f using (strcol(5) eq 'layer_start' ? (column(7) == 0 ? $3 : 1e9) : NaN) nooutput
    nxt[p] = STATS_min < 1e9 ? STATS_min : NaN
    if (STATS_min < 1e9) {
        stats f using (strcol(5) eq 'layer_start' && $3 == nxt[p] ? $6 : NaN) nooutput
        nxtl[p] = int(STATS_min)
    }
    stats f using (strcol(5) eq 'row' ? (rowlabel[100 * (p - 1) + int($1)] = strcol(2), $1) : NaN) nooutput
    nrows[p] = int(STATS_max)
}
xmax = (span[1] > span[2] ? span[1] : span[2])

set multiplot title sprintf("Qwen3-30B-A3B, MoE layer %d, %s pass (micro-batch 0 of a step, sequence 256, HBM2 wafer)", \
    lay[1], direction) font ',15'
unset grid
set grid xtics lc rgb '#e4e4e4' lw 1 dt 1
set style fill solid 1.0 noborder
set xrange [0:xmax * 1.005]
xstep = xmax > 40 ? 5 : (xmax > 15 ? 2 : 1)   # a label every 1, 2 or 5 ms, never crowded
set xtics 0, xstep nomirror out
set ytics nomirror scale 0 font ',10'
set border 3
set key at screen 0.5, screen 0.958 center top horizontal maxrows 2 width 1 samplen 2 reverse Left font ',11'
lm = 0.19; rm = 0.985
do for [p = 1:2] {
    f = word(files, p)
    n = nrows[p]
    if (p == 1) { set tmargin at screen 0.9; set bmargin at screen 0.53; unset xlabel; unset key } \
    else { set tmargin at screen 0.475; set bmargin at screen 0.07; set key; \
           set xlabel sprintf("time from layer %d's first %s op (ms)", lay[2], direction) }
    set lmargin at screen lm; set rmargin at screen rm
    set yrange [n + 0.6:-0.9]
    set ytics ()
    do for [r = 1:n] { set ytics add (rowlabel[100 * (p - 1) + r] r) }
    unset label; unset arrow
    # separators: attention side | DRAM stacks | links | expert chiplets
    set for [b in "3 7 11"] arrow from graph 0, first b + 0.5 to graph 1, first b + 0.5 nohead lc rgb '#999999' lw 0.8 dt 3 back
    ttl = (nxt[p] == nxt[p]) ? \
        sprintf("%s: layer %d's ops span %.2f ms; layer %d starts %.2f ms after layer %d", word(names, p), lay[p], \
                span[p], nxtl[p], nxt[p], lay[p]) : \
        sprintf("%s: layer %d's ops span %.2f ms", word(names, p), lay[p], span[p])
    set label 1 ttl at graph 0, graph 1.035 left font ',13'
    plot \
        for [c = 1:nc] f using (($3 + $4) / 2):(strcol(5) eq word(cats, c) && column(7) == 0 ? $1 : NaN):(($4 - $3) / 2):(0.4) \
            with boxxyerror lc rgb pale[c] notitle, \
        for [c = 1:nc] f using (($3 + $4) / 2):(strcol(5) eq word(cats, c) && column(7) == 1 ? $1 : NaN):(($4 - $3) / 2):(0.4) \
            with boxxyerror lc rgb col[c] title catlabel[c], \
        f using 3:(strcol(5) eq 'layer_start' ? -0.9 : NaN):(0):(n + 1.5) with vectors nohead lc rgb '#333333' dt 2 lw 1 notitle, \
        f using 3:(strcol(5) eq 'layer_start' && $3 < 0.8 * xmax ? 0 : NaN):(sprintf(" layer %d starts", $6)) \
            with labels left font ',10' notitle, \
        f using 3:(strcol(5) eq 'layer_start' && $3 >= 0.8 * xmax ? 0 : NaN):(sprintf("layer %d starts ", $6)) \
            with labels right font ',10' notitle, \
        NaN with boxxyerror lc rgb '#d0d0d0' title "paler: other layers' ops", \
        NaN with vectors nohead lc rgb '#333333' dt 2 title 'a layer starts'
}
unset multiplot
