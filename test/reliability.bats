#!/usr/bin/env bats
# reliability.bats: issue 14's classes, one test (or a few) per class: a file changing between two
# passes, runs sharing a directory, library aborts, integer overflow, writing what no reader reads,
# name resolution, locale, small inputs that ask for huge work.
load helper
bats_require_minimum_version 1.5.0

# Wait until process $1 has read file $2 to its end (its first pass), by its
# descriptors' offsets in /proc; fails after 20 s or when the process ends.
wait_read_to_end() {
    local pid=$1 file=$2 size fd pos i
    size=$(file_size "$file")
    file=$(readlink -f "$file")
    for i in $(seq 2000); do
        [ -d "/proc/$pid" ] || return 1
        for fd in /proc/"$pid"/fd/*; do
            [ "$(readlink "$fd" 2>/dev/null)" = "$file" ] || continue
            pos=$(sed -n 's/^pos:[[:space:]]*//p' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null)
            [ "$pos" = "$size" ] && return 0
        done
        sleep 0.01
    done
    return 1
}

# ---------------------------------------------------------------- 1. a file that changes between two passes

# mz-place -a ctswap on an uncompressed trace file reads it twice; --kicks
# makes the placement between the passes last about a second.
PLACE2="-a ctswap --kicks 600 -u"

@test "class 1: mz-place: a trace replaced (mv) between its two passes is read as it was: same output, exit 0" {
    mz-trace -m qwen3-30b-a3b -n 1 -b 8 -L 32 -u -o x.mzt
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -L 32 -u -o other.mzt
    cp x.mzt in.mzt
    mz-place $PLACE2 -o out.mzt in.mzt
    mv out.mzt want.mzt
    mz-place $PLACE2 -o out.mzt in.mzt 2> err.txt &
    pid=$!
    wait_read_to_end $pid in.mzt
    mv other.mzt in.mzt
    st=0; wait $pid || st=$?
    cat err.txt
    [ "$st" -eq 0 ]
    cmp want.mzt out.mzt
}

@test "class 1: mz-place: a trace rewritten in place between its passes is refused, exit 1, no output" {
    mz-trace -m qwen3-30b-a3b -n 1 -b 8 -L 32 -u -o x.mzt
    # the same header, one record changed: its two experts of layer 0 swapped
    mz-view -t x.mzt | awk -F'\t' -v OFS='\t' '!/^@/ && !done {split($4, a, ","); t = a[1]; a[1] = a[2]; a[2] = t;
        s = a[1]; for (i = 2; i in a; i++) s = s "," a[i]; $4 = s; done = 1} {print}' | mz-view -b -u -o same-header.mzt -
    [ "$(mz-view -H x.mzt)" = "$(mz-view -H same-header.mzt)" ]
    if cmp -s x.mzt same-header.mzt; then echo "expected it to fail: cmp -s x.mzt same-header.mzt"; false; fi
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -L 32 -u -o other.mzt
    for repl in other.mzt:"its header differs from the one read first" \
        same-header.mzt:"record 1 differs from the one read first"; do
        cp x.mzt in.mzt
        rm -f out.mzt
        mz-place $PLACE2 -o out.mzt in.mzt 2> err.txt &
        pid=$!
        wait_read_to_end $pid in.mzt
        cat "${repl%%:*}" > in.mzt # the same file, new bytes
        st=0; wait $pid || st=$?
        [ "$st" -eq 1 ]
        run cat err.txt
        assert_output "mz-place: in.mzt: changed while being read: ${repl#*:}"
        [ ! -e out.mzt ]
        [ -z "$(ls | grep tmp)" ]
    done
}

# ---------------------------------------------------------------- 2. runs sharing a directory

