# priors.awk: one layer's loads, co-activation and Mozart placement -> the TSVs of the priors figure.
# Usage: awk -v layer=L -v freq=FILE -v coact=FILE -v mozart=FILE -f priors.awk LOADS COACT PLACEMENT
# coact: the matrix in expert-id order; mozart: the same matrix with experts in Mozart's order.
BEGIN { FS = OFS = "\t" }
FILENAME == ARGV[1] && $1 == layer { share[$2] = $4; if ($2 + 1 > E) E = $2 + 1 }
FILENAME == ARGV[2] && $1 == layer { c[$2, $3] = $4; if ($4 > max) max = $4 }
FILENAME == ARGV[3] && $1 == layer { chip[$2] = $3; if ($3 + 1 > NC) NC = $3 + 1 }
END {
    # Mozart's order: experts by chiplet, then id
    n = 0
    for (k = 0; k < NC; k++) for (e = 0; e < E; e++) if (chip[e] == k) pos[e] = n++
    print "expert", "share", "chiplet_contiguous", "position_mozart", "chiplet_mozart" > freq
    for (e = 0; e < E; e++) print e, share[e], int(e * NC / E), pos[e], chip[e] > freq
    # co-activation normalised by its largest entry (the paper's P), both
    # triangles, in scan order of each figure panel
    for (i = 0; i < E; i++) at[pos[i]] = i
    print "i", "j", "p" > coact
    print "position_i", "position_j", "p", "expert_i", "expert_j" > mozart
    for (a = 0; a < E; a++) for (b = 0; b < E; b++) {
        printf "%d\t%d\t%.4f\n", a, b, p(a, b) > coact
        printf "%d\t%d\t%.4f\t%d\t%d\n", a, b, p(at[a], at[b]), at[a], at[b] > mozart
    }
}
function p(i, j) { return (i < j ? c[i, j] : i > j ? c[j, i] : 0) / max }
