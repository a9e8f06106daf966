#!/usr/bin/env bats
# mz-speedup.bats: tests of mz-speedup, the Baseline/Mozart-A/B/C pipeline, run as a user runs it (small OLMoE traces).
load helper
bats_require_minimum_version 1.5.0

USAGE="Usage: mz-speedup -m MODEL [-p PRIOR | --routes FILE] [-L SEQ_LEN] [-b SEQS] [--memory hbm2|ssd] [-n STEPS] [-s SEED] [-w WAFER]... [-S KEY=VALUE]... [-c CHIPLETS] [-g GROUPS] [-a ALGO] [--shared-on WHERE] [--optimizer OPT] [--order ORDER] [--sched-opt OPT]... [--cost-opt OPT]... [--import-opt OPT]... [--strict] [-E] [-k DIR]"
OLMOE="-m olmoe-1b-7b-0924 -n 1 -b 8"

# Column $1 (a header name) of the row of variant $2 of the table in file $3 (after its '#' lines).
col() { awk -F'\t' -v c="$1" -v v="$2" '/^#/ {next} !h {for (i = 1; i <= NF; i++) if ($i == c) k = i; h = 1; next} $2 == v {print $k}' "$3"; }

# The model's top-k, from its config in the catalogue.
topk() { sed -n 's/.*"num_experts_per_tok": *\([0-9]*\).*/\1/p' "$TOP/models/$1.json"; }

@test "mz-speedup --help describes the table's columns" {
    run -0 mz-speedup --help
    assert_output --partial "latency_s"
}

@test "mz-speedup: bad options exit 2 with the usage on stderr and nothing on stdout" {
    while IFS='|' read -r args msg; do
        run -2 --separate-stderr mz-speedup $args
        [ -z "$output" ] || { echo "stdout for '$args': $output"; return 1; }
        [[ "$stderr" == *"mz-speedup: $msg"* ]] || { echo "'$args': $stderr"; return 1; }
        [[ "$stderr" == *"$USAGE"* ]]
        [[ "$stderr" == *"Try 'mz-speedup --help' for more information."* ]]
    done <<'EOF'
-n 1|no model given (-m)
-m|option '-m' needs a value
-m olmoe-1b-7b-0924 extra|unexpected argument 'extra'
-m olmoe-1b-7b-0924 -n x|--steps: 'x' is not a positive integer
-m olmoe-1b-7b-0924 -n 0|--steps: '0' is not a positive integer
-m olmoe-1b-7b-0924 -n 1.5|--steps: '1.5' is not a positive integer
-m olmoe-1b-7b-0924 -L -3|--seq-len: '-3' is not a positive integer
-m olmoe-1b-7b-0924 --seed=|--seed: '' is not a positive integer
-m olmoe-1b-7b-0924 --memory dram|--memory: 'dram' is not hbm2 or ssd
-m olmoe-1b-7b-0924 --memory=HBM2|--memory: 'HBM2' is not hbm2 or ssd
-m olmoe-1b-7b-0924 -b 2|--seqs: 2 sequences cannot fill 4 micro-batches
-m olmoe-1b-7b-0924 -c 16 -g 5|16 chiplets cannot form 5 equal groups
-m olmoe-1b-7b-0924 -a bogus|--algorithm: unknown algorithm 'bogus'
-m olmoe-1b-7b-0924 --shared-on nowhere|--shared-on: 'nowhere' is not one of the values mz-sched takes
-m olmoe-1b-7b-0924 --optimizer=lion|--optimizer: 'lion' is not one of the values mz-sched takes
-m olmoe-1b-7b-0924 --order|option '--order' needs a value
-m olmoe-1b-7b-0924 --order Layer|--order: 'Layer' is not one of the values mz-sched takes
-m olmoe-1b-7b-0924 -p a.prior --routes r.csv|-p and --routes exclude each other
-m olmoe-1b-7b-0924 --sched-opt|option '--sched-opt' needs a value
-m olmoe-1b-7b-0924 --prior|option '--prior' needs a value
EOF
}

@test "mz-speedup: an unknown model exits 1 naming it, nothing on stdout" {
    run -1 --separate-stderr mz-speedup -m no-such-model -n 1 -b 4
    [ -z "$output" ]
    [[ "$stderr" == *"no-such-model"* ]]
    [[ "$stderr" == *"unknown model"* ]]
}

