#!/usr/bin/env bats
# cli.bats: the command line every tool shares, checked from one table over all of them
# (the C programs and the scripts in bin/): --help and -h, --version, the usage line
# against the man page's SYNOPSIS, a bad option, and the man page's EXAMPLES. The
# per-tool files test what is each tool's own (its option values, its messages).
load helper
bats_require_minimum_version 1.5.0

# Every tool: each executable bin/mz-* without a suffix (programs and scripts).
tools() {
    local t
    for t in "$TOP"/bin/mz-*; do
        case ${t##*/} in *.*) continue ;; esac
        [ -x "$t" ] && echo "${t##*/}"
    done
}

# Squeeze blanks and newlines to single spaces, trimmed.
squeeze() { tr -s ' \t\n' '   ' | sed 's/^ //; s/ $//'; }

# The usage of --help: its first line without "Usage: ", with the indented lines under it.
help_usage() {
    "$1" --help | awk 'NR == 1 { sub(/^Usage: /, ""); print; next } /^ / { print; next } { exit }' | squeeze
}

# The man page's SYNOPSIS as man renders it, on one line.
synopsis() {
    MANWIDTH=1000 man -l "$TOP/bin/$1.1" 2> /dev/null | sed -n '/^SYNOPSIS/,/^[A-Z]/{/^[A-Z]/d;p;}' | squeeze
}

# The long options the man page's OPTIONS defines (the line after each .TP).
page_long_options() {
    sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$TOP/bin/$1.1" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' |
        grep -o '\\-\\-[a-z][a-z\\-]*' | sed 's/\\-/-/g' | sort -u
}

# Run the examples of TOOL's man page in the scratch directory, each with bash -c, with the
# sample traces and test data linked in; example N's output is in ex-N.out and ex-N.err.
# Fails naming the first example that fails; then each FILE given must be non-empty.
run_examples() {
    local tool=$1 cmd n=0
    shift
    ln -s "$TOP/traces" traces
    ln -s "$TOP/test" test
    man_examples "$tool" > examples
    [ -s examples ] || { echo "$tool: no examples in its man page"; return 1; }
    while IFS= read -r cmd; do
        n=$((n + 1))
        if ! bash -c "$cmd" > "ex-$n.out" 2> "ex-$n.err" < /dev/null; then
            echo "$tool: example $n failed: $cmd"
            cat "ex-$n.out" "ex-$n.err"
            return 1
        fi
    done < examples
    for f in "$@"; do
        [ -s "$f" ] || { echo "$tool: the examples wrote no $f"; return 1; }
    done
}

@test "every tool has a man page, and every page in bin/ a tool; all are in the table below" {
    run -0 tools
    [ "${#lines[@]}" -ge 11 ]
    for t in $(tools); do
        [ -f "$TOP/bin/$t.1" ] || { echo "$t: no bin/$t.1"; return 1; }
        grep -q "^@test \"$t: the man page's examples" "$BATS_TEST_FILENAME" || { echo "$t: no examples row"; return 1; }
    done
    for page in "$TOP"/bin/mz-*.1; do
        [ -x "${page%.1}" ] || { echo "$page: no tool"; return 1; }
    done
}

@test "--help and -h: exit 0, the same text on stdout, nothing on stderr, a Usage line" {
    for t in $(tools); do
        run -0 --separate-stderr "$t" --help
        [ -z "$stderr" ] || { echo "$t --help: stderr: $stderr"; return 1; }
        [[ "${lines[0]}" == "Usage: $t "* ]] || { echo "$t --help: first line: ${lines[0]}"; return 1; }
        [ "${#lines[@]}" -ge 5 ] || { echo "$t --help: ${#lines[@]} lines"; return 1; }
        help=$output
        run -0 --separate-stderr "$t" -h
        [ "$output" = "$help" ] || { echo "$t: -h is not --help"; return 1; }
    done
}

@test "--help to a full disk: exit 1 and the write error on stderr" {
    for t in $(tools); do
        run -1 --separate-stderr sh -c "$t --help > /dev/full"
        [[ "$stderr" == *"write error"* ]] || { echo "$t --help > /dev/full: stderr: $stderr"; return 1; }
    done
}

@test "--help's usage is the man page's SYNOPSIS, form for form" {
    for t in $(tools); do
        u=$(help_usage "$t")
        s=$(synopsis "$t")
        [ -n "$s" ] || { echo "$t: no SYNOPSIS"; return 1; }
        [ "$u" = "$s" ] || { printf '%s:\n  --help:   %s\n  SYNOPSIS: %s\n' "$t" "$u" "$s"; return 1; }
    done
}

@test "--help names every long option the man page's OPTIONS defines" {
    for t in $(tools); do
        run -0 page_long_options "$t"
        [ "${#lines[@]}" -ge 4 ] || { echo "$t: ${#lines[@]} options in OPTIONS"; return 1; }
        help=$("$t" --help)
        for o in "${lines[@]}"; do
            [[ "$help" == *"$o"* ]] || { echo "$t: $o is in OPTIONS, not in --help"; return 1; }
        done
    done
}

@test "--version: exit 0, 'TOOL (mozart-tools) VERSION' on stdout, one version for all" {
    for t in $(tools); do
        run -0 --separate-stderr "$t" --version
        [ -z "$stderr" ] || { echo "$t --version: stderr: $stderr"; return 1; }
        [[ "$output" =~ ^$t\ \(mozart-tools\)\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "$t --version: $output"; return 1; }
        echo "${output##* }"
    done > versions
    [ "$(sort -u versions | wc -l)" -eq 1 ]
}

@test "a bad option: exit 2 naming it, the usage and a pointer to --help on stderr, nothing on stdout" {
    for t in $(tools); do
        for bad in --no-such-option -Q; do
            run -2 --separate-stderr "$t" $bad
            [ -z "$output" ] || { echo "$t $bad: stdout: $output"; return 1; }
            case $bad in
            --*) [[ "$stderr" == *"'$bad'"* ]] ;;
            *) [[ "$stderr" == *"'$bad'"* || "$stderr" == *"-- '${bad#-}'"* ]] ;;
            esac || { echo "$t $bad: the message does not name the option: $stderr"; return 1; }
            [[ "$stderr" == *"Usage: $t "* ]] || { echo "$t $bad: no usage: $stderr"; return 1; }
            [[ "$stderr" == *"Try '$t --help' for more information."* ]] || { echo "$t $bad: $stderr"; return 1; }
        done
    done
}