@test "class 2: two mz-speedup -k DIR runs at once never mix: each table as alone, DIR holds one whole run" {
    local q="-m qwen3-30b-a3b -n 1 -b 8 -L 32" o="-m olmoe-1b-7b-0924 -n 1 -b 8 -L 32" i f
    mz-speedup $q > q.tsv
    mz-speedup $o > o.tsv
    for i in 1 2 3; do
        mz-speedup $q -k shared > q$i.tsv 2> q$i.err &
        p1=$!
        mz-speedup $o -k shared > o$i.tsv 2> o$i.err &
        p2=$!
        st=0
        wait $p1 || st=1
        wait $p2 || st=1
        cat q$i.err o$i.err
        [ "$st" -eq 0 ]
        cmp q.tsv q$i.tsv
        cmp o.tsv o$i.tsv
        # the files kept are one run's: every one names the trace's model
        model=$(mz-view -H shared/trace.mzt | sed -n 's/^@MD\tname:\([^\t]*\).*/\1/p')
        for f in contiguous clustered; do
            mz-view -H shared/$f.mzt | grep -q "^@MD	name:$model	"
        done
        for f in baseline A B C; do
            grep -q "^#mz-cost	model:$model	variant:$f	" shared/$f.cost
        done
    done
    # nothing of a run is left beside them
    [ "$(ls -A shared | sort | tr '\n' ' ')" = "$(printf '%s\n' .mz-speedup.lock trace.mzt contiguous.mzt clustered.mzt contiguous.tsv clustered.tsv \
        $(for v in baseline A B C; do echo $v.cost $v.breakdown.tsv $v.resources.tsv $v.footprint.tsv $v.timeline.json; done) | sort | tr '\n' ' ')" ]
}

# ---------------------------------------------------------------- 3. no dependency aborts the process

# A targets file for mz-cost --fit on the tiny schedule (its 2 tokens in one
# slice): row base, target $1, tolerance $2.
fit_targets() {
    mz-sched -V baseline -M 1 --slices 1 -u -o base.mzs "$TOP/test/cost-tiny.mzt"
    printf 'name\tschedule\twafer\treference\ttarget\ttolerance\nbase\tbase.mzs\t%s\t-\t%s\t%s\n' \
        "$TOP/test/tiny.wafer" "$1" "$2" > t.tsv
}

@test "class 3: mz-cost --fit: a target of 0, or 1e300 within 1e-300, is refused before fitting (exit 1, no abort)" {
    fit_targets 0 1
    run -1 --separate-stderr mz-cost -q --fit t.tsv --free root.dispatch_Bpc -o fit.tsv
    assert_equal "$stderr" "mz-cost: t.tsv: line 2: target: 0 cannot be fitted: a target must be at least 1e-09"
    [ ! -e fit.tsv ]
    fit_targets 1e300 1e-300
    run -1 --separate-stderr mz-cost -q --fit t.tsv --free root.dispatch_Bpc -o fit.tsv
    assert_equal "$stderr" "mz-cost: t.tsv: line 2: target: 1e300 cannot be fitted: a target must be at most 1e+09"
    fit_targets 100 1e-300
    run -1 --separate-stderr mz-cost -q --fit t.tsv --free root.dispatch_Bpc -o fit.tsv
    assert_equal "$stderr" "mz-cost: t.tsv: line 2: tolerance: 1e-300 is below 1e-09 of the target (100): no fit can meet it"
    [ ! -e fit.tsv ]
}

@test "class 3: mz-cost --fit --free on a field that is not a positive real number is refused, no abort" {
    fit_targets 1669 1
    for f in compute.tiles topology.kind switch.multicast; do
        run -1 --separate-stderr mz-cost -q --fit t.tsv --free $f -o fit.tsv
        assert_equal "$stderr" "mz-cost: --free $f: not a real-valued field: the fit varies real numbers only"
    done
    run -1 --separate-stderr mz-cost -q --fit t.tsv --free links.hop_latency_ns -S links.hop_latency_ns=0 -o fit.tsv
    assert_equal "$stderr" "mz-cost: --free links.hop_latency_ns: its value is 0: the fit varies positive values (in log space)"
    run -1 --separate-stderr mz-cost -q --fit t.tsv --free no.such -o fit.tsv
    assert_equal "$stderr" "mz-cost: --free no.such: unknown wafer field 'no.such'"
    [ ! -e fit.tsv ]
}

# (GSL's error handler off in mz_tool_init, which every tool calls first: test/unit-limits.c.)

# ---------------------------------------------------------------- 4. integer overflow; counts bounded before allocating

@test "class 4: mz-cost --timeline-steps 0-2147483647 or 0-100000000 is refused before allocating (exit 2)" {
    mz-sched -V baseline -M 1 --slices 1 -u -o base.mzs "$TOP/test/cost-tiny.mzt"
    for r in 0-2147483647:2147483648 0-100000000:100000001 0-9999999,0-9999999:20000000; do
        run -2 --separate-stderr mz-cost -w "$TOP/test/tiny.wafer" -T tl.json --timeline-steps "${r%%:*}" base.mzs
        assert_equal "${lines[0]:-}${stderr%%$'\n'*}" "mz-cost: --timeline-steps: ${r%%:*} lists ${r#*:} values, more than 16777216"
        [ ! -e tl.json ]
    done
    # within the limit, steps past the schedule's are simply not there
    run -0 mz-cost -w "$TOP/test/tiny.wafer" -T tl.json --timeline-steps 0-1000000 base.mzs
}