@test "mz-speedup: a missing stage program exits 1 naming it, before anything runs, nothing on stdout" {
    for gone in mz-trace mz-place mz-sched mz-cost mz-view; do
        rm -rf b && mkdir b || return 1
        cp "$TOP/bin/mz-speedup" b/ || return 1
        for f in "$TOP"/bin/mz-*; do
            n=${f##*/}
            [ "$n" = mz-speedup ] || [ "$n" = "$gone" ] || ln -s "$f" "b/$n" || return 1
        done
        run -1 --separate-stderr b/mz-speedup $OLMOE
        [ -z "$output" ] || { echo "stdout without $gone: $output"; return 1; }
        [[ "$stderr" == *"mz-speedup: "*"/b/$gone: missing or not executable"* ]] || { echo "without $gone: $stderr"; return 1; }
    done
    # the message is never empty: a stage that fails without mz-place's prefix is named too
    ln -s "$TOP/bin/mz-view" b/mz-view && rm -f b/mz-place && printf '#!/bin/sh\necho boom >&2; exit 1\n' > b/mz-place && chmod +x b/mz-place
    run -1 --separate-stderr b/mz-speedup $OLMOE
    [ -z "$output" ]
    [[ "$stderr" == *"mz-speedup: mz-place -a "*" failed: boom"* ]]
}

@test "mz-speedup: a small OLMoE run: Baseline > A > B > C, normalized, speedup and C_T consistent" {
    mz-speedup $OLMOE > full.tsv
    # one '#' line (what the names resolved to), then the table
    [ "$(head -n 1 full.tsv | cut -f 1,2)" = "$(printf '#mz-speedup\tmodel:olmoe-1b-7b-0924')" ]
    grep -v '^#' full.tsv > t.tsv
    [ "$(wc -l < full.tsv)" -eq 6 ]
    [ "$(head -n 1 t.tsv)" = "$(printf 'model\tvariant\tlatency_s\tnormalized\tspeedup\tct')" ]
    [ "$(wc -l < t.tsv)" -eq 5 ]
    [ "$(cut -f 2 t.tsv | tail -n +2 | tr '\n' ' ')" = "Baseline Mozart-A Mozart-B Mozart-C " ]
    [ "$(cut -f 1 t.tsv | tail -n +2 | sort -u)" = olmoe-1b-7b-0924 ]
    [ "$(col normalized Baseline t.tsv)" = 1.0000 ]
    [ "$(col speedup Baseline t.tsv)" = 1.0000 ]
    # strictly falling latencies, all positive
    run awk -F'\t' 'NR > 1 { if ($3 <= 0 || (NR > 2 && $3 >= prev)) bad = bad " " $2; prev = $3 }
        END { print bad == "" ? "ordered" : "not ordered at" bad }' t.tsv
    assert_output ordered
    # normalized = latency / Baseline's, speedup = 1 / normalized, to the printed rounding
    run awk -F'\t' 'NR == 2 { b = $3 } NR > 1 {
            d1 = $4 - $3 / b; d2 = $5 * $4 - 1; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2
            if (d1 > 5e-4 || d2 > 5e-4) print "off:", $0 }' t.tsv
    assert_output ""
    # C_T: top-k without de-duplication, at most top-k with, and the clustering lowers it
    k=$(topk olmoe-1b-7b-0924)
    [ "$k" -eq 8 ]
    [ "$(col ct Baseline t.tsv)" = "$k.0000" ]
    [ "$(col ct Mozart-A t.tsv)" = "$k.0000" ]
    awk -v b="$(col ct Mozart-B t.tsv)" -v c="$(col ct Mozart-C t.tsv)" -v k="$k" \
        'BEGIN { exit !(b >= 1 && b <= k && c >= 1 && c < b) }'
}

@test "mz-speedup: the same seed gives the same table, another seed another; --opt=value works" {
    mz-speedup $OLMOE -s 3 > a.tsv
    mz-speedup -m olmoe-1b-7b-0924 --steps=1 --seqs=8 --seed=3 > b.tsv
    cmp a.tsv b.tsv
    mz-speedup $OLMOE -s 4 > c.tsv
    ! cmp -s a.tsv c.tsv
}

