# style.gp: the shared look of every figure; the Makefile sets 'fmt' (svg|png) and 'out'.
# Usage: gnuplot -e "fmt='png'; out='plots/x.png'" plots/x.gp  (each script loads this file)
if (!exists("fmt")) fmt = 'png'
if (!exists("W")) W = 900
if (!exists("H")) H = 560
if (fmt eq 'svg') {
    set terminal svg size W,H font 'DejaVu Sans,13' background rgb 'white'
} else {
    set terminal pngcairo size W,H font 'DejaVu Sans,11' background rgb 'white'
}
if (exists("out")) set output out
set encoding utf8
set datafile separator '\t'
set datafile missing 'NA'
set key noenhanced
set border lw 1
set grid ytics lc rgb '#dddddd' lw 1 dt 1
set tics nomirror out
set style fill solid 0.9 border -1
# the four variants, and a palette for many series
c_base = '#7f7f7f'; c_a = '#1f77b4'; c_b = '#ff7f0e'; c_c = '#2ca02c'
array C[8] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf']