# ---------------------------------------------------------------- 5. writing what no reader can read

# A text trace of one token of a model of $1 layers (all MoE) of $2 experts, top-1.
big_trace() {
    local L=$1 E=$2
    printf '@HD\tVN:1.0\tKD:trace\n'
    printf '@MD\tname:big\tlayers:%d\tmoe:0-%d\texperts:%d\tshared:0\ttopk:1\thidden:64\tffn:64\tshared_ffn:0\tdense_ffn:0\theads:1\tkv_heads:1\thead_dim:64\tvocab:100\tgroups:1\ttopk_groups:1\tgated:1\n' \
        "$L" $((L - 1)) "$E"
    printf '@TR\tsteps:1\tseqs:1\tseq_len:1\tlayers:0-%d\tweights:0\n' $((L - 1))
    awk -v L="$L" 'BEGIN {s = "0\t0\t0"; for (i = 0; i < L; i++) s = s "\t0"; print s}'
    printf '@EOF\t1\n'
}

@test "class 5: mz-place refuses to write a placement header its readers refuse (exit 1, nothing written)" {
    # 200 layers x 65,536 experts on 65,536 chiplets: @PL lines of 76 MiB
    big_trace 200 65536 > big.txt
    run -1 --separate-stderr mz-place -a contiguous -c 65536 -g 4 -u -o out.mzt big.txt
    assert_equal "$stderr" "mz-place: out.mzt: cannot write a header of 72.9 MiB (200 @PL lines take 72.9 MiB): a reader takes at most 64 MiB"
    [ ! -e out.mzt ]
    [ -z "$(ls | grep tmp)" ]
    # 512 x 65,536 on 16 chiplets: more entries than a reader's placement section takes
    big_trace 512 65536 > big.txt
    run -1 --separate-stderr mz-place -a contiguous -u -o out.mzt big.txt
    assert_equal "$stderr" "mz-place: out.mzt: cannot write a header of 76.0 MiB (512 @PL lines take 76.0 MiB): a reader takes at most 64 MiB"
    [ ! -e out.mzt ]
    # to standard output: nothing at all
    run -1 --separate-stderr sh -c 'mz-place -a contiguous -u big.txt > so.bin'
    [ "$(file_size so.bin)" -eq 0 ]
}

# (lines that would not read back, records of 0 or too many bytes: test/unit-limits.c.)

# ---------------------------------------------------------------- 6. lookups that silently pick something else

@test "class 6: files in the current directory named like catalogue entries do not replace them" {
    local run="-m olmoe-1b-7b-0924 -n 1 -b 8 -L 32 --memory ssd"
    mkdir clean
    (cd clean && mz-speedup $run > ../want.tsv)
    # a model config of other geometry, a prior, a wafer layer and the model's wafer, all named like the catalogue's
    sed 's/"num_experts_per_tok": *[0-9]*/"num_experts_per_tok": 2/' "$TOP/models/olmoe-1b-7b-0924.json" > olmoe-1b-7b-0924.json
    printf 'not a prior\n' > olmoe-1b-7b-0924.prior
    printf '[memory]\nbandwidth_GBps = 0.001\n' > ssd.wafer
    printf 'garbage\n' > wafer-olmoe-1b-7b-0924.wafer
    cp ssd.wafer mesh.wafer
    mz-speedup $run > got.tsv
    cmp want.tsv got.tsv
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 1 -L 2 -t | grep -q $'^@MD\tname:olmoe-1b-7b-0924\t.*\ttopk:8\t'
    mz-trace -m olmoe-1b-7b-0924.json -n 1 -b 1 -L 2 -t | grep -q $'^@MD\tname:olmoe-1b-7b-0924\t.*\ttopk:8\t'
    # a file is ./NAME (or any path with a '/'); the bare name says how
    mz-trace -m ./olmoe-1b-7b-0924.json -n 1 -b 1 -L 2 -t | grep -q $'^@MD\tname:olmoe-1b-7b-0924\t.*\ttopk:2\t'
    cp olmoe-1b-7b-0924.json mine.json
    run -1 --separate-stderr mz-trace -m mine.json
    [[ "$stderr" == "mz-trace: mine.json: not found in the catalogue (models/, \$MZ_MODELS or "*"); a name without '/' is a catalogue name: for the file in the current directory write ./mine.json" ]]
    run -1 --separate-stderr mz-trace -m olmoe-1b-7b-0924 -p x.prior
    [[ "$stderr" == "mz-trace: x.prior: not found in the catalogue "* ]]
    run -1 --separate-stderr mz-cost -w mesh -w ./ssd.wafer /dev/null
    [[ "$stderr" == *"missing field"* ]]
    # an include with a '/' is relative to the including file, never to the current directory
    mkdir -p w sub
    printf 'include sub/x.wafer\n' > w/a.wafer
    cp "$TOP/models/ssd.wafer" sub/x.wafer
    run -1 --separate-stderr mz-cost -w w/a.wafer /dev/null
    assert_equal "$stderr" "mz-cost: w/a.wafer: line 1: include: w/sub/x.wafer: no such file (an include with a '/' is relative to the including file)"
}

