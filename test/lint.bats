#!/usr/bin/env bats
# lint.bats: test/lint-bats (run by make check) refuses a bare ! that is not its test's last command.
load helper
bats_require_minimum_version 1.5.0

@test "lint-bats: a planted bare ! before the test's end is refused, naming file:line" {
    printf '%s\n' '@test "planted" {' '    true' '    ! grep -q x /dev/null' '    echo after' '}' > planted.bats
    run -1 "$TOP/test/lint-bats" "$PWD/planted.bats"
    assert_line --index 1 'not ok 1 - a bare ! before the last command of a bats test'
    assert_line --partial "$PWD/planted.bats:3: a bare ! that is not its test's last command"
    [ "${#lines[@]}" -eq 3 ]
}

@test "lint-bats: one in a helper function, or in a loop before done, is refused too" {
    printf '%s\n' 'check() {' '    ! false' '    true' '}' '@test "loop" {' '    for i in 1 2; do' '        ! false' '    done' '}' > planted.bats
    run -1 "$TOP/test/lint-bats" planted.bats
    assert_line --partial 'planted.bats:2: a bare !'
    assert_line --partial 'planted.bats:7: a bare !'
}

@test "lint-bats: the last command, run !, if ...; then false; fi and continued lines pass" {
    printf '%s\n' '@test "fine" {' '    run ! false' '    if true; then false; fi || true' '    ! grep -q x \' '        /dev/null' '' '    # a comment' '}' \
        '@test "also" {' '    ! true' '}' > fine.bats
    run -0 "$TOP/test/lint-bats" fine.bats
    assert_line --index 1 'ok 1 - no bare ! before the last command of a bats test, 1 files'
}
