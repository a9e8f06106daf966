#!/usr/bin/env bats
# mz-sched.bats: tests of mz-sched on the hand-made placed trace test/sched-tiny.mzt and on generated traces.
load helper

TINY="$TOP/test/sched-tiny.mzt"

# The ops of a text schedule (no header, no @EOF).
ops() { grep -v '^@' "$1"; }
# Field $2 (1-based) of op id $1 of text schedule $3.
op_field() { awk -F'\t' -v id="$1" -v f="$2" '!/^@/ && $2 == id { print $f }' "$3"; }

@test "mz-sched: bad options are usage errors (exit 2)" {
    for args in "-V D $TINY" "-M 0 $TINY" "--slices x $TINY" "-u -t $TINY" "-V A --overlap $TINY" \
        "--prefetch 3 $TINY" "-S sram.tile_MB=1 $TINY" "--optimizer lamb $TINY" "--shared-on gpu $TINY" "--order step $TINY" "--grad-buffers 2 $TINY" "$TINY $TINY"; do
        run mz-sched $args
        assert_failure 2
        assert_output --partial "Try 'mz-sched --help'"
    done
}

@test "mz-sched: Baseline quantities of the tiny trace, worked out by hand" {
    # The model (test/sched-tiny.mzt): h 4, b 2 bytes, block 0 dense, block 1 MoE; 4 experts of f 2, top-2,
    # gated (g 3); 1 head and 1 KV head of 4; V 10. Parameters: P_att = 2 h n_q d_h + 2 h n_kv d_h = 32 + 32 = 64,
    # norms 2h = 8, router h E = 16, expert 3 h f = 24, dense 3 h f_d = 96, LM head V h + h = 44.
    # Micro-batch 0 = sequence 0: tokens (0,1) (0,2); 1 = sequence 1: (2,3) (1,3). Chiplet 0 holds experts 0 1,
    # chiplet 1 holds 2 3: mb 0 puts 3 pairs (2 experts) on chiplet 0, 1 (1) on chiplet 1; mb 1 the mirror.
    # No -w: order layer, prefetch depth 1, shared_on root (no shared experts here).
    mz-sched -V baseline -M 2 -t -o s.txt "$TINY"
    grep -q $'^@SC\tvariant:baseline\toverlap:0\tdedup:0\tmicro_batches:2\tslices:8\torder:layer' s.txt
    # Op count: visits fwd 0, fwd 1, bwd 1, bwd 0.
    #   fwd 0: root_load + 2 mbs x (embed, att, dense_ffn, att_save) = 1 + 8 = 9
    #   fwd 1: root_load + 2 chiplets x 2 chunks (one per expert) + 2 x (att, dispatch, 2 expert, combine,
    #          lm_head, 2 save, att_save = 9) = 5 + 18 = 23
    #   bwd 1 (the turn: no loads): 2 x (lm_head, root_act_load, 2 act_load, dispatch, 2 expert, combine, att = 9)
    #          + 2 grad_wb + att_wb = 21
    #   bwd 0: root_load + 2 x (root_act_load, dense_ffn, att, embed) + att_wb = 10
    # 9 + 23 + 21 + 10 = 63, and the stat op
    [ "$(ops s.txt | wc -l)" -eq 64 ]
    [ "$(op_field 0 10 s.txt)" = "root_read:0=336" ]            # dense block: 2 (64 + 8 + 96)
    [ "$(op_field 1 10 s.txt)" = "root_read:0=16" ]             # embedding rows: b T h = 2 x 2 x 4
    # attention: 2 T P_att + 4 ctx n_q d_h, ctx = positions 1 + 2 = 3: 256 + 48
    [ "$(op_field 2 10 s.txt)" = "root_ctx:0=3,root_flop:0=304,root_tokens:0=2" ]
    [ "$(op_field 3 10 s.txt)" = "root_flop:0=384,root_tokens:0=2" ]   # 2 T P_d = 2 x 2 x 96
    # saved: b T (2h + q + n_q d_h + g' f_d), q = (1 + 2) 4 = 12, g' = 2: 2 x 2 x (8 + 12 + 4 + 16)
    [ "$(op_field 4 10 s.txt)" = "root_write:0=160" ]
    [ "$(op_field 9 10 s.txt)" = "root_read:0=176" ]            # MoE block: 2 (64 + 8 + 16)
    # W_c = 2 experts x 24 x 2 bytes = 96 in 2 chunks; hot order: pairs 3 + 1 on both, a tie: chiplet 0 first
    [ "$(op_field 10 10 s.txt)" = "mem_read:0=48" ] && [ "$(op_field 11 10 s.txt)" = "mem_read:0=48" ]
    [ "$(op_field 12 10 s.txt)" = "mem_read:1=48" ] && [ "$(op_field 13 10 s.txt)" = "mem_read:1=48" ]
    [ "$(op_field 14 10 s.txt)" = "root_ctx:0=3,root_flop:0=368,root_tokens:0=2" ] # 304 + router 2 T h E = 64
    [ "$(op_field 15 3 s.txt)" = dispatch ]
    # one copy (h b = 8 bytes) per pair: chiplet 0 3, chiplet 1 1; the group: their sum
    [ "$(op_field 15 10 s.txt)" = "a2a_chip:0=24,a2a_chip:1=8,a2a_group:0=32" ]
    [ "$(op_field 16 10 s.txt)" = "chip_flop:0=144,chip_tokens:0=3,chip_experts:0=2" ] # 2 x 24 x 3 pairs
    [ "$(op_field 17 10 s.txt)" = "chip_flop:1=48,chip_tokens:1=1,chip_experts:1=1" ]
    [ "$(op_field 18 3 s.txt)" = combine ] && [ "$(op_field 18 10 s.txt)" = "$(op_field 15 10 s.txt)" ]
    # the LM head after the last block: 2 T V h = 160 FLOPs, its weights 2 x 44 streamed
    [ "$(op_field 19 10 s.txt)" = "root_flop:0=160,root_tokens:0=2,root_read:0=88" ]
    [ "$(op_field 20 10 s.txt)" = "mem_write:0=48" ]            # b (3 copies x 4 + 2 x 2 x 3 pairs)
    [ "$(op_field 21 10 s.txt)" = "mem_write:1=16" ]            # b (1 x 4 + 2 x 2 x 1)
    [ "$(op_field 22 10 s.txt)" = "root_write:0=112" ]          # b T (8 + 12 + 4 + E 4)
    # backward: the LM head first (x 2 FLOPs); mb 0 writes its gradient accumulator (44 params x 2 bytes),
    # mb 1 reads it back and writes the updated weights (sgd: no state)
    [ "$(op_field 32 10 s.txt)" = "root_flop:0=320,root_tokens:0=2,root_read:0=88,root_write:0=88" ]
    [ "$(op_field 41 10 s.txt)" = "root_flop:0=320,root_tokens:0=2,root_read:0=88,root_read:0=88,root_write:0=88" ]
    # the activations come back after their saves (and the chiplet's after its weights, the last chunk)
    [ "$(op_field 33 3 s.txt)" = root_act_load ] && [ "$(op_field 33 10 s.txt)" = "root_read:0=112" ]
    [ "$(op_field 33 11 s.txt)" = 22 ]
    [ "$(op_field 34 10 s.txt)" = "mem_read:0=48" ] && [ "$(op_field 34 11 s.txt)" = 11,20 ]
    [ "$(op_field 35 10 s.txt)" = "mem_read:1=16" ] && [ "$(op_field 35 11 s.txt)" = 13,21 ]
    [ "$(op_field 37 10 s.txt)" = "chip_flop:0=288,chip_tokens:0=3,chip_experts:0=2" ] # backward x 2
    [ "$(op_field 40 10 s.txt)" = "root_ctx:0=3,root_flop:0=736,root_tokens:0=2" ]
    # the update: W_c written back (order layer: gradients in SRAM), the root's block weights
    [ "$(op_field 50 3 s.txt)" = grad_wb ] && [ "$(op_field 50 10 s.txt)" = "mem_write:0=96" ]
    [ "$(op_field 52 3 s.txt)" = att_wb ] && [ "$(op_field 52 10 s.txt)" = "root_write:0=176" ]
    [ "$(op_field 54 11 s.txt)" = 4 ]                           # block 0's root activations, saved by op 4
    [ "$(op_field 56 10 s.txt)" = "root_ctx:0=3,root_flop:0=608,root_tokens:0=2" ]
    [ "$(op_field 57 10 s.txt)" = "root_read:0=16,root_write:0=16" ] # the gathered rows updated: b T h
    [ "$(op_field 62 10 s.txt)" = "root_write:0=336" ]
    # phases: one barrier between consecutive phases, never two ops of different phases mixed:
    # visit fwd 0 has phases 1 (root_load) to 9, visit fwd 1 starts at 10; its loads are phase 11
    [ "$(op_field 0 9 s.txt)" = 1 ] && [ "$(op_field 8 9 s.txt)" = 9 ] && [ "$(op_field 9 9 s.txt)" = 10 ]
    [ "$(op_field 10 9 s.txt)" = 11 ] && [ "$(op_field 13 9 s.txt)" = 11 ] && [ "$(op_field 14 9 s.txt)" = 12 ]
    [ "$(op_field 20 9 s.txt)" = 17 ] && [ "$(op_field 22 9 s.txt)" = 17 ]
    run awk -F'\t' '!/^@/ && $3 != "stat" && $9 + 0 < p { print } { if (!/^@/) p = $9 + 0 }' s.txt
    assert_output ""
    # the stat op: 4 tokens x 1 MoE layer, 8 copies (top-2), 4 distinct groups; then the footprint:
    # weights: group DRAM 2 x 96; root DRAM the LM head and embedding 2 x 88 + blocks 336 + 176 = 688;
    # chiplet SRAMs one block (depth 1) 96; root SRAM two blocks of its weights 2 x 336 = 672
    run awk -F'\t' '!/^@/ && $3 == "stat" { print $2, $10 }' s.txt
    assert_output --partial "63 tokens:0=4,copies:0=8,group_copies:0=4,foot_weights:0=192,foot_weights:1=688,foot_weights:2=96,foot_weights:3=96,foot_weights:4=672,"
    # grads: the LM head's accumulator in root DRAM 88, a block's W_c in chiplet SRAM 96;
    # acts: group DRAM every mb's saves 48 + 16 + 16 + 48, root DRAM 2 x 160 + 2 x 112 = 544
    assert_output --partial ",foot_grads:1=88,foot_grads:2=96,foot_grads:3=96,foot_acts:0=128,foot_acts:1=544,"
}

