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
