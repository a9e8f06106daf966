# helper.bash: shared set-up for the bats tests: tools on PATH, a scratch dir, assertions.
# bats-support and bats-assert: their sources, read directly (their load.bash
# forks a dirname per file: 15 forks in every test)
for f in /usr/lib/bats/bats-support/src/output.bash /usr/lib/bats/bats-support/src/error.bash \
    /usr/lib/bats/bats-support/src/lang.bash /usr/lib/bats/bats-assert/src/*.bash; do
    source "$f" || return 1
done
unset f

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

# Flip bit BIT (0-7, default 0) of byte OFFSET of FILE, in place.
flip_bit() {
    local file=$1 off=$2 bit=${3:-0} byte
    byte=$(od -A n -t u1 -j "$off" -N 1 "$file" | tr -d ' ')
    printf "\\$(printf %03o $((byte ^ (1 << bit))))" |
        dd of="$file" bs=1 seek="$off" conv=notrunc status=none
}

# Size of FILE in bytes.
file_size() {
    wc -c < "$1" | tr -d ' '
}

# Run a command with a terminal as its standard output (script(1)), so
# that tools see isatty(1); prints what reached the terminal, then the
# line "rc=N". Skips the test when script(1) is missing.
on_tty() {
    command -v script > /dev/null || skip "script(1) is not installed"
    script -qec "$*; echo rc=\$?" /dev/null
}
