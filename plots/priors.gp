# priors.gp: one OLMoE layer's expert activation frequency and co-activation, before and after Mozart's clustering.
W = 1000; H = 900
load 'plots/style.gp'
freq = 'plots/priors-freq.tsv'; coact = 'plots/priors-coact.tsv'; mozart = 'plots/priors-mozart.tsv'
set multiplot layout 2,2 title 'OLMoE-1B-7B layer 7 (generated trace): routing priors' font ',14'
unset key
set style fill solid 1.0 noborder
set boxwidth 0.8
set xlabel 'expert id'
set ylabel 'share of selections (%)'
set xrange [-1:64]
set title 'activation frequency, expert-id order'
set palette defined (0 '#1f77b4', 1 '#ff7f0e', 2 '#2ca02c', 3 '#d62728')
unset colorbox
set cbrange [0:3]
plot freq using 1:($2*100):(int($3/4)) skip 1 with boxes lc palette
set xlabel 'expert, ordered by Mozart chiplet'
set title 'activation frequency, Mozart order (colour: switch group)'
plot freq using 4:($2*100):(int($5/4)) skip 1 with boxes lc palette
set palette defined (0 'white', 0.25 '#fde0c5', 0.5 '#f59e72', 0.75 '#d7301f', 1 '#7f0000')
# a square-root colour scale, so that pairs of cold experts stay visible
set cbrange [0:1]
set colorbox
set cbtics ('0' 0, '0.02' sqrt(0.02), '0.1' sqrt(0.1), '0.25' 0.5, '0.5' sqrt(0.5), '1' 1)
set cblabel 'co-activation P (max = 1, square-root scale)'
set size ratio -1
set xrange [-0.5:63.5]; set yrange [63.5:-0.5]
set xlabel 'expert id'; set ylabel 'expert id'
set title 'co-activation, expert-id order'
set xtics 16; set ytics 16
unset grid
plot coact using 1:2:(sqrt($3)) skip 1 with image
set xlabel 'expert, Mozart order'; set ylabel 'expert, Mozart order'
set title 'co-activation, Mozart order (lines: chiplets)'
set for [k=1:15] arrow from k*4-0.5, graph 0 to k*4-0.5, graph 1 nohead lc rgb '#888888' lw 0.5 front
set for [k=1:15] arrow from graph 0, first k*4-0.5 to graph 1, first k*4-0.5 nohead lc rgb '#888888' lw 0.5 front
plot mozart using 1:2:(sqrt($3)) skip 1 with image
unset multiplot
