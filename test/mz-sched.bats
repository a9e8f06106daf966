#!/usr/bin/env bats
# mz-sched.bats: tests of mz-sched on the hand-made placed trace test/sched-tiny.mzt and on generated traces.
load helper

TINY="$TOP/test/sched-tiny.mzt"

# The ops of a text schedule (no header, no @EOF).
ops() { grep -v '^@' "$1"; }
# Field $2 (1-based) of op id $1 of text schedule $3.
op_field() { awk -F'\t' -v id="$1" -v f="$2" '!/^@/ && $2 == id { print $f }' "$3"; }

@test "mz-sched --help prints the usage on stdout" {
    run mz-sched --help
    assert_success
    assert_line --index 0 --partial "Usage: mz-sched [-V VARIANT"
    assert_output --partial "--micro-batches"
}

@test "mz-sched --version" {
    run mz-sched --version
    assert_success
    assert_output "mz-sched (mozart-tools) 0.1.0"
}

@test "mz-sched: bad options are usage errors (exit 2)" {
    for args in "--bogus" "-V D $TINY" "-M 0 $TINY" "--slices x $TINY" "-u -t $TINY" "-V A --overlap $TINY" \
        "--prefetch 0 $TINY" "--shared-on gpu $TINY" "--order step $TINY" "--grad-buffers 2 $TINY" "$TINY $TINY"; do
        run mz-sched $args
        assert_failure 2
        assert_output --partial "Try 'mz-sched --help'"
    done
}

@test "mz-sched: Baseline quantities of the tiny trace, worked out by hand" {
    # h 4, 2 bytes; P_att = 4*4*2 + 2*4*4 + 2*4 = 72; expert 3*4*2 = 24; dense 3*4*8 = 96.
    # micro-batch 0 = sequence 0: tokens (0,1) (0,2): chiplet 0 holds experts 0 1, chiplet 1 holds 2 3
    mz-sched -V baseline -M 2 -t -o s.txt "$TINY"
    [ "$(ops s.txt | wc -l)" -eq 61 ]                           # 2 x 30 ops and the stat op
    [ "$(op_field 0 10 s.txt)" = "root_read:0=336" ]            # dense block: 2 (72 + 96)
    [ "$(op_field 1 10 s.txt)" = "root_flop:0=704" ]            # 2T P_att + causal (2+6) x 4 + 2T 96, T = 2
    [ "$(op_field 2 10 s.txt)" = "root_write:0=160" ]           # 2 T (8+8+8) + 2 T 2 x 8
    [ "$(op_field 3 10 s.txt)" = "root_read:0=176" ]            # MoE block: 2 (72 + h E)
    [ "$(op_field 4 10 s.txt)" = "root_flop:0=384" ]            # 320 + router 2 T h E
    [ "$(op_field 6 3 s.txt)" = dispatch ]
    # pairs: chiplet 0: 3, chiplet 1: 1; one copy (8 bytes) per pair, the group: their sum
    [ "$(op_field 6 10 s.txt)" = "a2a_chip:0=24,a2a_chip:1=8,a2a_group:0=32" ]
    [ "$(op_field 7 10 s.txt)" = "mem_read:0=96" ]              # hot chiplet first: 2 experts x 24 x 2 bytes
    [ "$(op_field 9 10 s.txt)" = "chip_flop:0=144,chip_sram:0=96" ] # 2 x 24 x 3 pairs
    [ "$(op_field 10 10 s.txt)" = "chip_flop:1=48,chip_sram:1=96" ]
    [ "$(op_field 11 10 s.txt)" = "mem_write:0=48" ]            # 2 (3 copies x 4 + 2 x 2 x 3)
    [ "$(op_field 14 10 s.txt)" = "root_read:0=272" ]           # backward: weights 176 + activations 96
    [ "$(op_field 20 10 s.txt)" = "chip_flop:0=288,chip_sram:0=192" ] # backward x 2
    [ "$(op_field 22 3 s.txt)" = grad_wb ]
    [ "$(op_field 28 10 s.txt)" = "root_flop:0=1408" ]
    # phases: one barrier between consecutive phases, never two ops of different phases mixed
    [ "$(op_field 7 9 s.txt)" = 8 ] && [ "$(op_field 8 9 s.txt)" = 8 ] && [ "$(op_field 9 9 s.txt)" = 9 ]
    # the stat op: 4 tokens x 1 MoE layer, 8 copies (top-2), 4 distinct groups
    [ "$(op_field 60 10 s.txt)" = "tokens:0=4,copies:0=8,group_copies:0=4" ]
}