# Every backward activation load of schedule $1 waits for the forward save of the same
# activations: same block and micro-batch, and for a chiplet's, the same chiplet (the
# index of its terms; an empty load has none). Prints the loads that do not.
unsaved_loads() {
    awk -F'\t' '!/^@/ {
        kind[$2] = $3; layer[$2] = $5; mb[$2] = $6; chip[$2] = ($10 ~ /^mem_/) ? $10 : ""
        sub(/=.*/, "", chip[$2]); sub(/^mem_(read|write):/, "", chip[$2])
        if ($3 != "act_load" && $3 != "root_act_load") next
        want = $3 == "act_load" ? "save" : "att_save"; ok = 0
        n = split($11, d, ",")
        for (i = 1; i <= n; i++)
            if (kind[d[i]] == want && layer[d[i]] == $5 && mb[d[i]] == $6 &&
                (want == "att_save" || chip[$2] == "" || chip[d[i]] == "" || chip[d[i]] == chip[$2])) ok = 1
        if (!ok) print
    }' "$1"
}

@test "mz-sched: streaming slices count each slice's tokens, and dedup one copy per chiplet" {
    # B with 2 slices per micro-batch: slice 0 of micro-batch 0 is token (0,1), both experts on chiplet 0;
    # slice 1 is token (0,2), one expert on each chiplet. A copy is h b = 8 bytes.
    mz-sched -V B -M 2 --slices 2 -t -o s.txt "$TINY"
    run awk -F'\t' '!/^@/ && $3 == "dispatch" && $5 == 1 && $6 == 0 && $7 == "fwd" { print $8, $10 }' s.txt
    assert_output "0 a2a_chip:0=8,a2a_group:0=8
1 a2a_chip:0=8,a2a_chip:1=8,a2a_group:0=8"
    # expert ops: FLOPs 2 x pairs x 24, the pairs and the experts they use; chiplet 1 has nothing in slice 0
    run awk -F'\t' '!/^@/ && $3 == "expert" && $5 == 1 && $6 == 0 && $7 == "fwd" { print $8, $10 }' s.txt
    assert_output "0 chip_flop:0=96,chip_tokens:0=2,chip_experts:0=2
0 -
1 chip_flop:0=48,chip_tokens:0=1,chip_experts:0=1
1 chip_flop:1=48,chip_tokens:1=1,chip_experts:1=1"
    # attention per slice: 1 token at position 0 (ctx 1), then at position 1 (ctx 2): 2 x 64 + 4 ctx x 4 + 2 x 16
    run awk -F'\t' '!/^@/ && $3 == "att" && $5 == 1 && $6 == 0 && $7 == "fwd" { print $8, $10 }' s.txt
    assert_output "0 root_ctx:0=1,root_flop:0=176,root_tokens:0=1
1 root_ctx:0=2,root_flop:0=192,root_tokens:0=1"
    # saves dedup too: chiplet 0 of mb 0 keeps 2 token copies and 3 pairs: b (2 x 4 + 2 x 2 x 3) = 40
    run awk -F'\t' '!/^@/ && $3 == "save" && $6 == 0 { print $10 }' s.txt
    assert_output "mem_write:0=40
mem_write:1=16"
    # per-slice activation loads backward: slice 0 brings chiplet 0 its 1 copy and 2 pairs, b (4 + 2 x 2 x 2) = 24
    run awk -F'\t' '!/^@/ && $3 == "act_load" && $6 == 0 { print $8, $10 }' s.txt
    assert_output "0 mem_read:0=24
0 -
1 mem_read:0=16
1 mem_read:1=16"
    # dedup: copies = distinct chiplets per token: 1 + 2 + 1 + 2
    run awk -F'\t' '!/^@/ && $3 == "stat" { split($10, t, ","); print t[1] "," t[2] "," t[3] }' s.txt
    assert_output "tokens:0=4,copies:0=6,group_copies:0=4"
    # no barriers when streaming; every dependency is an earlier op
    run awk -F'\t' '!/^@/ && ($9 != 0 || ($11 != "-" && $11 !~ /^[0-9,]+$/)) { print }' s.txt
    assert_output ""
    run awk -F'\t' '!/^@/ && $11 != "-" { n = split($11, d, ","); for (i = 1; i <= n; i++) if (d[i] + 0 >= $2 + 0) print }' s.txt
    assert_output ""
    # saves and updates wait for the chiplet's last expert op with work (an empty one ends at once, before
    # the chiplet's earlier ops): mz-cost.bats's trace, 2 tokens in 2 slices, token 0 on chiplet 0 only
    mz-sched -V A -M 1 --slices 2 -t -o c.txt "$TOP/test/cost-tiny.mzt"
    run awk -F'\t' '!/^@/ { k[$2] = $3; t[$2] = $10 } !/^@/ && ($3 == "save" || $3 == "grad_wb") { n = split($11, d, ","); for (i = 1; i <= n; i++) if (k[d[i]] == "expert" && t[d[i]] == "-") print }' c.txt
    assert_output ""
    run awk -F'\t' '!/^@/ && ($3 == "save" || $3 == "grad_wb") && $10 ~ /:0=/ { print $3, $11 }' c.txt
    assert_output "save 6
grad_wb 24"                                                 # slice 0's expert ops of chiplet 0, fwd and bwd
    [ "$(op_field 6 10 c.txt)" = "chip_flop:0=48,chip_tokens:0=1,chip_experts:0=1" ] && [ "$(op_field 24 7 c.txt)" = bwd ]
    # backward activation loads wait for the forward saves of the same activations (order layer and mb)
    [ "$(grep -c $'\tact_load\t' s.txt)" -eq 8 ] && [ "$(grep -c $'\troot_act_load\t' s.txt)" -eq 4 ]
    run unsaved_loads s.txt
    assert_output ""
    mz-sched -V A -M 2 --slices 2 --order mb -t -o m.txt "$TINY"
    grep -q $'\torder:mb\t' m.txt
    run unsaved_loads m.txt
    assert_output ""
}

