# eplb.awk: an EPLB-style phy2log with replicas from a loads table of counts, for the tests.
# DeepSeek EPLB's global policy as its README describes it, written here in awk: give each
# of the slots - E redundant slots to the expert of highest load per copy (ties: lowest id),
# then pack the slots, heaviest first, onto the rank of least load that has room (ties:
# lowest rank). Usage: awk -v slots=P -v ranks=R -f test/eplb.awk COUNTS.tsv > phy2log.json
# (COUNTS.tsv: "layer expert count" rows, as mz-import writes a count set). The rows of
# phy2log are the table's layers in order; "layers" names them.
BEGIN { FS = "\t" }
/^#/ || $1 == "layer" { next }
{
    if (!($1 in seen)) { seen[$1] = 1; order[nl++] = $1 }
    w[$1, $2] = $3
    if ($2 + 1 > E) E = $2 + 1
}
END {
    per = slots / ranks
    printf "{\"num_gpus\": %d, \"layers\": [", ranks
    for (i = 0; i < nl; i++) printf "%s%d", i ? ", " : "", order[i]
    printf "], \"phy2log\": ["
    for (i = 0; i < nl; i++) {
        l = order[i]
        for (e = 0; e < E; e++) { cnt[e] = 1; phy[e] = e }
        for (s = E; s < slots; s++) {
            best = 0
            for (e = 1; e < E; e++) if (w[l, e] / cnt[e] > w[l, best] / cnt[best]) best = e
            phy[s] = best; cnt[best]++
        }
        for (s = 0; s < slots; s++) { load[s] = w[l, phy[s]] / cnt[phy[s]]; used[s] = 0 }
        for (r = 0; r < ranks; r++) { rl[r] = 0; rn[r] = 0 }
        for (k = 0; k < slots; k++) {
            b = -1
            for (s = 0; s < slots; s++) if (!used[s] && (b < 0 || load[s] > load[b])) b = s
            used[b] = 1
            t = -1
            for (r = 0; r < ranks; r++) if (rn[r] < per && (t < 0 || rl[r] < rl[t])) t = r
            out[t * per + rn[t]] = phy[b]; rn[t]++; rl[t] += load[b]
        }
        printf "%s[", i ? ", " : ""
        for (s = 0; s < slots; s++) printf "%s%d", s ? ", " : "", out[s]
        printf "]"
    }
    printf "]}\n"
}
