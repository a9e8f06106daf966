# gantt.awk: one MoE layer of an mz-cost timeline (Chrome trace JSON, one event per line) -> the Gantt chart's TSV.
# Usage: awk -v layer=L [-v mb=0] [-v dir=fwd|bwd] [-v step=S] -f gantt.awk TIMELINE.json TIMELINE.json
# The file is read twice: the first pass finds the layer's window (its first event to its last end, for that step,
# micro-batch and direction) and every layer's first event; the second prints every event that overlaps the window,
# from any layer, with this_layer = 1 for the chosen layer's own. Times: ms from the layer's first event.
# Rows, top to bottom: attention chiplet (CA), its DRAM (DA), its dispatcher (RD), each group's DRAM stack (Dg), each
# group's switch-to-chiplet links (S* of its chiplets, merged), each expert chiplet (Cn). The root's links to the
# switches (R*) are left out: every event on one is an all-to-all op that also holds the dispatcher, longer (the links
# are 3.5x as fast). Rows of layer_start give when each layer in the window starts (resource: -).
# Output order: rows in row order, each row's events in file order (the schedule's op order): deterministic.
BEGIN {
    if (layer == "") { print "gantt.awk: -v layer=N is required" > "/dev/stderr"; bad = 2; exit 2 }
    if (mb == "") mb = 0
    if (dir == "") dir = "fwd"
    if (step == "") step = 0
    layer += 0; mb += 0; step += 0
    if (dir != "fwd" && dir != "bwd") { print "gantt.awk: dir must be fwd or bwd" > "/dev/stderr"; bad = 2; exit 2 }
    first_t = 1e300; last_t = -1e300
}
# an event line: {"name":N,"cat":C,"ph":"X","pid":1,"tid":T,"ts":US,"dur":US,"args":{"step":S,"op":O,"layer":L,
# "mb":M,"dir":"D","slice":X}} -> the globals name, cat, tid, ts, dur, ev_step, op, ev_layer, ev_mb, ev_dir
function parse(line,   f, n) {
    n = split(line, f, /[{}":,]+/)
    # f[1] is empty: f[2]=name f[3]=N f[4]=cat f[5]=C f[6]=ph f[7]=X f[8]=pid f[9]=1 f[10]=tid f[11]=T ...
    if (n < 27 || f[2] != "name" || f[10] != "tid" || f[16] != "args") return 0
    name = f[3]; cat = f[5]; tid = f[11] + 0; ts = f[13] + 0; dur = f[15] + 0
    ev_step = f[18] + 0; op = f[20] + 0; ev_layer = f[22] + 0; ev_mb = f[24] + 0; ev_dir = f[26]
    return 1
}
# track names: {"name":"thread_name",...,"tid":T,"args":{"name":"CA (compute)"}}
FNR == NR && /"name":"thread_name"/ {
    n = split($0, f, /[{}":,]+/)
    t = f[9] + 0; nm = f[12]; sub(/ \(.*$/, "", nm)
    track[t] = nm
    if (nm ~ /^C[0-9]+$/ && substr(nm, 2) + 1 > nchip) nchip = substr(nm, 2) + 1
    if (nm ~ /^D[0-9]+$/ && substr(nm, 2) + 1 > ngrp) ngrp = substr(nm, 2) + 1
    next
}
FNR == NR {
    if (!/"ph":"X"/ || !parse($0)) next
    if (ev_step != step || ev_mb != mb || ev_dir != dir) next
    if (!(ev_layer in lfirst) || ts < lfirst[ev_layer]) lfirst[ev_layer] = ts
    if (ev_layer == layer) {
        if (ts < first_t) first_t = ts
        if (ts + dur > last_t) last_t = ts + dur
    }
    next
}
FNR == 1 {
    if (!(layer in lfirst)) { printf "gantt.awk: no events of layer %d (step %d, micro-batch %d, %s)\n", layer, step, mb, dir > "/dev/stderr"; bad = 1; exit 1 }
    if (!nchip || !ngrp || nchip % ngrp) { print "gantt.awk: no NoP-Tree tracks (Cn, Dg) in the timeline" > "/dev/stderr"; bad = 1; exit 1 }
    cpg = nchip / ngrp
    # the rows
    nrow = 0
    rowof["CA"] = ++nrow; label[nrow] = "CA attention chiplet"
    rowof["DA"] = ++nrow; label[nrow] = "DA root DRAM"
    rowof["RD"] = ++nrow; label[nrow] = "RD root dispatcher"
    for (g = 0; g < ngrp; g++) { rowof["D" g] = ++nrow; label[nrow] = "D" g " DRAM stack, group " g }
    for (g = 0; g < ngrp; g++) { ++nrow; label[nrow] = sprintf("links to C%d-%d", g * cpg, g * cpg + cpg - 1)
        for (k = g * cpg; k < g * cpg + cpg; k++) rowof["S" k] = nrow }
    for (k = 0; k < nchip; k++) { rowof["C" k] = ++nrow; label[nrow] = "C" k " expert chiplet" }
    for (r = 1; r <= nrow; r++) cnt[r] = 0
}
/"ph":"X"/ && parse($0) {
    if (ts >= last_t || ts + dur <= first_t || !(track[tid] in rowof)) next
    r = rowof[track[tid]]
    own = (ev_layer == layer && ev_step == step && ev_mb == mb && ev_dir == dir)
    line[r, ++cnt[r]] = sprintf("%d\t%s\t%.6f\t%.6f\t%s\t%d\t%d\t%s\t%d", r, label[r], (ts - first_t) / 1000,
                                (ts + dur - first_t) / 1000, cat, ev_layer, own, track[tid], op)
}
END {
    if (bad) exit bad
    if (NR == FNR) { print "gantt.awk: give the timeline twice (two passes)" > "/dev/stderr"; exit 2 }
    printf "# step %d, layer %d, micro-batch %d, %s: %.6f ms from its first event to its last end\n", step, layer, mb, dir, (last_t - first_t) / 1000
    print "row\tresource\tstart_ms\tend_ms\tcategory\tlayer\tthis_layer\ttrack\top"
    # every layer that starts inside the window (the next layer's start is the period)
    for (l in lfirst) if (lfirst[l] >= first_t && lfirst[l] <= last_t) ls[++nls] = l + 0
    for (i = 2; i <= nls; i++) for (j = i; j > 1 && (lfirst[ls[j - 1]] > lfirst[ls[j]] || \
                                (lfirst[ls[j - 1]] == lfirst[ls[j]] && ls[j - 1] > ls[j])); j--) {
        t = ls[j]; ls[j] = ls[j - 1]; ls[j - 1] = t }
    for (i = 1; i <= nls; i++)
        printf "0\t-\t%.6f\t%.6f\tlayer_start\t%d\t%d\t-\t-1\n", (lfirst[ls[i]] - first_t) / 1000, (lfirst[ls[i]] - first_t) / 1000, ls[i], ls[i] == layer
    for (r = 1; r <= nrow; r++) {
        printf "%d\t%s\t0\t0\trow\t-1\t0\t-\t-1\n", r, label[r]
        for (i = 1; i <= cnt[r]; i++) print line[r, i]
    }
}
