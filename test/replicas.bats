#!/usr/bin/env bats
# replicas.bats: extra copies of hot experts (mz-place --replicas, -a eplb): round trips, capacity, the token split, the timing.
load helper
bats_require_minimum_version 1.5.0

TINY="$TOP/test/place-tiny.mzt"

# A column of a report's all row, by header name.
col() { awk -F'\t' -v c="$1" '/^#/ {next} !h {for (i = 1; i <= NF; i++) if ($i == c) k = i; h = 1; next} $1 == "all" {print $k}' "$2"; }
# The placement lines of a trace's header.
placed() { mz-view -H "$1" | grep -E $'^@P[LR]\t'; }
# A wafer layer with an SRAM large enough that no copy is refused for it.
big_sram() { printf '[sram]\ntile_MB = 100\n' > big.wafer; }

@test "replicas: bad options are usage errors" {
    run -2 mz-place --replicas 2 -o /dev/null "$TINY"
    assert_output --partial "--replicas places copies where the wafer's SRAM and DRAM hold them: give the wafer with -w"
    run -2 mz-place -w wafer-qwen3-30b-a3b -o /dev/null "$TINY"
    assert_output --partial "-w and -S give the wafer of -a latency or --replicas"
    run -2 mz-place --replicas -1 -w wafer-qwen3-30b-a3b -o /dev/null "$TINY"
    mz-place -a contiguous -c 4 -g 2 -W p.tsv -o /dev/null "$TINY"
    run -2 mz-place -R p.tsv --replicas 2 -w wafer-qwen3-30b-a3b -o /dev/null "$TINY"
    assert_output --partial "--read-placement excludes --replicas"
}

@test "replicas: --replicas copies the hottest experts, and the placement round-trips through -W/-R (tsv, sglang, eplb)" {
    mz-trace -m qwen3-30b-a3b -n 2 -b 8 -L 64 -u -o q.mzt
    mz-place -a mozart --replicas 4 -w wafer-qwen3-30b-a3b -r a.tsv -W a.place.tsv -u -o a.mzt q.mzt 2> err.txt
    # four copies in every layer, announced in @PA
    [ "$(placed a.mzt | grep -c '^@PR')" -eq 48 ]
    placed a.mzt | awk -F'\t' '/^@PR/ { if (split($3, c, ",") != 4) bad = 1 } END { exit bad }'
    mz-view -H a.mzt | grep -q $'^@PA\talgorithm:mozart\t.*\treplicas:192\treplicas_asked:192\tsplit:round-robin$'
    # the first copy goes to the layer's hottest expert (its highest load per copy)
    mz-stat --loads l.tsv -o /dev/null q.mzt
    hot=$(awk -F'\t' '$1 == 0 && ($3 > m || m == "") { m = $3; e = $2 } END { print e }' l.tsv)
    placed a.mzt | grep $'^@PR\tlayer:0\t' | grep -Eq "[:,]$hot="
    # the split lowers the busiest chiplet's load
    mz-place -a mozart -r m.tsv -o /dev/null q.mzt
    awk -v a="$(col max_chiplet_load_over_mean a.tsv)" -v m="$(col max_chiplet_load_over_mean m.tsv)" 'BEGIN { exit !(a < m) }'
    # TSV: the copies are further rows, announced by the #placement line
    head -n 1 a.place.tsv | grep -q $'\treplicas:192$'
    [ "$(grep -vc '^#' a.place.tsv)" -eq $((1 + 48 * 128 + 192)) ]
    mz-place -R a.place.tsv -r b.tsv -u -o b.mzt q.mzt
    diff <(placed a.mzt) <(placed b.mzt)
    diff <(grep -v '^#' a.tsv | cut -f 1,5-13) <(grep -v '^#' b.tsv | cut -f 1,5-13)
    mz-view -H b.mzt | grep -q $'^@PA\talgorithm:file\treplicas:192\tsplit:round-robin$'
    # maps hold copies when every chiplet has as many (as eplb's 128 + 16 slots on 16 chiplets)
    mz-place -a eplb --replicas 16 -w wafer-qwen3-30b-a3b -r c.tsv -u -o c.mzt q.mzt 2> /dev/null
    for f in sglang eplb; do
        mz-place -a eplb --replicas 16 -w wafer-qwen3-30b-a3b -W c.$f --format $f -o /dev/null q.mzt 2> /dev/null
        run -0 --separate-stderr mz-place -R c.$f -r d.$f.tsv -u -o d.mzt q.mzt
        [[ "$stderr" == *"c.$f: 768 replicas (extra copies of "*" experts in 48 layers), kept in @PR lines and costed"* ]]
        diff <(placed c.mzt) <(placed d.mzt)
        diff <(grep -v '^#' c.tsv | cut -f 1,5-13) <(grep -v '^#' d.$f.tsv | cut -f 1,5-13)
    done
    # 17 copies on 16 chiplets: not every rank has as many slots; vLLM holds no copies
    run -1 mz-place -a mozart --replicas 4 -w wafer-qwen3-30b-a3b -W x.json --format eplb -o /dev/null q.mzt
    assert_output --partial "copies, chiplet 0 "
    assert_output --partial "eplb maps need the same number of slots on every rank"
    [ ! -e x.json ]
    run -1 mz-place -a mozart --replicas 4 -w wafer-qwen3-30b-a3b -W x.json --format vllm -o /dev/null q.mzt
    assert_output --partial "192 replicas: a vllm map (expert_to_ep_rank) holds one copy per expert"
}