@test "mz-speedup: --memory ssd raises every latency and lowers Mozart-C's speedup" {
    mz-speedup $OLMOE > hbm.tsv
    mz-speedup $OLMOE --memory ssd > ssd.tsv
    for v in Baseline Mozart-A Mozart-B Mozart-C; do
        awk -v h="$(col latency_s $v hbm.tsv)" -v s="$(col latency_s $v ssd.tsv)" 'BEGIN { exit !(s > h) }' ||
            { echo "$v: ssd $(col latency_s $v ssd.tsv) <= hbm2 $(col latency_s $v hbm.tsv)"; return 1; }
    done
    awk -v h="$(col speedup Mozart-C hbm.tsv)" -v s="$(col speedup Mozart-C ssd.tsv)" 'BEGIN { exit !(s < h && s >= 1) }'
    # the same trace: C_T does not depend on the memory
    [ "$(cut -f 6 hbm.tsv)" = "$(cut -f 6 ssd.tsv)" ]
}

@test "mz-speedup: a longer sequence raises every latency" {
    mz-speedup $OLMOE -L 128 > short.tsv
    mz-speedup $OLMOE -L 512 > long.tsv
    for v in Baseline Mozart-A Mozart-B Mozart-C; do
        awk -v s="$(col latency_s $v short.tsv)" -v l="$(col latency_s $v long.tsv)" 'BEGIN { exit !(l > s) }' ||
            { echo "$v: -L 512 $(col latency_s $v long.tsv) <= -L 128 $(col latency_s $v short.tsv)"; return 1; }
    done
}

@test "mz-speedup: -k keeps the intermediates, which agree with the table; without it nothing is left" {
    mkdir tmp
    TMPDIR=$PWD/tmp mz-speedup $OLMOE -k kept > t.tsv
    for f in trace.mzt contiguous.mzt clustered.mzt contiguous.tsv clustered.tsv; do
        [ -s "kept/$f" ] || { echo "missing kept/$f"; return 1; }
    done
    # every output of each variant's mz-cost: its table, breakdown, resources, footprint and timeline
    for v in baseline A B C; do
        for f in $v.cost $v.breakdown.tsv $v.resources.tsv $v.footprint.tsv $v.timeline.json; do
            [ -s "kept/$f" ] || { echo "missing kept/$f"; return 1; }
        done
        grep -q "^#mz-cost	model:olmoe-1b-7b-0924	variant:$v	" kept/$v.cost
        [ "$(grep -vc '^#' kept/$v.breakdown.tsv)" -gt 1 ] && [ "$(grep -vc '^#' kept/$v.resources.tsv)" -gt 1 ]
        python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["traceEvents"])' kept/$v.timeline.json
        grep -q 'capacity' kept/$v.footprint.tsv
    done
    [ "$(ls kept | wc -l)" -eq 25 ]
    # one step of 8 sequences of 256 tokens
    [ "$(mz-view -c kept/trace.mzt)" = 2048 ]
    [ "$(mz-view -c kept/clustered.mzt)" = 2048 ]
    c=$(awk -F'\t' '$1 == "mean" { printf "%.4f", $2 }' kept/C.cost)
    [ "$c" = "$(col latency_s Mozart-C t.tsv)" ]
    [ -z "$(ls -A tmp)" ]
    TMPDIR=$PWD/tmp mz-speedup $OLMOE > u.tsv
    cmp t.tsv u.tsv
    [ -z "$(ls -A tmp)" ]
}

@test "mz-speedup: -c and -g set the wafer's counts; -S still wins, and the error names the field" {
    run -0 mz-speedup $OLMOE -c 32 -g 8
    [ "${#lines[@]}" -eq 6 ]
    run -1 --separate-stderr mz-speedup $OLMOE -c 32 -g 8 -S topology.expert_chiplets=16
    [ -z "$output" ]
    [[ "$stderr" == *"topology.expert_chiplets"* ]]
}

@test "mz-speedup: a failing stage exits 1 naming the field, once, and prints no table" {
    run -1 --separate-stderr mz-speedup $OLMOE -S memory.bandwidth_GBps=-1
    [ -z "$output" ]
    [[ "$stderr" == *"memory.bandwidth_GBps"* ]]
    # four mz-cost runs refuse the wafer; the message appears once
    [ "$(printf '%s\n' "$stderr" | grep -c memory.bandwidth_GBps)" -eq 1 ]
    run -1 --separate-stderr mz-speedup $OLMOE -S 'links.wire_GBps=fast'
    [ -z "$output" ]
    [[ "$stderr" == *"links.wire_GBps"* ]]
    # a layer alone is not a wafer
    run -1 --separate-stderr mz-speedup $OLMOE -w mesh
    [ -z "$output" ]
    [[ "$stderr" == *"missing field"* ]]
    # a model with fewer experts than the chiplets asked for
    run -1 --separate-stderr mz-speedup -m mixtral-8x7b -n 1 -b 4 -L 16 -c 16
    [ -z "$output" ]
    [[ "$stderr" == *"16 chiplets for 8 experts"* ]]
}

