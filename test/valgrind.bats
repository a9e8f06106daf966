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