@test "mz-sched: streaming slices count each slice's tokens, and dedup one copy per chiplet" {
    # B with 2 slices per micro-batch: slice 0 of micro-batch 0 is token (0,1), both on chiplet 0
    mz-sched -V B -M 2 --slices 2 -t -o s.txt "$TINY"
    run awk -F'\t' '!/^@/ && $3 == "dispatch" && $5 == 1 && $6 == 0 && $7 == "fwd" { print $8, $10 }' s.txt
    assert_output "0 a2a_chip:0=8,a2a_group:0=8
1 a2a_chip:0=8,a2a_chip:1=8,a2a_group:0=8"
    run awk -F'\t' '!/^@/ && $3 == "expert" && $5 == 1 && $6 == 0 && $7 == "fwd" { print $8, $10 }' s.txt
    assert_output "0 chip_flop:0=96,chip_sram:0=48
0 -
1 chip_flop:0=48,chip_sram:0=48
1 chip_flop:1=48,chip_sram:1=48"
    # dedup: copies = distinct chiplets per token: 1 + 2 + 1 + 2
    run awk -F'\t' '!/^@/ && $3 == "stat" { print $10 }' s.txt
    assert_output "tokens:0=4,copies:0=6,group_copies:0=4"
    # no barriers when streaming; every dependency is an earlier op
    run awk -F'\t' '!/^@/ && ($9 != 0 || ($11 != "-" && $11 !~ /^[0-9,]+$/)) { print }' s.txt
    assert_output ""
    run awk -F'\t' '!/^@/ && $11 != "-" { n = split($11, d, ","); for (i = 1; i <= n; i++) if (d[i] + 0 >= $2 + 0) print }' s.txt
    assert_output ""
}

@test "mz-sched: per-slice counts add up to the micro-batch's" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -u | mz-place -a mozart -u -o p.mzt
    mz-sched -V B --slices 8 -t -o s8.txt p.mzt
    mz-sched -V B --slices 1 -t -o s1.txt p.mzt
    sum() { awk -F'\t' -v k="$2" '!/^@/ && $3 == k { n = split($10, t, ","); for (i = 1; i <= n; i++) { split(t[i], q, "="); s += q[2] } } END { printf "%.0f\n", s }' "$1"; }
    [ "$(sum s8.txt expert)" = "$(sum s1.txt expert)" ]
    [ "$(sum s8.txt dispatch)" = "$(sum s1.txt dispatch)" ]
    [ "$(sum s8.txt att)" = "$(sum s1.txt att)" ]
    # 16 layers x 2 directions x 4 micro-batches x 8 slices x 16 chiplets expert ops
    [ "$(awk -F'\t' '!/^@/ && $3 == "expert"' s8.txt | wc -l)" -eq 16384 ]
}

@test "mz-sched: -V is shorthand for the flags; the @SC line records the options" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -u | mz-place -a contiguous -u -o p.mzt
    mz-sched -V B -t -o v.txt p.mzt
    mz-sched --overlap --dedup -t -o f.txt p.mzt
    cmp <(ops v.txt) <(ops f.txt)
    run grep '^@SC' f.txt
    assert_output --partial "variant:B	overlap:1	dedup:1	micro_batches:4	slices:8"
    grep -q '^@PG.*PN:mz-sched' f.txt
    grep -q '^@PT	chiplets:16	groups:4	algorithm:contiguous' f.txt
}

@test "mz-sched: Qwen3 op counts: Baseline 25,728, streaming 111,552 per step and a stat op (the model's structure)" {
    mz-trace -m qwen3-30b-a3b -n 1 -b 8 -u | mz-place -a contiguous -u -o p.mzt
    mz-sched -V baseline -t -M 4 -o b.txt p.mzt
    mz-sched -V A -t -M 4 -o a.txt p.mzt
    [ "$(ops b.txt | wc -l)" -eq 25729 ]
    [ "$(ops a.txt | wc -l)" -eq 111553 ]
}

@test "mz-sched: shared experts on chiplets 0 and 8, or on the root; the dense first layer on the root" {
    mz-trace -m deepseek-moe-16b-base -n 1 -b 4 -L 16 -u | mz-place -a contiguous -u -o p.mzt
    mz-sched -V A -M 2 -t -o c.txt p.mzt
    mz-sched -V A -M 2 --shared-on root -t -o r.txt p.mzt
    # layer 0 is dense: attention and dense FFN ops, no experts
    [ "$(awk -F'\t' '!/^@/ && $5 == 0 && $3 == "dense_ffn"' c.txt | wc -l)" -gt 0 ]
    [ "$(awk -F'\t' '!/^@/ && $5 == 0 && $3 == "expert"' c.txt | wc -l)" -eq 0 ]
    [ "$(awk -F'\t' '!/^@/ && $3 == "shared"' c.txt | wc -l)" -eq 0 ]
    [ "$(awk -F'\t' '!/^@/ && $3 == "shared"' r.txt | wc -l)" -gt 0 ]
    # on chiplets, chiplet 0 hosts 4 routed + 1 shared expert: its weights are 5 experts'
    w=$(awk -F'\t' '!/^@/ && $5 == 1 && $3 == "load" && $10 ~ /^mem_read:0=/ { split($10, q, "="); s += q[2] } END { print s }' c.txt)
    w1=$(awk -F'\t' '!/^@/ && $5 == 1 && $3 == "load" && $10 ~ /^mem_read:1=/ { split($10, q, "="); s += q[2] } END { print s }' c.txt)
    [ "$((w * 4))" -eq "$((w1 * 5))" ]
    # the stat op's C_T excludes the shared experts: at most top-6
    run awk -F'\t' '!/^@/ && $3 == "stat" { split($10, t, ","); split(t[1], a, "="); split(t[2], b, "="); print (b[2] / a[2] == 6) }' c.txt
    assert_output 1
}