@test "mz-speedup: writing to /dev/full exits 1; a closed pipe is a quiet exit" {
    run -1 --separate-stderr sh -c "mz-speedup $OLMOE > /dev/full"
    [[ "$stderr" == *"mz-speedup: standard output: write error"* ]]
    run --separate-stderr sh -c "mz-speedup $OLMOE | head -n 2 | tail -n 1"
    assert_output "$(printf 'model\tvariant\tlatency_s\tnormalized\tspeedup\tct')"
    [ -z "$stderr" ]
}

@test "mz-speedup: a config.json by path; the model is named after its directory" {
    mkdir mine
    cp "$TOP/models/olmoe-1b-7b-0924.json" mine/config.json
    run -0 --separate-stderr mz-speedup -m mine/config.json -n 1 -b 4 -L 64
    [ "${#lines[@]}" -eq 6 ]
    [ "$(printf '%s\n' "${lines[@]:2}" | cut -f 1 | sort -u)" = mine ]
}

# ---------------------------------------------------------------- issue 15: the user's model, prior and routes

@test "mz-speedup: the chiplets follow the model: Mixtral's 8 experts on 8 chiplets in 4 groups, without -c" {
    run -0 --separate-stderr mz-speedup -m mixtral-8x7b -n 1 -b 4 -L 32
    [[ "$stderr" == *"mz-speedup: the model has 8 experts: placed on 8 chiplets in 4 groups"* ]]
    [[ "${lines[0]}" == *"-S topology.expert_chiplets=8,-S topology.switches=4	wafer_from:default" ]]
    # the same table as the man page's -c 8 -g 4
    mz-speedup -m mixtral-8x7b -n 1 -b 4 -L 32 -c 8 -g 4 2> /dev/null > given.tsv
    diff <(printf '%s\n' "$output") given.tsv
    # 6 experts: 6 chiplets in 3 groups (the most up to 4 that divide them)
    sed 's/"num_local_experts": *8/"num_local_experts": 6/' "$TOP/models/mixtral-8x7b.json" > six.json
    grep -q '"num_local_experts": 6' six.json
    run -0 --separate-stderr mz-speedup -m ./six.json -n 1 -b 4 -L 16
    [[ "$stderr" == *"the model has 6 experts: placed on 6 chiplets in 3 groups"* ]]
}

@test "mz-speedup -p: a prior fitted to DeepSeek-V3's real expert loads, end to end; another prior, another table" {
    mz-fit -m deepseek-v3 -T "$TOP/traces/deepseek-v3.expert-load.json.gz" -k 1000 -i 2 -o ds.prior 2> /dev/null
    run -0 --separate-stderr mz-speedup -m deepseek-v3 -p ./ds.prior -n 1 -b 4 -L 32
    [ "${#lines[@]}" -eq 6 ]
    [[ "${lines[0]}" == *"	prior:$PWD/ds.prior	"* ]]
    mz-speedup -m deepseek-v3 -n 1 -b 4 -L 32 2> /dev/null > catalogue.tsv
    run ! diff -q <(printf '%s\n' "$output" | tail -n +2) <(tail -n +2 catalogue.tsv)
    run -1 --separate-stderr mz-speedup $OLMOE -p no-such.prior
    [ -z "$output" ]
    [[ "$stderr" == *"no-such.prior"* ]]
}

# A route log of every OLMoE layer as CSV (seq,token,layer,e1..e8), from a drawn trace.
routes_csv() {
    mz-trace -m olmoe-1b-7b-0924 -b 8 -L 16 -s 5 -t | awk -F'\t' 'BEGIN { OFS = ","; print "seq,token,layer,e1,e2,e3,e4,e5,e6,e7,e8" }
        /^@/ { next } { for (l = 4; l <= NF; l++) print "s" $1 "-" $2, $3, l - 4, $l }' > "$1"
}