@test "replicas: a copy that does not fit the wafer is not placed, and mz-place says so" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 64 -u -o o.mzt
    # OLMoE's design holds two blocks of weights, backward with their gradients, at 99% of its SRAM:
    # one more expert on a chiplet would cost the schedule its double buffering, so no copy fits
    run -0 --separate-stderr mz-place -a mozart --replicas 8 -w wafer-olmoe-1b-7b-0924 -u -o a.mzt o.mzt
    [[ "$stderr" == *"--replicas 8: 0 of the 128 copies asked for placed (16 of 16 layers short): 128 did not fit (a chiplet's SRAM: 128, a group's DRAM: 0) and are not placed"* ]]
    if mz-view -H a.mzt | grep -q '^@PR'; then false; fi
    mz-view -H a.mzt | grep -q $'\treplicas:0\treplicas_asked:128\t'
    # with a larger SRAM they fit
    big_sram
    mz-place -a mozart --replicas 8 -w wafer-olmoe-1b-7b-0924 -w ./big.wafer -u -o b.mzt o.mzt
    [ "$(mz-view -H b.mzt | grep -c '^@PR')" -eq 16 ]
    # a group DRAM that is enforced (a spill tier) and holds 3.4 GB: the 16 layers' 64 experts of
    # P_e b = 3 x 2048 x 1024 x 2 = 12.58 MB take 3.221 GB per group, so (3.4 - 3.221) / 0.01258 = 14.2:
    # 14 copies fit in each of the 4 groups, 56 in all
    printf '[memory]\ncapacity_GB = 3.4\n[spill]\nbandwidth_GBps = 10\n' > dram.wafer
    run -0 --separate-stderr mz-place -a mozart --replicas 8 -w wafer-olmoe-1b-7b-0924 -w ./big.wafer -w ./dram.wafer -u -o c.mzt o.mzt
    [[ "$stderr" == *"--replicas 8: 56 of the 128 copies asked for placed"*"72 did not fit (a chiplet's SRAM: 0, a group's DRAM: 72) and are not placed"* ]]
    [ "$(mz-view -H c.mzt | awk -F'\t' '/^@PR/ { n += split($3, c, ",") } END { print n }')" -eq 56 ]
    # and no group's weights exceed the 3.4 GB (mz-cost -F: the footprint of the schedule)
    mz-sched -V C -M 1 -w wafer-olmoe-1b-7b-0924 -w ./big.wafer -u c.mzt | mz-cost -w wafer-olmoe-1b-7b-0924 -w ./big.wafer -F f.tsv -o /dev/null - 2> /dev/null
    awk -F'\t' '$2 == "dram" && $1 != "DA" { n++; if ($4 > 3.4e9) bad = 1 } END { exit bad || n != 4 }' f.tsv
    # the paper's designs have no spill tier: the DRAM is reported, not enforced
    # (Qwen3's 48 x 128 experts of 9.4 MB, 14.5 GB per group, in 8 GB stacks)
    mz-trace -m qwen3-30b-a3b -n 1 -b 4 -L 16 -u -o q.mzt
    run -0 --separate-stderr mz-place -a mozart --replicas 2 -w wafer-qwen3-30b-a3b -u -o q.placed q.mzt
    [[ "$stderr" == *"--replicas: 96 copies placed in group DRAM already over capacity (the wafer has no spill tier: capacity reported by mz-cost, not enforced)"* ]]
    [ "$(mz-view -H q.placed | grep -c '^@PR')" -eq 48 ]
}