@test "mz-sched: per-slice counts add up to the micro-batch's" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -u | mz-place -a mozart -u -o p.mzt
    mz-sched -V B --slices 8 -t -o s8.txt p.mzt
    mz-sched -V B --slices 1 -t -o s1.txt p.mzt
    # sum FILE KIND TYPE: the quantities of terms TYPE of the ops KIND
    sum() { awk -F'\t' -v k="$2" -v ty="$3" '!/^@/ && $3 == k { n = split($10, t, ","); for (i = 1; i <= n; i++) { split(t[i], q, "="); split(q[1], y, ":"); if (y[1] == ty) s += q[2] } } END { printf "%.0f\n", s }' "$1"; }
    for kt in expert:chip_flop expert:chip_tokens dispatch:a2a_chip dispatch:a2a_group combine:a2a_chip \
        att:root_flop att:root_ctx att:root_tokens act_load:mem_read save:mem_write; do
        [ "$(sum s8.txt ${kt%:*} ${kt#*:})" = "$(sum s1.txt ${kt%:*} ${kt#*:})" ] || { echo "$kt differs"; return 1; }
    done
    # the pairs: 32 x 256 tokens x top-8 x 16 MoE blocks x 2 directions
    [ "$(sum s8.txt expert chip_tokens)" -eq 2097152 ]
    # active experts do not add up: a micro-batch (2,048 tokens) uses all 64 experts of each block,
    # 16 x 2 x 4 x 64 = 8,192; its 8 slices use at most as many each, 65,536 at most in all
    [ "$(sum s1.txt expert chip_experts)" -eq 8192 ]
    n=$(sum s8.txt expert chip_experts)
    [ "$n" -gt 8192 ] && [ "$n" -le 65536 ]
    # 16 layers x 2 directions x 4 micro-batches x 8 slices x 16 chiplets expert ops
    [ "$(awk -F'\t' '!/^@/ && $3 == "expert"' s8.txt | wc -l)" -eq 16384 ]
    # and as many activation loads, one per chiplet and slice, each after its save
    [ "$(awk -F'\t' '!/^@/ && $3 == "act_load"' s8.txt | wc -l)" -eq 8192 ]
    run unsaved_loads s8.txt
    assert_output ""
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

