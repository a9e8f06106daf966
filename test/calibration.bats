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

@test "validate.awk: the shipped table passes; a number outside its tolerance fails" {
    run awk -f "$TOP/plots/validate.awk" "$TOP/plots/main.tsv"
    assert_success
    assert_line --partial "22 numbers, 0 outside tolerance"
    # OLMoE's Mozart-B 0.04 + 0.001 off the paper's 0.48
    awk -F'\t' -v OFS='\t' '$1 == "olmoe-1b-7b-0924" && $2 == "Mozart-B" {$4 = 0.521} {print}' \
        "$TOP/plots/main.tsv" > main.tsv
    run awk -f "$TOP/plots/validate.awk" main.tsv
    assert_failure
    assert_line --regexp '^olmoe-1b-7b-0924 +Mozart-B +normalized .* FAIL$'
    assert_line --partial "22 numbers, 1 outside tolerance"
    # a speedup 7.1% low
    awk -F'\t' -v OFS='\t' '$1 == "qwen3-30b-a3b" && $2 == "Mozart-C" {$5 = 1.92 * 0.929} {print}' \
        "$TOP/plots/main.tsv" > main.tsv
    run awk -f "$TOP/plots/validate.awk" main.tsv
    assert_failure
    assert_line --regexp '^qwen3-30b-a3b +Mozart-C +speedup .* FAIL$'
    # an empty table is an error, not a pass
    head -n 1 "$TOP/plots/main.tsv" > main.tsv
    run awk -f "$TOP/plots/validate.awk" main.tsv
    assert_failure
}
