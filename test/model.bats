#!/usr/bin/env bats
# model.bats: properties of the timing model (mz-model(7)): latency never rises when hardware
# gets faster (section 6.2), on every variant of the three paper models, HBM2 and SSD; the
# footprint against capacity (section 5); shared experts (section 4.5); the model's documents.
load helper

MODELS="qwen3-30b-a3b olmoe-1b-7b-0924 deepseek-moe-16b-base"

# One step of each model (seed 1, the shipped priors), placed and scheduled for the four
# variants on its own wafer; a targets file (no targets) listing the 12 schedules on HBM2
# and the 4 of Qwen3 on the SSD design, for test/model-sweep.
setup_file() {
    local d=$BATS_FILE_TMPDIR m v in
    export SW=$d/rows.tsv
    printf 'name\tschedule\twafer\treference\ttarget\ttolerance\n' > "$SW"
    for m in $MODELS; do
        mz-trace -m $m -n 1 -s 1 -u -o "$d/$m.mzt" || return 1
        mz-place -a contiguous -u -o "$d/$m.contiguous.mzt" "$d/$m.mzt" || return 1
        mz-place -a mozart -u -o "$d/$m.mozart.mzt" "$d/$m.mzt" || return 1
        for v in baseline A B C; do
            in=$d/$m.contiguous.mzt
            [ $v = C ] && in=$d/$m.mozart.mzt
            mz-sched -V $v -w wafer-$m -o "$d/$m.$v.mzs" "$in" || return 1
            printf '%s.%s\t%s.%s.mzs\twafer-%s\t-\t-\t-\n' $m $v $m $v $m >> "$SW"
        done
    done
    for v in baseline A B C; do
        printf 'qwen3-ssd.%s\tqwen3-30b-a3b.%s.mzs\twafer-qwen3-30b-a3b,ssd\t-\t-\t-\n' $v $v >> "$SW"
    done
}

sweep() {
    run "$TOP/test/model-sweep" "$SW" "$@"
}