@test "mz-sched: Qwen3 op counts: Baseline 23,135, streaming 111,895 per step and a stat op (the model's structure)" {
    # Qwen3-30B-A3B: 48 blocks, all MoE, 128 experts on 16 chiplets (8 each: 4 load chunks) in 4 groups;
    # 8 sequences in M = 4 micro-batches; no -w: order layer, depth 1.
    mz-trace -m qwen3-30b-a3b -n 1 -b 8 -u | mz-place -a contiguous -u -o p.mzt
    mz-sched -V baseline -t -M 4 -o b.txt p.mzt
    mz-sched -V A -t -M 4 -o a.txt p.mzt
    # count FILE KIND DIR: ops of that kind and direction
    count() { awk -F'\t' -v k="$2" -v d="$3" '!/^@/ && $3 == k && $7 == d' "$1" | wc -l; }
    # Baseline forward, per block: root_load + 16 x 4 loads + 4 mbs x (att, 4 dispatch, 16 expert,
    # 4 combine, 16 save, att_save = 42) = 233; and 4 embed (block 0), 4 lm_head (block 47):
    # 48 x 233 + 8 = 11,192
    # backward, per block: 4 x (root_act_load, 16 act_load, 4 dispatch, 16 expert, 4 combine, att = 42)
    # + 16 grad_wb + att_wb = 185; the root's and chiplets' loads (1 + 64) but at the turn (block 47);
    # 4 embed, 4 lm_head: 48 x 185 + 47 x 65 + 8 = 11,943. 11,192 + 11,943 = 23,135
    [ "$(ops b.txt | wc -l)" -eq 23136 ]
    [ "$(count b.txt load fwd)" -eq 3072 ] && [ "$(count b.txt load bwd)" -eq 3008 ] # 48 x 64, 47 x 64
    [ "$(count b.txt root_load bwd)" -eq 47 ] && [ "$(count b.txt act_load bwd)" -eq 3072 ] # 48 x 4 x 16
    [ "$(count b.txt lm_head fwd)" -eq 4 ] && [ "$(count b.txt embed bwd)" -eq 4 ]
    # A: the same per slice (S = 8): forward per block 65 + 4 x (8 x 25 + 17 saves) = 933, embed per slice
    # (32), lm_head per mb (4): 48 x 933 + 36 = 44,820; backward per block 4 x (root_act_load + 8 x 41) + 17
    # = 1,333: 48 x 1,333 + 47 x 65 + 36 = 67,075. 44,820 + 67,075 = 111,895
    [ "$(ops a.txt | wc -l)" -eq 111896 ]
    [ "$(count a.txt expert fwd)" -eq 24576 ] && [ "$(count a.txt act_load bwd)" -eq 24576 ] # 48 x 4 x 8 x 16
    [ "$(count a.txt embed fwd)" -eq 32 ] && [ "$(count a.txt lm_head bwd)" -eq 4 ]
    [ "$(count a.txt save fwd)" -eq 3072 ] && [ "$(count a.txt root_act_load bwd)" -eq 192 ] # per mb, 48 x 4 (x 16)
    # the stat op is last, once a step
    [ "$(ops a.txt | tail -1 | cut -f3)" = stat ] && [ "$(count a.txt stat fwd)" -eq 1 ]
}

