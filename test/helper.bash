# helper.bash: shared set-up for the bats tests: tools on PATH, a scratch dir, assertions.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
PATH="$TOP/bin:$PATH"
export LC_ALL=C MZ_MODELS="$TOP/models"

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
}

# Run the examples of a man page's EXAMPLES section, one per line that starts
# with "$ " (the rest of the line is the command), in the scratch directory.
man_examples() {
    sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$TOP/bin/$1.1" | sed -n 's/^\\\$ //p; s/^\$ //p'
}
