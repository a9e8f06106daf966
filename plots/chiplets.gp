# chiplets.gp: beyond the paper: more expert chiplets and switch groups for Qwen3-30B-A3B.
W = 1100; H = 520
load 'plots/style.gp'
set datafile missing NaN   # the other series' rows: skipped without breaking the lines
data = 'plots/chiplets.tsv'
array groups[3] = [4, 8, 16]
set multiplot layout 1,2 margins 0.08, 0.98, 0.13, 0.83 spacing 0.1 \
    title "Qwen3-30B-A3B on wafers with more expert chiplets (sequence 256; one HBM2 stack per switch group)" font ',14'
set logscale x 2
set xrange [12:80]
set xtics (16, 32, 64)
set xlabel 'expert chiplets'
set key bottom left
set ylabel "Mozart-C speedup over Baseline"
set yrange [1:*]
plot for [g = 1:3] data using ($1):(($2 == groups[g] && strcol(3) eq 'Mozart-C') ? $7 : NaN) skip 1 \
    with linespoints lw 2 pt 7 ps 1.3 lc rgb C[g] title sprintf('%d switch groups', groups[g])
set ylabel "step latency (s)"
set yrange [0:*]
set key bottom left
plot for [g = 1:3] data using ($1):(($2 == groups[g] && strcol(3) eq 'Baseline') ? $4 : NaN) skip 1 \
        with linespoints lw 2 pt 5 ps 1.2 dt 2 lc rgb C[g] title sprintf('Baseline, %d groups', groups[g]), \
     for [g = 1:3] data using ($1):(($2 == groups[g] && strcol(3) eq 'Mozart-C') ? $4 : NaN) skip 1 \
        with linespoints lw 2 pt 7 ps 1.3 lc rgb C[g] title sprintf('Mozart-C, %d groups', groups[g])
unset multiplot