# ---------------------------------------------------------------- the man pages' examples, one row per tool

@test "mz-cost: the man page's examples run" {
    run_examples mz-cost step0.json breakdown.tsv resources.tsv footprint.tsv
}

@test "mz-fit: the man page's examples run" {
    run_examples mz-fit olmoe.prior olmoe.mzt ds.prior q15.prior fit.tsv
}

@test "mz-import: the man page's examples run" {
    run_examples mz-import qwen.mzt mine.csv mixtral.mzt ds.tsv ds.prior sg.tsv eplb.tsv
}

@test "mz-place: the man page's examples run" {
    run_examples mz-place mozart.tsv mozart.placement.tsv mozart.vllm.json
    [ "$(awk -F'\t' '/^#/ { next } !h { for (i = 1; i <= NF; i++) if ($i == "group_alloc") k = i; h = 1; next }
        $1 == "all" { print $k }' mozart.tsv)" = exact ]
    grep -q '^0	0	' mozart.placement.tsv
}

@test "mz-sched: the man page's examples run" {
    run_examples mz-sched baseline.mzs A.mzs B.mzs C.mzs
}

@test "mz-speedup: the man page's examples run; the first prints the table shown under it" {
    run_examples mz-speedup ds/C.cost
    [ "$(wc -l < examples)" -ge 6 ]
    [ "$(head -n 1 examples)" = "mz-speedup -m qwen3-30b-a3b" ]
    # the design does not fit its memories (as the man page says): the Baseline's warning, once
    [ "$(grep -c 'does not fit' ex-1.err)" -eq 1 ]
    # the table shown under the first example (columns aligned by spaces there)
    sed -n '/^\$ mz-speedup -m qwen3-30b-a3b$/,/^\.fi/p' "$TOP/bin/mz-speedup.1" | sed '1d;$d' | tr -s ' ' '\t' > shown.tsv
    [ "$(wc -l < shown.tsv)" -eq 5 ]
    grep -v '^#' ex-1.out | diff shown.tsv -
}

@test "mz-stat: the man page's examples run" {
    run_examples mz-stat olmoe.mzt loads.tsv coact.tsv
}

@test "mz-sweep: the man page's examples run" {
    run_examples mz-sweep paper.tsv geo.sbatch geo.png
    [ "$(wc -l < examples)" -ge 8 ]
    [ "$(grep -vc '^#' paper.tsv)" -eq 73 ]
    grep -q '^#SBATCH --array=1-4$' geo.sbatch
}

@test "mz-trace: the man page's examples run" {
    run_examples mz-trace v3.mzt a.mzt
    [ "$(wc -l < examples)" -ge 5 ]
}

@test "mz-validate: the man page's examples run" {
    skip "they run the paper's whole table (about 70 s, as make validate does); mz-validate.bats runs one model"
}

@test "mz-view: the man page's examples run" {
    run_examples mz-view t.mzt t.txt back.mzt
    [ "$(wc -l < examples)" -ge 5 ]
}