# sweep_ok up|down FIELD V...: the sweep passes and every value was timed on every row
sweep_ok() {
    local n=$(($# - 2))
    sweep "$@"
    assert_success
    assert_line "points:$n rows:16"
}

# awk 'BEGIN {...}' printing a list of values
values() {
    awk "BEGIN { $1 }"
}

@test "model: DRAM bandwidth 64-1024 GB/s, fine steps through 170-180, never raises a latency (16 schedules)" {
    sweep_ok up memory.bandwidth_GBps 64 96 128 $(values 'for (v = 160; v <= 190; v += 0.5) print v') 200 256 384 512 768 1024
}

@test "model: SSD-class bandwidth 2-64 GB/s (15.8 among them) never raises a latency" {
    sweep_ok up memory.bandwidth_GBps $(values 'for (v = 2; v < 15; v += 1) print v; for (v = 15; v <= 17; v += 0.1) print v; print 32; print 64')
}

@test "model: chiplet links of 500-8000 wires (1023 and 1024 among them) never raise a latency" {
    # Qwen3's chiplet edge: sqrt(100 tiles x 7.568 mm2) = 27.51 mm; wires = edge x wires_per_mm
    sweep_ok up links.wires_per_mm $(values 'e = sqrt(756.8); for (w = 500; w < 1000; w += 50) print w / e;
        for (w = 1000; w <= 1050; w++) print w / e; for (w = 1100; w <= 8000; w *= 1.25) print w / e')
    sweep_ok up links.wire_GBps 0.01 0.05 0.1 0.124 0.125 0.126 0.2 0.5 1 4
}

@test "model: the replacement of utilisation (SRAM port, its efficiency, the clock) never raises a latency" {
    sweep_ok up sram.efficiency $(values 'for (v = 0.05; v <= 1.0001; v += 0.05) print v')
    sweep_ok up sram.tile_GBps 1 2 4 8 16 31 32 33 64 128 1024
    sweep_ok up compute.clock_GHz 0.25 0.5 0.75 0.99 1 1.01 1.5 2 4
}

@test "model: the dispatcher, the stacks' efficiency, the tile area and the spill tier never raise a latency" {
    sweep_ok up root.dispatch_Bpc $(values 'for (v = 1; v <= 1024; v *= 1.2) print v; for (v = 16; v <= 17; v += 0.05) print v' | sort -g)
    sweep_ok up memory.efficiency $(values 'for (v = 0.1; v <= 1.0001; v += 0.1) print v')
    sweep_ok up compute.tile_mm2 2 4 7 7.568 8 12 20
    # Qwen3's design does not fit its HBM: enforced, the excess goes to the spill tier
    sweep_ok up spill.bandwidth_GBps 1 2 4 8 16 32 64 128 256 1024
}

@test "model: hop latency and wider stack interfaces (less root shoreline) never lower a latency" {
    sweep_ok down links.hop_latency_ns 0 1 2 5 10 100 1000
    # up to OLMoE's limit: 4 x 23.1 mm less 2 x 44 mm leaves 1 mm per root link
    sweep_ok down memory.phy_mm 0 1 2 4 7.75 10 20 30 40 44
}

@test "model: the sweep catches a rise, and refuses values that do not rise" {
    sweep down memory.bandwidth_GBps 128 256
    assert_failure
    assert_output --regexp 'memory.bandwidth_GBps 128 -> 256 lowers the latency: [0-9.]+ -> [0-9.]+ s'
    sweep up memory.bandwidth_GBps 256 128
    [ "$status" -eq 2 ]
    assert_output --partial "the values must rise"
    sweep up memory.bandwith_GBps 1
    assert_failure
    assert_output --partial "unknown wafer field 'memory.bandwith_GBps'"
}

@test "model: no latency is nan, inf or zero at the edges of every field (all 16 schedules)" {
    for fv in memory.bandwidth_GBps:1e-3 memory.bandwidth_GBps:1e9 links.wire_GBps:1e-6 links.wires_per_mm:1e6 \
        root.dispatch_Bpc:1e-3 root.dispatch_Bpc:1e9 compute.clock_GHz:1e-3 sram.efficiency:1e-6 \
        memory.phy_mm:1e6 links.hop_latency_ns:1e9 spill.bandwidth_GBps:1e-6; do
        sweep up "${fv%%:*}" "${fv#*:}"
        # a rate that reaches 0 (no shoreline left) is an error, never an infinite latency
        if [ "$status" -ne 0 ]; then refute_output --partial "not finite"; fi
        refute_output --regexp '(nan|inf)'
    done
}

@test "model: a root link of less than one wire is refused by mz-cost, not timed as infinite" {
    # Qwen3: 4 x 27.51 mm = 110 mm of perimeter less 2 x 55 mm: nothing for 4 links
    run mz-cost -w wafer-qwen3-30b-a3b -S memory.phy_mm=55 "$BATS_FILE_TMPDIR/qwen3-30b-a3b.A.mzs"
    [ "$status" -eq 1 ]
    assert_output --regexp '^mz-cost: -S memory.phy_mm=55: the attention chiplet.s 110 mm perimeter less 2 stack interfaces of 55 mm leaves'
    refute_output --regexp '\b(nan|inf)\b'
    # 54.9 mm leaves 0.05 mm, one wire per link: timed
    run mz-cost -w wafer-qwen3-30b-a3b -S memory.phy_mm=54.9 -o lat.tsv "$BATS_FILE_TMPDIR/qwen3-30b-a3b.A.mzs"
    assert_success
    run mz-cost -w wafer-qwen3-30b-a3b -S links.wires_per_mm=0.01 "$BATS_FILE_TMPDIR/qwen3-30b-a3b.A.mzs"
    [ "$status" -eq 1 ]
}

@test "model: Qwen3 on the paper's design does not fit its HBM: mz-cost says where, --strict exits 1" {
    run mz-cost -w wafer-qwen3-30b-a3b -F fp.tsv -o lat.tsv "$BATS_FILE_TMPDIR/qwen3-30b-a3b.baseline.mzs"
    assert_success
    assert_output --partial "warning: the step does not fit the wafer"
    assert_output --partial "group DRAM: 4 of 4 over capacity"
    assert_output --partial "timed as if it fit (spill.bandwidth_GBps = 0: capacity not enforced)"
    [ "$(awk -F'\t' '$1 == "step" {for (i = 1; i <= NF; i++) if ($i == "fits") k = i} $1 == "mean" {print $k}' lat.tsv)" = 0 ]
    # 48 layers x 128 experts x 3 x 2048 x 768 x 2 B = 57.98 GB of expert weights over 4 groups
    awk -F'\t' '$1 == "D0" {exit !($4 > 14.4e9 && $4 < 14.6e9 && $10 == 0)}' fp.tsv
    run mz-cost --strict -w wafer-qwen3-30b-a3b -o lat.tsv "$BATS_FILE_TMPDIR/qwen3-30b-a3b.baseline.mzs"
    [ "$status" -eq 1 ]
    assert_output --partial "does not fit"
    # on SSDs (1 TB per device) the same schedule fits
    run mz-cost --strict -w wafer-qwen3-30b-a3b -w ssd -o lat.tsv "$BATS_FILE_TMPDIR/qwen3-30b-a3b.baseline.mzs"
    assert_success
}

@test "model: Kimi-K2 (about 2 TB of experts) is reported as not fitting, not timed in silence" {
    run mz-speedup -m "$TOP/test/data/kimi-k2-instruct.json" -n 1
    assert_output --partial "does not fit"
    refute_output --regexp '\b(nan|inf)\b'
    run mz-speedup -m "$TOP/test/data/kimi-k2-instruct.json" -n 1 --strict
    [ "$status" -eq 1 ]
}

@test "model: Qwen2-57B-A14B (one 20480-wide shared expert): Mozart-C is not slower than Mozart-B" {
    run mz-speedup -m "$TOP/test/data/qwen2-57b-a14b.json"
    assert_success
    b=$(printf '%s\n' "$output" | awk -F'\t' '$2 == "Mozart-B" {print $3}')
    c=$(printf '%s\n' "$output" | awk -F'\t' '$2 == "Mozart-C" {print $3}')
    [ -n "$b" ] && [ -n "$c" ]
    awk -v b="$b" -v c="$c" 'BEGIN {exit !(c <= b)}'
}

@test "model: the calibrated constant sits inside the plausible range its file states" {
    line=$(grep '^dispatch_Bpc' "$TOP/models/calibrated.wafer")
    v=$(printf '%s\n' "$line" | awk '{print $3}')
    lo=$(printf '%s\n' "$line" | sed -n 's/.*plausible \([0-9.]*\)-\([0-9.]*\).*/\1/p')
    hi=$(printf '%s\n' "$line" | sed -n 's/.*plausible \([0-9.]*\)-\([0-9.]*\).*/\2/p')
    [ -n "$lo" ] && [ -n "$hi" ]
    awk -v v="$v" -v lo="$lo" -v hi="$hi" 'BEGIN {exit !(v >= lo && v <= hi)}'
    # and the fit's default range is the file's
    run mz-cost --help
    assert_output --partial "[root.dispatch_Bpc=$lo:$hi]"
}

@test "model: mz-model(7) and mzs(5) document every wafer field, and the tree cites no file outside it" {
    n=0
    for f in $(sed -n 's/^ *{"\([a-z_]*\.[a-zA-Z_]*\)", F_.*/\1/p' "$TOP/lib/wafer.c"); do
        grep -q "^$f\b" <(sed 's/, /\n/g' "$TOP/lib/mz-model.7") || { echo "mz-model.7 lacks $f"; false; }
        grep -q "${f#*.}" "$TOP/lib/mzs.5" || { echo "mzs.5 lacks $f"; false; }
        n=$((n + 1))
    done
    [ "$n" -ge 28 ]
    run grep -rln --exclude-dir=.git --exclude='*.o' --exclude='*.a' --exclude=model.bats 'SPEC\.md\|MODEL\.md' "$TOP"
    assert_output ""
}