@test "mz-speedup --routes: a log of every MoE layer is the trace itself (mz-import), no prior fitted" {
    routes_csv r.csv
    run -0 --separate-stderr mz-speedup -m olmoe-1b-7b-0924 --routes r.csv -b 8 -k kept
    [[ "${lines[0]}" == *"	prior:routes:$PWD/r.csv	"* ]]
    [ "${#lines[@]}" -eq 6 ]
    [[ "$stderr" != *"mz-fit"* ]]
    [ ! -e kept/routes.prior ]
    # the kept trace is the log's routes: its first token's layer-0 experts
    [ "$(mz-view -t kept/trace.mzt | grep -v '^@' | head -n 1 | cut -f 4)" = "$(sed -n 2p r.csv | cut -d, -f 4-)" ]
    mz-view -H kept/trace.mzt | grep -q '^@PG	ID:0	PN:mz-import	'
}

@test "mz-speedup --routes: a log lacking MoE layers: a prior fitted on the fly, said on stderr; --import-opt reaches mz-import" {
    run -1 --separate-stderr mz-speedup -m qwen1.5-moe-a2.7b --routes "$TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz" -n 1 -b 8 -L 64
    [ -z "$output" ]
    [[ "$stderr" == *"mz-import: "*"--drop warmup"* ]]
    [[ "$stderr" == *"mz-speedup: cannot import the route log $TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz (mz-import's options go through --import-opt"* ]]
    run -0 --separate-stderr mz-speedup -m qwen1.5-moe-a2.7b --routes "$TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz" \
        --import-opt --drop=warmup -n 1 -b 8 -L 64 -k kept
    [[ "$stderr" == *"covers MoE layers 0 of 0-23: a prior fitted to it by mz-fit draws the trace"* ]]
    [[ "${lines[0]}" == *"	prior:fitted:$TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz	"* ]]
    grep -q '^#   layer 0: measured layer 0$' kept/routes.prior
    [ -s kept/routes.mzt ]
    mz-view -H kept/trace.mzt | grep -q '^@PG	ID:0	PN:mz-trace	.*prior:'
}

@test "mz-speedup --sched-opt and --cost-opt reach every mz-sched and mz-cost; a bad one is mz-sched's error" {
    mz-speedup $OLMOE > plain.tsv
    run -0 --separate-stderr mz-speedup $OLMOE --sched-opt --prefetch=1
    if diff -q plain.tsv <(printf '%s\n' "$output") > /dev/null; then echo "the option changed nothing"; false; fi
    run -0 --separate-stderr mz-speedup $OLMOE --sched-opt --prefetch --sched-opt 1
    if diff -q plain.tsv <(printf '%s\n' "$output") > /dev/null; then echo "the option changed nothing"; false; fi
    run -0 --separate-stderr mz-speedup $OLMOE -k kept --cost-opt --timeline-steps=0-0
    python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["traceEvents"])' kept/C.timeline.json
    run -1 --separate-stderr mz-speedup $OLMOE --sched-opt --bogus
    [ -z "$output" ]
    [[ "$stderr" == *"mz-sched: "*"bogus"* ]]
    run -1 --separate-stderr mz-speedup $OLMOE --cost-opt --timeline-steps=x
    [ -z "$output" ]
    [[ "$stderr" == *"mz-cost: "* ]]
}

@test "mz-speedup: progress lines on stderr when it is a terminal only (MZ_PROGRESS overrides)" {
    run -0 on_tty "mz-speedup $OLMOE > t.tsv"
    [[ "$output" == *"mz-speedup: tracing olmoe-1b-7b-0924: 1 steps of 8 sequences of 256 tokens"* ]]
    [[ "$output" == *"mz-speedup: done in "* ]]
    [ "$(grep -vc '^#' t.tsv)" -eq 5 ]
    run -0 on_tty "MZ_PROGRESS=0 mz-speedup $OLMOE > t.tsv"
    [[ "$output" != *"tracing"* ]]
    run -0 --separate-stderr mz-speedup $OLMOE
    [[ "$stderr" != *"tracing"* ]]
    run -0 --separate-stderr env MZ_PROGRESS=1 mz-speedup $OLMOE
    [[ "$stderr" == *"mz-speedup: placing (contiguous and mozart)"* ]]
}
