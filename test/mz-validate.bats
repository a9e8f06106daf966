#!/usr/bin/env bats
# mz-validate.bats: tests of mz-validate, the paper's numbers beside the model's through mz-speedup.
load helper
bats_require_minimum_version 1.5.0

USAGE="Usage: mz-validate [-m MODEL]... [-n STEPS] [-s SEED] [--table FILE]"

@test "mz-validate: usage errors exit 2 with the usage on stderr" {
    while IFS='|' read -r args msg; do
        run -2 --separate-stderr mz-validate $args
        [ -z "$output" ] && [[ "$stderr" == *"mz-validate: $msg"* ]] && [[ "$stderr" == *"$USAGE"* ]] ||
            { echo "'$args': $stderr"; return 1; }
    done <<'EOF2'
-m|option '-m' needs a value
-m mixtral-8x7b|--model: 'mixtral-8x7b' is not a model of
-n 0|--steps: '0' is not a positive integer
--seed=x|--seed: 'x' is not a positive integer
extra|unexpected argument 'extra'
EOF2
}

@test "mz-validate -m: the figures' rows of that model (plots/seqmem.tsv), the paper's rows of it only" {
    run --separate-stderr mz-validate -m olmoe-1b-7b-0924 --table t.tsv
    [ "$status" -le 1 ]
    [ -z "$stderr" ]
    diff <(grep '^olmoe-1b-7b-0924	' "$TOP/plots/seqmem.tsv") <(tail -n +2 t.tsv)
    [ "$(head -n 1 t.tsv)" = "$(grep -v '^#' "$TOP/plots/seqmem.tsv" | head -n 1)" ]
    # 7 paper numbers of OLMoE, 6 predictions, and nothing of another model
    assert_line --regexp '^7 numbers, [0-7] outside tolerance$'
    [ "$(printf '%s\n' "$output" | grep -c '^olmoe-1b-7b-0924 .* \(hbm2\|ssd\) ')" -eq 13 ]
    if printf '%s\n' "$output" | grep -q 'qwen3\|deepseek'; then echo "other models in the output"; false; fi
    # the status says whether a number is outside its tolerance
    if printf '%s\n' "$output" | grep -q 'FAIL$'; then [ "$status" -eq 1 ]; else [ "$status" -eq 0 ]; fi
}

@test "mz-validate: a progress line per design point on stderr when asked (MZ_PROGRESS=1), none otherwise" {
    run --separate-stderr env MZ_PROGRESS=1 mz-validate -m olmoe-1b-7b-0924 -n 1
    [ "$status" -le 1 ]
    [ "$(printf '%s\n' "$stderr" | grep -c '^mz-validate: \[[1-6]/6\] olmoe-1b-7b-0924, sequence [0-9]*, \(hbm2\|ssd\)$')" -eq 6 ]
    [[ "$stderr" == *"[6/6] olmoe-1b-7b-0924, sequence 512, ssd"* ]]
    [[ "$output" == *"(1 steps, seed 1)"* ]]
}
