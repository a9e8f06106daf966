#!/usr/bin/env bats
# mz-trace.bats: smoke test of the test harness (the full suite follows).
load helper

@test "mz-trace --help prints the usage on stdout" {
    run mz-trace --help
    assert_success
    assert_line --partial "Usage: mz-trace -m MODEL"
}