@test "mz-sched: shared experts on the root or spread over the chiplets (auto: from the root's SRAM); the dense first layer on the root" {
    # DeepSeek-MoE-16B: block 0 dense, blocks 1-27 MoE, 64 routed experts (4 a chiplet) and 2 shared, top-6;
    # h 2048, f = f_s 1408: P_e = P_s = 3 x 2048 x 1408 = 8,650,752; P_att = 4 x 2048 x 16 x 128 = 16,777,216.
    # 4 sequences of 16 tokens in 2 micro-batches: 32 tokens each, 4 a slice.
    mz-trace -m deepseek-moe-16b-base -n 1 -b 4 -L 16 -u | mz-place -a contiguous -u -o p.mzt
    mz-sched -V A -M 2 -t -o c.txt p.mzt
    mz-sched -V A -M 2 --shared-on spread -t -o s.txt p.mzt
    # layer 0 is dense: attention and dense FFN ops (2 mbs x 8 slices x 2 directions), no experts
    [ "$(awk -F'\t' '!/^@/ && $5 == 0 && $3 == "dense_ffn"' c.txt | wc -l)" -eq 32 ]
    [ "$(awk -F'\t' '!/^@/ && $5 == 0 && ($3 == "expert" || $3 == "dispatch")' c.txt | wc -l)" -eq 0 ]
    # auto without a wafer: the root; a shared op per MoE block, slice and direction: 27 x 16 x 2
    grep -q $'\tshared_on:root\t' c.txt
    [ "$(awk -F'\t' '!/^@/ && $3 == "shared"' c.txt | wc -l)" -eq 864 ]
    [ "$(awk -F'\t' '!/^@/ && $3 == "shared"' s.txt | wc -l)" -eq 0 ]
    # on the root its weights are the root's: b (P_att + 2h + h E + 2 P_s) = 2 (16,777,216 + 4,096 + 131,072
    # + 17,301,504) = 68,427,776 a block; spread: 2 (16,777,216 + 4,096 + 131,072) = 33,824,768
    [ "$(awk -F'\t' '!/^@/ && $5 == 1 && $3 == "root_load" && $7 == "fwd" { print $10 }' c.txt)" = "root_read:0=68427776" ]
    [ "$(awk -F'\t' '!/^@/ && $5 == 1 && $3 == "root_load" && $7 == "fwd" { print $10 }' s.txt)" = "root_read:0=33824768" ]
    # spread, chiplet 0 holds 4 routed experts and 2/16 of the shared ones: 4.125 P_e instead of 4;
    # block 1 is loaded forward and backward (it is not the turn): 2 x 2 x 4 P_e = 138,412,032 bytes on the root
    load0() { awk -F'\t' '!/^@/ && $5 == 1 && $3 == "load" && $10 ~ /^mem_read:0=/ { split($10, q, "="); s += q[2] } END { print s }' "$1"; }
    [ "$(load0 c.txt)" -eq 138412032 ]
    [ "$(load0 s.txt)" -eq 142737408 ]                      # x 33 / 32
    # spread, every token reaches every chiplet's slice: each expert op has the slice's 4 tokens
    [ "$(awk -F'\t' '!/^@/ && $3 == "expert" && $10 !~ /chip_shared:[0-9]+=4$/' s.txt | wc -l)" -eq 0 ]
    [ "$(grep -c chip_shared c.txt)" -eq 0 ]
    # auto from the wafer: two blocks of 68.4 MB fit the root's 78 tiles x 2.265 MB, not 78 x 1 MB
    mz-sched -V A -M 2 -w wafer-deepseek-moe-16b-base -t -o w.txt p.mzt
    grep -q $'\tshared_on:root\t' w.txt
    mz-sched -V A -M 2 -w wafer-deepseek-moe-16b-base -S sram.tile_MB=1 -t -o w1.txt p.mzt
    grep -q $'\tsram_bytes:78000000\troot_sram_bytes:78000000\t.*\tshared_on:spread\t' w1.txt
    # the stat op's C_T excludes the shared experts: top-6 (A sends one copy per selected expert)
    for f in c.txt s.txt; do
        run awk -F'\t' '!/^@/ && $3 == "stat" { split($10, t, ","); split(t[1], a, "="); split(t[2], b, "="); print a[2], b[2] }' $f
        assert_output "1728 10368"                          # 4 x 16 tokens x 27 MoE blocks, x 6
    done
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

@test "mz-sched: more slices than a micro-batch's tokens is refused when streaming, not for the Baseline" {
    # the tiny trace's micro-batches (-M 2) hold 2 tokens: Mozart-A and -B cannot cut them in 8 slices
    for v in A B; do
        run mz-sched -V $v -M 2 --slices 8 -t "$TINY"
        assert_failure 1
        assert_output --partial "--slices 8: a micro-batch has only 2 tokens to slice"
    done
    # the Baseline runs whole micro-batches (the default --slices 8 only sizes its SRAM buffers)
    run mz-sched -V baseline -M 2 --slices 8 -t "$TINY"
    assert_success
    run mz-sched -V A -M 2 --slices 2 -t "$TINY"
    assert_success
}

@test "mz-sched: --prefetch 0 derives the depth from the wafer's SRAM" {
    # OLMoE: 16 MoE blocks, 64 experts, 4 on each of 16 chiplets: W_c = 2 x 4 x 3 x 2048 x 1024 = 50,331,648
    # bytes, gradients as much; 8 x 256 tokens in 4 mbs of 8 slices: 64 tokens a slice, buffers
    # b 64 (2h + 2f) = 786,432 bytes forward, twice that backward (section 5.1; 2 k a_c / E = 1).
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -u | mz-place -a contiguous -u -o p.mzt
    mz-sched -V A --prefetch 0 -w wafer-olmoe-1b-7b-0924 -t -o p0.txt p.mzt
    mz-sched -V A -t -o p1.txt p.mzt
    mz-sched -V A --prefetch 2 -t -o p2.txt p.mzt
    # 70 tiles x 2.265 MB = 158,550,000: 2 W_c + buffers fit forward, 2 W_c + gradients + buffers backward
    # (151.0 MB + 1.6 MB), and a block with its gradients (order layer)
    grep -q $'prefetch:0\tdepth_fwd:2\tdepth_bwd:2\tsram_bytes:158550000\t' p0.txt
    grep -q $'\torder:layer\t' p0.txt
    grep -q $'prefetch:0\tdepth_fwd:1\tdepth_bwd:1\tsram_bytes:0\t' p1.txt # no wafer: depth 1
    if cmp -s <(ops p0.txt) <(ops p1.txt); then echo "expected it to fail: cmp -s <(ops p0.txt) <(ops p1.txt)"; false; fi
    cmp <(ops p0.txt) <(ops p2.txt)                         # what --prefetch 2 forces
    # 70 x 1.5 MB = 105,000,000: forward (105 - 0.8) / 50.3 = 2.07 blocks, backward (105 - 1.6 - 50.3) / 50.3
    # = 1.05; a block, its gradients and buffers (102.2 MB) still fit: order layer
    mz-sched -V A -w wafer-olmoe-1b-7b-0924 -S sram.tile_MB=1.5 -t -o h.txt p.mzt
    grep -q $'\torder:layer\tprefetch:0\tdepth_fwd:2\tdepth_bwd:1\tsram_bytes:105000000\t' h.txt
    # 70 MB: one block (depth 1), and no room for its gradients: order mb
    mz-sched -V A -w wafer-olmoe-1b-7b-0924 -S sram.tile_MB=1 -t -o m.txt p.mzt
    grep -q $'\torder:mb\tprefetch:0\tdepth_fwd:1\tdepth_bwd:1\tsram_bytes:70000000\t' m.txt
    # order layer, as Qwen3's count with 16 blocks: forward 16 x 933 + 36, backward 16 x 1,333 + 15 x 65 + 36:
    # 37,303 ops and the stat op
    [ "$(ops p0.txt | wc -l)" -eq 37304 ]
    # order mb: 128 visits of one micro-batch; without their loads, forward 64 x (8 x 25 + 17) + 36 = 13,924,
    # backward 64 x (1 + 8 x 41 + 17) + 36 = 22,180; the root's and chiplets' loads (1 + 64) in every visit
    # but the 7 turns, where the block's weights stay: block 15 forward to backward (4 mbs) and block 0
    # backward to the next mb's forward (3): 121 x 65 = 7,865. 13,924 + 22,180 + 7,865 = 43,969
    [ "$(ops m.txt | wc -l)" -eq 43970 ]
    [ "$(awk -F'\t' '!/^@/ && $3 == "root_load"' m.txt | wc -l)" -eq 121 ]  # 128 - 7
    # the accumulators live in DRAM: 16 x 4 x 16 grad_wb, the first mb writes, the last updates
    [ "$(awk -F'\t' '!/^@/ && $3 == "grad_wb"' m.txt | wc -l)" -eq 1024 ]
    mz-sched -V A --order layer -t -o l.txt p.mzt
    grep -q 'order:layer' l.txt
}

@test "mz-sched: '-' reads stdin; plain, gzip, binary and text traces give the same schedule" {
    mz-sched -V A -M 2 --slices 2 -t -o a.txt "$TINY"
    gzip -c "$TINY" > tiny.mzt.gz
    mz-sched -V A -M 2 --slices 2 -t -o b.txt tiny.mzt.gz
    mz-sched -V A -M 2 --slices 2 -t - < "$TINY" > c.txt
    mz-place -R <(printf 'layer\texpert\tchiplet\tgroup\n1\t0\t0\t0\n1\t1\t0\t0\n1\t2\t1\t0\n1\t3\t1\t0\n') -c 2 -g 1 -o bin.mzt "$TINY"
    mz-sched -V A -M 2 --slices 2 -t -o d.txt bin.mzt
    cmp <(ops a.txt) <(ops b.txt)
    cmp <(ops a.txt) <(ops c.txt)
    cmp <(ops a.txt) <(ops d.txt)
}

@test "mz-sched: binary and text schedules hold the same records" {
    mz-sched -V B -M 2 --slices 2 -u -o s.mzs "$TINY"
    mz-sched -V B -M 2 --slices 2 -t -o s.txt "$TINY"
    mz-sched -V B -M 2 --slices 2 -o s.mzs.gz "$TINY"
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
