#!/usr/bin/env bats
# locale.bats: the same bytes under any locale (issue 14): the main pipeline, mz-speedup and make
# under a comma-decimal locale (de_DE.UTF-8, installed by .ci/deps) and with only LC_NUMERIC set.
load helper
bats_require_minimum_version 1.5.0

COMMA=de_DE.UTF-8

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    # no skip: a machine without the locale cannot show what this file checks
    locale -a 2>/dev/null | grep -qix 'de_DE\.utf-\?8' ||
        fail "the locale $COMMA is not installed (run .ci/deps as root: it generates it)"
    [ "$(env LC_ALL=$COMMA /usr/bin/printf '%.2f' 0.5 2>/dev/null)" = "0,50" ] || fail "$COMMA does not write decimal commas"
}

# Run "$@" in directory $1 under the C locale, under $COMMA and with only
# LC_NUMERIC=$COMMA (LANG=C), each in its own directory; then every file
# and the output must be the same bytes in all three.
same_bytes() {
    local dir=$1 name
    shift
    for name in c comma numeric; do
        mkdir -p "$name/$dir"
        case $name in
        c) (cd "$name/$dir" && env -u LC_NUMERIC LC_ALL=C "$@" > out 2> err) ;;
        comma) (cd "$name/$dir" && env LC_ALL=$COMMA "$@" > out 2> err) ;;
        numeric) (cd "$name/$dir" && env -u LC_ALL LANG=C LC_NUMERIC=$COMMA "$@" > out 2> err) ;;
        esac || { echo "$name: status $?: $*"; cat "$name/$dir/err"; return 1; }
    done
    diff -r c/"$dir" comma/"$dir"
    diff -r c/"$dir" numeric/"$dir"
}

@test "locale: the main pipeline gives the same bytes under $COMMA and LC_NUMERIC=$COMMA" {
    same_bytes pipe sh -c 'mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -L 32 -u -o t.mzt &&
        mz-stat --loads loads.tsv --coact coact.tsv t.mzt > stat.tsv &&
        mz-place -a mozart -r r.tsv -W placement.tsv -u t.mzt | mz-sched -V C -u |
        mz-cost -w wafer-olmoe-1b-7b-0924 -S links.wire_GBps=1.5 -b breakdown.tsv -r resources.tsv -T timeline.json -o cost.tsv &&
        mz-view -t t.mzt > t.txt && mz-fit -m olmoe-1b-7b-0924 -r t.mzt -i 2 -k 500 -o fit.prior &&
        cut -f 1-13 r.tsv > report.tsv && rm r.tsv' # (without place_s, a time)
    # the numbers have decimals to lose
    grep -q '\.[0-9]' c/pipe/cost.tsv
}

@test "locale: mz-speedup gives the same bytes under $COMMA and LC_NUMERIC=$COMMA" {
    same_bytes speedup mz-speedup -m olmoe-1b-7b-0924 -n 1 -b 8 -L 32 -S memory.bandwidth_GBps=256.5
    grep -q $'^olmoe-1b-7b-0924\tMozart-C\t0\\.' c/speedup/out
}

@test "locale: mz-speedup reads counts as the C tools do: decimal, never octal (-c 016 is 16, -c 08 is 8)" {
    local o="-m olmoe-1b-7b-0924 -n 1 -b 8 -L 32"
    mz-speedup $o -c 16 -g 4 > a.tsv
    mz-speedup $o -c 016 -g 04 > b.tsv
    cmp a.tsv b.tsv
    mz-speedup $o -c 8 -g 4 -n 01 > c.tsv
    mz-speedup $o -c 08 -g 4 -n 1 > d.tsv
    cmp c.tsv d.tsv
    mz-speedup $o -c +8 -g 4 > e.tsv
    cmp c.tsv e.tsv
    # as mz-place reads them
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 1 -L 4 -u -o t.mzt
    [ "$(mz-place -c 016 -a contiguous -t t.mzt | grep '^@PT')" = "$(mz-place -c 16 -a contiguous -t t.mzt | grep '^@PT')" ]
    run -2 --separate-stderr mz-speedup $o -c 0x10
    [[ "$stderr" == "mz-speedup: --chiplets: '0x10' is not a positive integer"* ]]
    run -2 --separate-stderr mz-speedup $o -n 0000
    [[ "$stderr" == "mz-speedup: --steps: '0000' is not a positive integer"* ]]
    run -2 --separate-stderr mz-speedup $o -n 1234567890123456789012
    [[ "$stderr" == "mz-speedup: --steps: 1234567890123456789012 is out of range"* ]]
}

@test "locale: make runs every rule under a C locale (LC_ALL exported); make demo: the same bytes" {
    run -0 env LC_ALL=$COMMA make -s -C "$TOP" --eval 'locale-of-rules: ; @echo "$$LC_ALL"' locale-of-rules
    assert_output --regexp '^C(\.UTF-8)?$'
    run -0 env -u LC_ALL LC_NUMERIC=$COMMA make -s -C "$TOP" --eval 'locale-of-rules: ; @echo "$$LC_ALL"' locale-of-rules
    assert_output --regexp '^C(\.UTF-8)?$'
    same_bytes demo make -s -C "$TOP" demo
}
