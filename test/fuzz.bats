#!/usr/bin/env bats
# fuzz.bats: replay every fuzz seed and every committed crash (test/fuzz/regress/NAME/) through each harness.
load helper

# Run test/fuzz/replay-NAME (built by make check) on the seeds and regression
# inputs of NAME: exit 0, one "ok" line per file, and no sanitizer report or
# failed check (make check asan=1 builds the replays with ASan and UBSan).
replay() {
    local name=$1 files=() f
    for f in "$TOP/test/fuzz/seeds/$name"/* "$TOP/test/fuzz/regress/$name"/*; do
        [ -f "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -gt 0 ]
    [ -x "$TOP/test/fuzz/replay-$name" ] || fail "test/fuzz/replay-$name is not built (make check builds it)"
    run "$TOP/test/fuzz/replay-$name" "${files[@]}"
    [ -z "$output" ] || echo "$output" | grep -v '^ok ' | head -20
    assert_success
    refute_output --partial 'runtime error'
    refute_output --partial 'Sanitizer'
    refute_output --partial 'check failed'
    [ "$(echo "$output" | grep -c '^ok ')" -eq "${#files[@]}" ]
}

@test "fuzz: every harness has seeds, a replay program and a replay test" {
    local n=0 c name
    for c in "$TOP"/test/fuzz/fuzz-*.c; do
        name=$(basename "$c" .c)
        name=${name#fuzz-}
        [ -d "$TOP/test/fuzz/seeds/$name" ] || fail "no seeds for $name"
        [ -x "$TOP/test/fuzz/replay-$name" ] || fail "no replay for $name"
        grep -q "^@test \"fuzz: replay $name\"" "$BATS_TEST_FILENAME" || fail "no replay test for $name"
        n=$((n + 1))
    done
    [ "$n" -ge 8 ]
}

@test "fuzz: replay trace" { replay trace; }
@test "fuzz: replay sched" { replay sched; }
@test "fuzz: replay model" { replay model; }
@test "fuzz: replay import" { replay import; }
@test "fuzz: replay prior" { replay prior; }
@test "fuzz: replay wafer" { replay wafer; }
@test "fuzz: replay placement" { replay placement; }
@test "fuzz: replay loads" { replay loads; }
@test "fuzz: replay counts" { replay counts; }
@test "fuzz: replay placemap" { replay placemap; }
@test "fuzz: replay include" { replay include; }
@test "fuzz: replay speedup" { replay speedup; }
@test "fuzz: replay costset" { replay costset; }

@test "fuzz: a binary seed with a flipped byte, which the reader refuses (checksum), replays cleanly" {
    # a flipped record byte in a binary seed: the reader alone refuses it
    # (checksum), the harness still replays it cleanly
    cp "$TOP/test/fuzz/seeds/trace/wide300.mzt" t.mzt
    flip_bit t.mzt 300 1
    run mz-view -t t.mzt
    assert_failure
    assert_output --partial 'checksum mismatch'
    run "$TOP/test/fuzz/replay-trace" t.mzt
    assert_success
    assert_output "ok t.mzt"
}
