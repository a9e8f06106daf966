#!/usr/bin/env bats
# mz-place-latency.bats: mz-place -a latency (lib/placelat.c): candidates timed as Mozart-C on the wafer, never slower than contiguous or mozart.
bats_require_minimum_version 1.5.0
load helper

# Mean step latency of a placed trace scheduled as Mozart-C and costed on wafer $2, by mz-sched | mz-cost.
latency_of() {
    mz-sched -V C -w "$2" -u "$1" | mz-cost -w "$2" - 2> /dev/null | awk -F'\t' '$1 == "mean" {print $2}'
}
# A column of the latency report's row for a candidate.
cand() { awk -F'\t' -v c="$1" -v r="$2" '/^#/ {next} !h {for (i = 1; i <= NF; i++) if ($i == c) k = i; h = 1; next} $1 == r {print $k}' "$3"; }
# A field of the @PA line.
pa() { mz-view -H "$2" | awk -F'\t' -v k="$1:" '$1 == "@PA" {for (i = 2; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1)}'; }

@test "-a latency needs a wafer and no --replicas; -w and -S need it or --replicas, --latency-report needs it" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 16 -o g.mzt
    run mz-place -a latency -o /dev/null g.mzt
    assert_failure 2
    assert_output --partial "give it with -w"
    while IFS='|' read -r args msg; do
        run mz-place $args -o /dev/null g.mzt
        assert_failure 2
        assert_output --partial "$msg"
    done <<'EOF2'
-w wafer-olmoe-1b-7b-0924|-w and -S give the wafer of -a latency or --replicas
-a mozart -S links.wire_GBps=1|-w and -S give the wafer of -a latency or --replicas
-a ctswap --latency-report x.tsv|--latency-report is for -a latency
-a latency --replicas 2 -w wafer-olmoe-1b-7b-0924|-a latency times its candidates without copies: it excludes --replicas
EOF2
    [ ! -e x.tsv ]
}

@test "never worse: on a small OLMoE trace the latency placement's Mozart-C step is no slower than contiguous's or mozart's" {
    W=wafer-olmoe-1b-7b-0924
    mz-trace -m olmoe-1b-7b-0924 -n 2 -b 8 -L 64 -s 3 -u -o g.mzt
    mz-place -a latency -w $W --latency-report lat.tsv -r r.tsv -u -o lat.mzt g.mzt
    mz-place -a contiguous -u -o con.mzt g.mzt
    mz-place -a mozart -u -o moz.mzt g.mzt
    # independently of the report: the three placements through mz-sched and mz-cost
    l=$(latency_of lat.mzt $W) c=$(latency_of con.mzt $W) m=$(latency_of moz.mzt $W)
    echo "latency $l contiguous $c mozart $m"
    [ -n "$l" ] && [ -n "$c" ] && [ -n "$m" ]
    awk -v l="$l" -v c="$c" -v m="$m" 'BEGIN {exit !(l <= c && l <= m)}'
    # the report and the @PA line say what mz-cost says
    [ "$(pa latency_s lat.mzt)" = "$l" ]
    [ "$(cand latency_s contiguous lat.tsv)" = "$c" ]
    [ "$(cand latency_s mozart lat.tsv)" = "$m" ]
    [ "$(awk -F'\t' '$NF == 1' lat.tsv | wc -l)" -eq 1 ]
    [ "$(cand chosen "$(pa chosen lat.mzt)" lat.tsv)" = 1 ]
    grep -q '^all	latency	' r.tsv
}

@test "never worse on every layout the timing model prefers: Mixtral on 8 chiplets, where mozart loses to contiguous" {
    W=wafer-qwen3-30b-a3b
    S="-S topology.expert_chiplets=8 -S topology.switches=4"
    mz-trace -m mixtral-8x7b -n 1 -b 8 -L 64 -u -o g.mzt
    mz-place -a latency -c 8 -g 4 -w $W $S --latency-report lat.tsv -u -o lat.mzt g.mzt
    c=$(cand latency_s contiguous lat.tsv) m=$(cand latency_s mozart lat.tsv) l=$(pa latency_s lat.mzt)
    echo "latency $l contiguous $c mozart $m"
    awk -v l="$l" -v c="$c" -v m="$m" 'BEGIN {exit !(l <= c && l <= m)}'
}

@test "the surrogate counts group copies only where the switch aggregates: on a mesh it is 4 ct_dedup" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 32 -u -o g.mzt
    mz-place -a latency -w wafer-olmoe-1b-7b-0924 -w mesh --latency-report mesh.tsv -o /dev/null g.mzt
    mz-place -a latency -w wafer-olmoe-1b-7b-0924 --latency-report tree.tsv -o /dev/null g.mzt
    run head -n 1 mesh.tsv
    assert_output --partial "copies_per_token:4*ct_dedup+0*ct_group"
    run head -n 1 tree.tsv
    assert_output --partial "copies_per_token:3*ct_dedup+1*ct_group"
    awk -F'\t' 'NR > 2 && ($3 - 4 * $4 > 0.0002 || 4 * $4 - $3 > 0.0002) {exit 1}' mesh.tsv
}

@test "the man page's latency example runs" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 16 -o olmoe.mzt
    mz-place -a latency -w wafer-olmoe-1b-7b-0924 --latency-report lat.tsv -o olmoe.latency.mzt olmoe.mzt
    run cut -f 1-3,8 lat.tsv
    assert_success
    assert_line --index 1 "candidate	latency_s	copies_per_token	chosen"
    [ "${#lines[@]}" -eq 6 ]
}
