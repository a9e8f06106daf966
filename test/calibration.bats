#!/usr/bin/env bats
# calibration.bats: generated traces reproduce the real routing statistics and the paper's C_T (models/calibrate).
load helper

@test "make calibrate: every statistic within its tolerance" {
    run "$TOP/models/calibrate"
    assert_success
    refute_line --partial "NO"
    # the report covers every measured layer: OLMoE 3 x 3, Qwen3 48 x 3, Qwen1.5 5, paper C_T 3
    [ "$(printf '%s\n' "$output" | grep -c 'yes$')" -ge 161 ]
}

# A model table at exactly the paper's numbers (models/paper.tsv), for
# validate.awk's own checks: latency_s is the paper's where it gives one,
# else the normalized latency (validate reads latency only where the paper has one).
paper_table() {
    awk -F'\t' -v OFS='\t' '/^#/ {next} $1 == "model" {print "model", "seq_len", "memory", "variant", "latency_s", "ct", "normalized", "speedup"; next}
        {lat = $8 != "NA" ? $8 : $5; print $1, $2, $3, $4, lat, ($6 == "NA" ? 8 : $6), $5, ($7 == "NA" ? 1 : $7)}' "$TOP/models/paper.tsv"
}

@test "validate.awk: the paper's own numbers pass; a number outside its tolerance fails" {
    paper_table > model.tsv
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" model.tsv
    assert_success
    assert_line --partial "23 numbers, 0 outside tolerance"
    # OLMoE's Mozart-B 0.04 + 0.001 off the paper's 0.48
    awk -F'\t' -v OFS='\t' '$1 == "olmoe-1b-7b-0924" && $4 == "Mozart-B" {$7 = 0.521} {print}' model.tsv > m1.tsv
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" m1.tsv
    assert_failure
    assert_line --regexp '^olmoe-1b-7b-0924 +Mozart-B +hbm2 +normalized .* FAIL$'
    assert_line --partial "23 numbers, 1 outside tolerance"
    # 0.039 off is inside
    awk -F'\t' -v OFS='\t' '$1 == "olmoe-1b-7b-0924" && $4 == "Mozart-B" {$7 = 0.519} {print}' model.tsv > m1.tsv
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" m1.tsv
    assert_success
    # a speedup 7.1% low
    awk -F'\t' -v OFS='\t' '$1 == "qwen3-30b-a3b" && $4 == "Mozart-C" {$8 = 1.92 * 0.929} {print}' model.tsv > m2.tsv
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" m2.tsv
    assert_failure
    assert_line --regexp '^qwen3-30b-a3b +Mozart-C +hbm2 +speedup .* FAIL$'
    # the SSD Baseline 10.1% high
    awk -F'\t' -v OFS='\t' '$1 == "qwen3-30b-a3b" && $3 == "ssd" && $4 == "Baseline" {$5 = 9.17 * 1.101} {print}' model.tsv > m3.tsv
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" m3.tsv
    assert_failure
    assert_line --regexp '^qwen3-30b-a3b +Baseline +ssd +latency_s .* FAIL$'
    # a number the model does not give is an error, and an empty table is not a pass
    grep -v 'Mozart-A' model.tsv > m4.tsv
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" m4.tsv
    assert_failure
    assert_output --partial "no model value for"
    head -n 1 model.tsv > m5.tsv
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" m5.tsv
    assert_failure
}

@test "validate.awk: the shipped predictions give every paper number a row and state the paper's trends" {
    run awk -f "$TOP/plots/validate.awk" "$TOP/models/paper.tsv" "$TOP/plots/seqmem.tsv"
    assert_line --partial "23 numbers,"
    refute_output --partial "no model value"
    refute_output --partial "NO"
    assert_line --regexp '^qwen3-30b-a3b +Mozart-B +hbm2 +ct .* ok$'
}