@test "replicas: every selection goes to exactly one copy, in turn" {
    mz-trace -m qwen3-30b-a3b -n 1 -b 4 -L 64 -u -o q.mzt
    mz-place -a mozart -u -o m.mzt q.mzt
    mz-place -a mozart --replicas 8 -w wafer-qwen3-30b-a3b -u -o r.mzt q.mzt 2> /dev/null
    # the forward expert ops' pairs, per chiplet: the same total (T k per block), spread differently
    pairs() { mz-sched -V C -t "$1" | awk -F'\t' '$3 == "expert" && $7 == "fwd" { n = split($10, t, ","); for (i = 1; i <= n; i++) if (t[i] ~ /^chip_tokens:/) { split(t[i], a, "[:=]"); s[a[2]] += a[3]; all += a[3] } }
        END { printf "%d", all; for (c = 0; c < 16; c++) printf " %d", s[c]; print "" }'; }
    m=$(pairs m.mzt)
    r=$(pairs r.mzt)
    [ "${m%% *}" -eq $((4 * 64 * 8 * 48)) ]
    [ "${r%% *}" = "${m%% *}" ]
    [ "$r" != "$m" ]
    # the split of one expert: a hand-made trace, expert 0 selected by 5 tokens, copies on chiplets 0 and 1
    printf '@HD\tVN:1.0\tKD:trace\n@MD\tname:tiny-rep\tlayers:1\tmoe:0\texperts:2\tshared:0\ttopk:1\thidden:4\tffn:2\tshared_ffn:0\tdense_ffn:0\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n@TR\tsteps:1\tseqs:1\tseq_len:6\tlayers:0\tweights:0\n@PT\tchiplets:2\tgroups:1\talgorithm:contiguous\n@PL\tlayer:0\tchiplet:0,1\n@PR\tlayer:0\tcopies:0=1\n' > h.mzt
    for t in 0 1 2 3 4; do printf '0\t0\t%d\t0\n' $t >> h.mzt; done
    printf '0\t0\t5\t1\n@EOF\t6\n' >> h.mzt
    # selections 0, 2, 4 of expert 0 (tokens 0, 2, 4) on its primary, 1 and 3 on the copy; expert 1 on chiplet 1
    mz-sched -V C -M 1 --slices 1 -t -o h.s h.mzt
    [ "$(awk -F'\t' '$3 == "expert" && $7 == "fwd" { print $10 }' h.s | paste -sd ' ')" = \
      "chip_flop:0=144,chip_tokens:0=3,chip_experts:0=1 chip_flop:1=144,chip_tokens:1=3,chip_experts:1=2" ]
}

@test "replicas: the timing on a hand-checked case (a copy of the hot expert halves its chiplet's work)" {
    # one MoE block, 2 experts of P_e = 3 h f = 24 parameters (48 bytes) on 2 chiplets, top-1; all 4 tokens select expert 0
    printf '@HD\tVN:1.0\tKD:trace\n@MD\tname:tiny-rep\tlayers:1\tmoe:0\texperts:2\tshared:0\ttopk:1\thidden:4\tffn:2\tshared_ffn:0\tdense_ffn:0\theads:1\tkv_heads:1\thead_dim:4\tvocab:10\tgroups:1\ttopk_groups:1\tgated:1\n@TR\tsteps:1\tseqs:1\tseq_len:4\tlayers:0\tweights:0\n@PT\tchiplets:2\tgroups:1\talgorithm:contiguous\n@PL\tlayer:0\tchiplet:0,1\n' > a.mzt
    for t in 0 1 2 3; do printf '0\t0\t%d\t0\n' $t >> a.mzt; done
    echo $'@EOF\t4' >> a.mzt
    sed $'/^@PL/a @PR\tlayer:0\tcopies:0=1' a.mzt > b.mzt
    for f in a b; do
        mz-sched -V C -M 1 --slices 1 -t -o $f.s $f.mzt
        mz-cost -w "$TOP/test/tiny.wafer" -o $f.cost $f.s 2> /dev/null
    done
    ops() { awk -F'\t' -v k="$2" '$3 == k { print $10 }' "$1" | paste -sd ' '; }
    # without the copy chiplet 0 runs all 4 pairs (2 x 24 x 4 FLOPs forward), chiplet 1 nothing
    [ "$(ops a.s expert)" = "chip_flop:0=192,chip_tokens:0=4,chip_experts:0=1 - chip_flop:0=384,chip_tokens:0=4,chip_experts:0=1 -" ]
    # with it, 2 pairs each; chiplet 1 loads both its experts' weights (2 x 48 bytes, a chunk each)
    [ "$(ops b.s expert)" = "chip_flop:0=96,chip_tokens:0=2,chip_experts:0=1 chip_flop:1=96,chip_tokens:1=2,chip_experts:1=1 chip_flop:0=192,chip_tokens:0=2,chip_experts:0=1 chip_flop:1=192,chip_tokens:1=2,chip_experts:1=1" ]
    [ "$(ops b.s load)" = "mem_read:0=48 mem_read:1=48 mem_read:1=48" ]
    # the update: chiplet 1 hands the copy's gradient on (P_e b_g = 48 bytes), chiplet 0 reads it, updates
    # expert 0 and writes its weights twice (its own and the copy's); chiplet 1 updates expert 1
    [ "$(ops b.s grad_wb)" = "mem_write:1=48 mem_write:0=48,mem_read:0=48,mem_write:0=48 mem_write:1=48" ]
    [ "$(ops a.s grad_wb)" = "mem_write:0=48 mem_write:1=48" ]
    # on the tiny wafer (1 FLOP-cycle per second) the expert work bounds the step: the copy shortens it
    la=$(awk -F'\t' '$1 == "mean" { print $2 }' a.cost)
    lb=$(awk -F'\t' '$1 == "mean" { print $2 }' b.cost)
    awk -v a="$la" -v b="$lb" 'BEGIN { exit !(b < a) }'
    # and the copy's weights are in the footprint: chiplet 1's SRAM and the group DRAM hold 48 bytes more
    grep -q 'foot_weights:0=144,' b.s && grep -q 'foot_weights:0=96,' a.s
}

@test "eplb: -a eplb gives the placement of test/eplb.awk (DeepSeek EPLB's policy) on a counts table" {
    # the hand-made trace: loads 3 2 2 2 3 2 1 1; 12 slots on 4 chiplets
    mz-stat --loads l.tsv -o /dev/null "$TINY"
    awk -v slots=12 -v ranks=4 -f "$TOP/test/eplb.awk" l.tsv > a.json
    [ "$(cat a.json)" = '{"num_gpus": 4, "layers": [0], "phy2log": [[3, 1, 6, 5, 2, 7, 0, 0, 1, 4, 4, 2]]}' ]
    mz-place -a eplb -c 4 -g 2 --replicas 4 -w "$TOP/test/tiny.wafer" -r e.tsv -u -o e.mzt "$TINY"
    mz-place -R a.json -g 2 -u -o a.mzt "$TINY" 2> /dev/null
    diff <(placed a.mzt) <(placed e.mzt)
    # experts 0 and 4 (load 3) and 1 and 2 (the first of load 2) get the copies; 0 both on chiplet 2, as EPLB does
    [ "$(placed e.mzt | grep '^@PR' | cut -f 3)" = "copies:0=2,1=2,2=3,4=3" ]
    mz-view -H e.mzt | grep -q $'^@PA\talgorithm:eplb\t.*\treplicas:4\treplicas_asked:4\tsplit:round-robin$'
    # a generated trace: OLMoE, 64 experts and 16 redundant slots on 16 chiplets, in every layer
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 64 -u -o o.mzt
    mz-stat --loads ol.tsv -o /dev/null o.mzt
    awk -v slots=80 -v ranks=16 -f "$TOP/test/eplb.awk" ol.tsv > o.json
    big_sram
    mz-place -a eplb --replicas 16 -w wafer-olmoe-1b-7b-0924 -w ./big.wafer -W w.json --format eplb -u -o e.mzt o.mzt
    mz-place -R o.json -u -o a.mzt o.mzt 2> /dev/null
    diff <(placed a.mzt) <(placed e.mzt)
    mz-place -R w.json -u -o w.mzt o.mzt 2> /dev/null
    diff <(placed w.mzt) <(placed e.mzt)
    # without --replicas: EPLB's packing alone, every chiplet its 4 experts
    mz-place -a eplb -t -o n.mzt o.mzt
    if grep -q '^@PR' n.mzt; then false; fi
    grep -q $'\treplicas:0\treplicas_asked:0\t' n.mzt
    # on OLMoE's own design no redundant slot fits (as for --replicas): eplb keeps the slots that do, none
    run -0 --separate-stderr mz-place -a eplb --replicas 16 -w wafer-olmoe-1b-7b-0924 -u -o f.mzt o.mzt
    [[ "$stderr" == *"0 of the 256 copies asked for placed"* ]]
}