@test "class 6: what the names resolved to is in the trace's provenance (@PG) and mz-speedup's # line" {
    local R
    R=$(readlink -f "$TOP")
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 1 -L 2 -t > t.txt
    grep -q $'^@PG\tID:0\tPN:mz-trace\tVN:0.1.0\tmodel:'"$R"$'/models/olmoe-1b-7b-0924.json\tprior:'"$R"$'/models/olmoe-1b-7b-0924.prior\tCL:[^\t]*mz-trace -m olmoe-1b-7b-0924 -n 1 -b 1 -L 2 -t$' t.txt
    # passed on by every tool after it
    mz-place -a contiguous -t t.txt | grep -q $'^@PG\tID:0\tPN:mz-trace\tVN:0.1.0\tmodel:'
    mkdir x
    cp "$TOP/models/qwen1.5-moe-a2.7b.json" x/config.json
    mz-import -m ./x/config.json --drop warmup -t "$TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz" 2> /dev/null |
        grep -q $'^@PG\tID:0\tPN:mz-import\tVN:0.1.0\tmodel:'"$(readlink -f x/config.json)"$'\tCL:'
    mkdir -p some/dir
    cp "$R/models/olmoe-1b-7b-0924.json" some/dir/config.json
    run -0 --separate-stderr mz-speedup -m "$PWD/some/dir/config.json" -n 1 -b 8 -L 32
    assert_equal "${lines[0]}" "$(printf '#mz-speedup\tmodel:dir\tconfig:%s\tprior:built-in\twafer:%s,%s,%s\twafer_from:default' \
        "$PWD/some/dir/config.json" "$R/models/wafer-qwen3-30b-a3b.wafer" "$R/models/calibrated.wafer" "$R/models/tech-28nm.wafer")"
    assert_equal "$stderr" "mz-speedup: -m $PWD/some/dir/config.json is a path, not a catalogue name: costed on the default wafer wafer-qwen3-30b-a3b (-w chooses one)"
    run -0 --separate-stderr mz-speedup -m olmoe-1b-7b-0924 -n 1 -b 8 -L 32 -w wafer-olmoe-1b-7b-0924 -S root.dispatch_Bpc=16
    assert_equal "${lines[0]}" "$(printf '#mz-speedup\tmodel:olmoe-1b-7b-0924\tconfig:%s\tprior:%s\twafer:%s,%s,%s,-S root.dispatch_Bpc=16\twafer_from:-w' \
        "$R/models/olmoe-1b-7b-0924.json" "$R/models/olmoe-1b-7b-0924.prior" "$R/models/wafer-olmoe-1b-7b-0924.wafer" "$R/models/calibrated.wafer" \
        "$R/models/tech-28nm.wafer")"
    [ -z "$stderr" ]
}

# ---------------------------------------------------------------- 8. small inputs that ask for huge work

# A config.json of the OLMoE geometry with $2 layers of $3 experts, top-$4, in directory $1.
config() {
    mkdir -p "$1"
    sed -e "s/\"num_hidden_layers\": *[0-9]*/\"num_hidden_layers\": $2/" -e "s/\"num_experts\": *[0-9]*/\"num_experts\": $3/" \
        -e "s/\"num_experts_per_tok\": *[0-9]*/\"num_experts_per_tok\": $4/" "$TOP/models/olmoe-1b-7b-0924.json" > "$1/config.json"
}

# Run "$@" within $1 seconds and (unless the tools are built with ASan, which
# maps terabytes of shadow memory) 4 GiB of address space; the status is the command's.
bounded() {
    local secs=$1
    shift
    if ldd "$TOP/bin/mz-trace" | grep -q asan; then
        timeout "$secs" "$@"
    else
        (ulimit -v 4194304 && timeout "$secs" "$@")
    fi
}