@test "mz-sched: a trace without a placement is refused" {
    run mz-sched -V A "$TOP/test/place-tiny.mzt"
    assert_failure 1
    assert_output --partial "no placement"
    assert_output --partial "mz-place"
}

@test "mz-sched: a trace of only some MoE layers is refused" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -l 0-3 -u | mz-place -a contiguous -u -o p.mzt
    run mz-sched p.mzt
    assert_failure 1
    assert_output --partial "covers 4 of the model's 16 MoE layers"
}

@test "mz-sched: more micro-batches than sequences is refused" {
    run mz-sched -M 3 "$TINY"
    assert_failure 1
    assert_output --partial "3 micro-batches but only 2 sequences"
}

@test "mz-sched: --prefetch 0 derives the depth from the wafer's SRAM" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -u | mz-place -a contiguous -u -o p.mzt
    mz-sched -V A --prefetch 0 -w wafer-olmoe-1b-7b-0924 -t -o p0.txt p.mzt
    mz-sched -V A -t -o p1.txt p.mzt
    grep -q 'prefetch:0	sram_bytes:158550000' p0.txt   # 70 tiles x 2.265 MB
    ! cmp -s <(ops p0.txt) <(ops p1.txt)
    mz-sched -V A --order layer -t -o l.txt p.mzt
    grep -q 'order:layer' l.txt
}

@test "mz-sched: '-' reads stdin; plain, gzip, binary and text traces give the same schedule" {
    mz-sched -V A -M 2 -t -o a.txt "$TINY"
    gzip -c "$TINY" > tiny.mzt.gz
    mz-sched -V A -M 2 -t -o b.txt tiny.mzt.gz
    mz-sched -V A -M 2 -t - < "$TINY" > c.txt
    mz-place -R <(printf 'layer\texpert\tchiplet\tgroup\n1\t0\t0\t0\n1\t1\t0\t0\n1\t2\t1\t0\n1\t3\t1\t0\n') -c 2 -g 1 -o bin.mzt "$TINY"
    mz-sched -V A -M 2 -t -o d.txt bin.mzt
    cmp <(ops a.txt) <(ops b.txt)
    cmp <(ops a.txt) <(ops c.txt)
    cmp <(ops a.txt) <(ops d.txt)
}

@test "mz-sched: binary and text schedules hold the same records" {
    mz-sched -V B -M 2 -u -o s.mzs "$TINY"
    mz-sched -V B -M 2 -t -o s.txt "$TINY"
    mz-sched -V B -M 2 -o s.mzs.gz "$TINY"
    [ "$(mz-cost -w "$TOP/test/tiny.wafer" s.mzs)" = "$(mz-cost -w "$TOP/test/tiny.wafer" s.txt | sed 's/s.txt/s.mzs/')" ]
    [ "$(mz-cost -w "$TOP/test/tiny.wafer" s.mzs.gz | sed 's/s.mzs.gz/s.mzs/')" = "$(mz-cost -w "$TOP/test/tiny.wafer" s.mzs)" ]
}

@test "mz-sched: a truncated trace is an error (exit 1) and writes nothing" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -u | mz-place -a contiguous -u -o p.mzt
    head -c 30000 p.mzt > cut.mzt
    run mz-sched -o out.mzs cut.mzt
    assert_failure 1
    assert_output --partial "truncated"
    [ ! -e out.mzs ]
}

@test "mz-sched: binary output to a terminal is refused" {
    run on_tty mz-sched -M 2 "$TINY"
    assert_output --partial "refusing to write binary data to a terminal"
    assert_output --partial "rc=1"
}

@test "mz-sched: writing to /dev/full exits 1" {
    run mz-sched -M 2 -t -o /dev/full "$TINY"
    assert_failure 1
    assert_output --partial "No space left on device"
}

@test "mz-sched: the man page examples run" {
    while IFS= read -r cmd; do
        run sh -c "$cmd"
        [ "$status" -eq 0 ] || { echo "failed: $cmd: $output"; return 1; }
    done < <(man_examples mz-sched)
    [ -s C.mzs ]
}
