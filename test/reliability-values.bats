#!/usr/bin/env bats
# reliability-values.bats: issue 14, class 7: values valid alone and absurd together. Random
# -S KEY=VALUE overrides of every numeric wafer field (1e-300 to 1e300) on the main pipeline:
# each run either succeeds with finite numbers in every output, or exits 1 naming a field.
load helper

WAFER=wafer-olmoe-1b-7b-0924

setup_file() {
    local d=$BATS_FILE_TMPDIR
    mz-trace -m olmoe-1b-7b-0924 -b 4 -L 16 -u -o "$d/t.mzt" || return 1
    mz-place -a mozart -u -o "$d/p.mzt" "$d/t.mzt" || return 1
    mz-sched -V C -w $WAFER -o "$d/C.mzs" "$d/p.mzt" || return 1
    mz-sched -V baseline -w $WAFER -o "$d/baseline.mzs" "$d/p.mzt" || return 1
}

# The numeric fields of a wafer, from the parser's own table.
numeric_fields() {
    sed -n 's/^ *{"\([a-z_]*\.[a-zA-Z_]*\)", F_\(NUM\|INT\).*/\1/p' "$TOP/lib/wafer.c"
}

# N lines of 1 to 3 "-S FIELD=VALUE" overrides, values 10^U(-300, 300) (or a small integer for
# integer fields, sometimes 0), from a fixed seed.
draws() {
    numeric_fields | awk -v n="$1" -v seed="$2" '{f[NR] = $1} END {
        srand(seed)
        for (i = 0; i < n; i++) {
            k = 1 + int(rand() * 3); line = ""
            for (j = 0; j < k; j++) {
                fld = f[1 + int(rand() * NR)]
                r = rand()
                if (r < 0.1) v = 0
                else if (r < 0.3) v = int(rand() * 100)
                else v = sprintf("%.3ge%d", 1 + rand() * 8.99, int(rand() * 601) - 300)
                line = line " -S " fld "=" v
            }
            print line
        }}'
}

# One run: exit 0 with no nan or inf in any output, or exit 1 naming a wafer field.
check_run() {
    local out rc
    rm -f s.tsv b.tsv r.tsv f.tsv t.json
    out=$(mz-cost -w $WAFER "$@" -o s.tsv -b b.tsv -r r.tsv -F f.tsv -T t.json 2>&1) && rc=0 || rc=$?
    if [ $rc -eq 0 ]; then
        if cat s.tsv b.tsv r.tsv f.tsv t.json | grep -Eiq '(^|[^a-z])-?(nan|inf)([^a-z]|$)'; then
            echo "nan or inf with exit 0: $*"
            return 1
        fi
    elif [ $rc -eq 1 ]; then
        if ! printf '%s\n' "$out" | grep -Eq "$FIELDS_RE"; then
            echo "exit 1 without naming a field: $*: $out"
            return 1
        fi
        [ ! -e s.tsv ] || [ ! -s s.tsv ] || { echo "exit 1 left a summary behind: $*"; return 1; }
    else
        echo "exit $rc: $*: $out"
        return 1
    fi
}

@test "class 7: 200 random -S overrides (1e-300 to 1e300) on mz-cost: finite numbers or exit 1 naming a field" {
    FIELDS_RE=$(numeric_fields | paste -sd'|' | sed 's/\./\\./g')
    ok=0 refused=0
    while read -r sets; do
        for v in C baseline; do
            # shellcheck disable=SC2086
            check_run $sets "$BATS_FILE_TMPDIR/$v.mzs"
            [ -s s.tsv ] && ok=$((ok + 1)) || refused=$((refused + 1))
        done
    done < <(draws 100 7)
    echo "# $ok timed, $refused refused" >&3
    # both outcomes occur: the draws reach the edges and the middle
    [ "$ok" -gt 10 ] && [ "$refused" -gt 10 ]
}

@test "class 7: rates valid alone, absurd together: an overlong step is refused naming the resource and its fields" {
    run mz-cost -w $WAFER -S links.wire_GBps=1e-300 -S links.wires_per_mm=1e-3 "$BATS_FILE_TMPDIR/C.mzs"
    [ "$status" -eq 1 ]
    refute_output --regexp '(nan|inf)'
    run mz-cost -w $WAFER -S memory.bandwidth_GBps=1e-300 "$BATS_FILE_TMPDIR/C.mzs"
    [ "$status" -eq 1 ]
    assert_output --regexp 'step 0 takes [0-9.e+]+ s, past the 1e\+09 s a step may take: D[0-9A]+ \(.* DRAM\) holds one op'
    assert_output --partial "memory.bandwidth_GBps"
    run mz-cost -w $WAFER -S root.dispatch_Bpc=1e-20 "$BATS_FILE_TMPDIR/C.mzs"
    [ "$status" -eq 1 ]
    assert_output --partial "RD (root dispatcher)"
    assert_output --partial "root.dispatch_Bpc"
}

@test "class 7: mz-speedup with absurd overrides exits 1 naming the field, no nan or inf" {
    for s in memory.bandwidth_GBps=1e-300 links.wire_GBps=1e-250 compute.clock_GHz=1e-300 root.dispatch_Bpc=1e300; do
        run mz-speedup -m olmoe-1b-7b-0924 -b 4 -L 16 -n 1 -S "$s"
        [ "$status" -eq 1 ]
        assert_output --partial "${s%%=*}"
        refute_output --regexp '(nan|inf)'
    done
}