@test "class 8: mz-trace with num_experts = num_experts_per_tok = 65536: a token-layer in well under a second" {
    config e 1 65536 65536
    SECONDS=0
    bounded 20 mz-trace -m e/config.json -n 1 -b 1 -L 2 -u -o t.mzt
    [ "$SECONDS" -le 5 ]
    # every expert once per token
    run -0 sh -c "mz-view -t t.mzt | awk -F'\t' '!/^@/ {n = split(\$4, a, \",\"); delete s; for (i = 1; i <= n; i++) s[a[i]]; c = 0; for (x in s) c++; print n, c}'"
    assert_output $'65536 65536\n65536 65536'
}

@test "class 8: a config of 4096 layers x 65536 experts is refused before allocating, saying what it asks for" {
    config big 4096 65536 8
    run -1 --separate-stderr bounded 20 mz-trace -m big/config.json -n 1 -b 1 -L 1 -o t.mzt
    assert_equal "$stderr" "mz-trace: big/config.json: the routing prior (4096 MoE layers) and the generator's tables (4096 traced) of 65536 experts would take 13.4 GiB, more than the limit of 2 GiB: the prior covers every MoE layer: a config with fewer MoE layers or experts"
    [ ! -e t.mzt ]
    config mid 768 65536 8
    run -1 --separate-stderr bounded 20 mz-trace -m mid/config.json -n 1 -b 1 -L 1 -o t.mzt
    assert_equal "$stderr" "mz-trace: mid/config.json: the routing prior (768 MoE layers) and the generator's tables (768 traced) of 65536 experts would take 2.5 GiB, more than the limit of 2 GiB: trace fewer layers (-l LAYERS) or a model with fewer experts"
    # a smaller model, one layer traced: fine
    config small 64 65536 8
    bounded 20 mz-trace -m small/config.json -l 7 -n 1 -b 1 -L 1 -u -o t.mzt
}

@test "class 8: mz-stat refuses co-activation tables past the limit before allocating; mz-place counts them sparsely" {
    config e 1 16384 8
    mz-trace -m e/config.json -n 1 -b 1 -L 1 -u -o t.mzt
    run -1 --separate-stderr bounded 20 mz-stat t.mzt
    assert_equal "$stderr" "mz-stat: co-activation counts for 1 layer x 16384 experts (20 bytes per pair of experts and layer) would take 7.0 GiB, more than the limit of 2 GiB: measure fewer layers (mz-view -l LAYERS | mz-stat) or a model with fewer experts"
    # mz-place's dense table would take 2.5 GiB: past 64 MiB it keeps only the pairs the trace has
    run -0 --separate-stderr bounded 20 mz-place -a mozart -c 16 -g 4 -u -o out.mzt t.mzt
    [ -z "$stderr" ]
    mz-view -H out.mzt | grep -q $'^@PA\talgorithm:mozart\t'
    [ "$(mz-view -H out.mzt | grep -c '^@PL')" -eq 1 ]
    # an algorithm that learns nothing needs no such table
    bounded 20 mz-place -a contiguous -u -o out.mzt t.mzt
}

@test "class 8: wafer includes that fan out (each file includes the next ten times) stop at 256 loads" {
    local i j
    cp "$TOP/models/ssd.wafer" f14.wafer
    for i in $(seq 0 13); do
        for j in $(seq 10); do echo "include f$((i + 1)).wafer"; done > f$i.wafer
    done
    [ "$(cat f*.wafer | wc -c)" -lt 4000 ]
    SECONDS=0
    run -1 --separate-stderr bounded 20 mz-cost -w wafer-olmoe-1b-7b-0924 -w ./f0.wafer /dev/null
    [[ "$stderr" == "mz-cost: ./f"*".wafer: one wafer loads more than 256 files (includes of includes counted; this one again through ./f"*".wafer): include each file once" ]]
    [ "$SECONDS" -le 5 ]
    # a wide but small graph is fine: 3 x 3 includes
    for i in 0 1; do for j in 1 2 3; do echo "include g$((i + 1)).wafer"; done > g$i.wafer; done
    cp "$TOP/models/ssd.wafer" g2.wafer
    mz-sched -V baseline -M 1 --slices 1 -u -o base.mzs "$TOP/test/cost-tiny.mzt"
    run -0 mz-cost -w "$TOP/test/tiny.wafer" -w ./g0.wafer base.mzs
}
