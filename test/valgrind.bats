#!/usr/bin/env bats
# valgrind.bats: the main pipeline (mz-trace | mz-place | mz-sched | mz-cost) and
# the other tools under valgrind's memcheck: no invalid access, no leak.
# Skipped in the asan=1 build (AddressSanitizer and valgrind do not mix; there
# LeakSanitizer does the same job on every test).
load helper
bats_require_minimum_version 1.5.0

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    grep -q fsanitize "$TOP/.flags" 2> /dev/null && skip "asan=1 build: LeakSanitizer checks leaks instead"
    command -v valgrind > /dev/null || skip "valgrind is not installed"
    return 0
}

# Run one command under memcheck; any error or leak (definite, indirect or
# possible) makes it exit 99 and prints valgrind's report.
LEAKS=definite,indirect,possible
VG="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=$LEAKS --errors-for-leak-kinds=$LEAKS"
vg() { $VG "$@"; }

@test "valgrind: every stage of the main pipeline, no errors and no leaks" {
    local M=olmoe-1b-7b-0924
    run --separate-stderr vg mz-trace -m $M -n 2 -b 4 -L 16 -o t.mzt
    [ "$status" -eq 0 ] || { echo "mz-trace: $stderr"; return 1; }
    run --separate-stderr vg mz-place -o p.mzt t.mzt
    [ "$status" -eq 0 ] || { echo "mz-place: $stderr"; return 1; }
    run --separate-stderr vg mz-sched -V C -M 4 -o s.mzs p.mzt
    [ "$status" -eq 0 ] || { echo "mz-sched: $stderr"; return 1; }
    run --separate-stderr vg mz-cost -w wafer-$M -b b.tsv -r r.tsv -T t.json -o c.tsv s.mzs
    [ "$status" -eq 0 ] || { echo "mz-cost: $stderr"; return 1; }
    # the pipeline gave a real answer: one row per step and the mean row
    [ "$(grep -c '^[0-9]' c.tsv)" -eq 2 ]
    grep -q '^mean' c.tsv
    # the same through pipes, uncompressed, as mz-speedup runs it
    run --separate-stderr bash -c "set -o pipefail; $VG mz-trace -m $M -n 1 -b 4 -L 16 -u |
        $VG mz-place -u | $VG mz-sched -V baseline -M 4 -u | $VG mz-cost -w wafer-$M -o c2.tsv"
    [ "$status" -eq 0 ] || { echo "pipe: $stderr"; return 1; }
    [ "$(grep -c '^[0-9]' c2.tsv)" -eq 1 ]
}

@test "valgrind: the other tools and the error paths, no errors and no leaks" {
    local M=olmoe-1b-7b-0924
    mz-trace -m $M -n 1 -b 4 -L 16 -o t.mzt
    zcat "$TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz" | sed -n '1p; 8194,8600p' > r.jsonl
    head -c 3000 t.mzt > cut.mzt
    local cmd
    while read -r cmd; do
        run --separate-stderr vg $cmd
        # 0, or 1 for the error paths; 99 is valgrind's
        if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
            echo "$cmd: status $status: $stderr"
            return 1
        fi
    done <<EOF
mz-view t.mzt
mz-view -t -o t.txt t.mzt
mz-view -c cut.mzt
mz-stat --loads l.tsv --coact c.tsv -o s.tsv t.mzt
mz-stat cut.mzt
mz-place -a ctswap -r rep.tsv -W pl.tsv -o /dev/null t.mzt
mz-place -R pl.tsv -o /dev/null t.mzt
mz-place -o /dev/null cut.mzt
mz-import -m qwen1.5-moe-a2.7b -d all -o i.mzt r.jsonl
mz-import -m qwen1.5-moe-a2.7b r.jsonl
mz-fit -m $M -r t.mzt -i 2 -k 2000 -o f.prior
mz-trace -m $M -p f.prior -b 2 -L 8 -o /dev/null
mz-trace -m no-such-model
mz-cost -w wafer-$M -o /dev/full /dev/null
EOF
    # the successful ones wrote their outputs
    [ -s t.txt ] && [ -s s.tsv ] && [ -s l.tsv ] && [ -s pl.tsv ] && [ -s i.mzt ] && [ -s f.prior ]
}

@test "valgrind: config families, count sets, field mapping and placement maps (issue 15), no errors and no leaks" {
    local D="$TOP/test/data" cmd
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 16 -o t.mzt
    echo '{"0": ['"$(seq -s, 64)"']}' > c.json
    while read -r cmd; do
        run --separate-stderr vg $cmd
        if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
            echo "$cmd: status $status: $stderr"
            return 1
        fi
    done <<EOF
mz-trace -m $D/llama-4-maverick-17b-128e-instruct.json -b 1 -L 2 -o /dev/null
mz-trace -m $D/gpt-oss-20b.json -b 1 -L 2 -o /dev/null
mz-trace -m $D/dbrx-instruct.json -b 1 -L 2 -o /dev/null
mz-trace -m $D/llama-3.1-8b.json
mz-import -m olmoe-1b-7b-0924 -o c.tsv c.json
mz-import -m deepseek-v3 -o ds.tsv $TOP/traces/deepseek-v3.expert-load.json.gz
mz-import -m mixtral-8x7b --fields ids=experts,weights=gating_probs,req=dataset+problem_id --weights -o m.mzt $TOP/traces/mixtral-style.routes.jsonl
mz-fit -m olmoe-1b-7b-0924 -T c.json -i 1 -k 500 -o c.prior
mz-place -a contiguous -W v.json --format vllm -o /dev/null t.mzt
mz-place -R v.json -o /dev/null t.mzt
mz-place -a contiguous -W e.json --format eplb -o /dev/null t.mzt
mz-place -R e.json -o /dev/null t.mzt
EOF
    [ -s c.tsv ] && [ -s ds.tsv ] && [ -s m.mzt ] && [ -s c.prior ] && [ -s v.json ] && [ -s e.json ]
}
