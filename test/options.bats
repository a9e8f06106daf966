#!/usr/bin/env bats
# options.bats: every tool's short options follow the toolkit's table of letters in mozart-tools(7).
load helper
bats_require_minimum_version 1.5.0

PAGE="$TOP/lib/mozart-tools.7"

# The rows of table N (1: the letters, 2: the exceptions) of the page, tab-separated, header and rule dropped.
page_table() {
    awk -v want="$1" '/^\.TS/ { n++; row = 0; inside = 1; next } /^\.TE/ { inside = 0; next }
        inside && n == want { if (++row > 3) print }' "$PAGE"
}

# Every tool's "-X, --long" pairs as "tool<TAB>-X<TAB>--long", from its --help.
help_pairs() {
    local t
    for t in "$TOP"/bin/mz-*; do
        case $t in *.c|*.1) continue ;; esac
        [ -x "$t" ] || continue
        "$t" --help | sed -n "s/^ *\(-[A-Za-z]\), \(--[a-z-]*\).*/$(basename "$t")	\1	\2/p"
    done
}

@test "mozart-tools(7): the tables read, each letter once, and the page renders" {
    run -0 page_table 1
    [ "${#lines[@]}" -ge 25 ]
    [ -z "$(page_table 1 | cut -f 1 | sort | uniq -d)" ]
    [ "$(page_table 1 | awk -F'\t' 'NF != 4 || $1 !~ /^-[A-Za-z]$/ || $2 !~ /^--[a-z-]+$/' | wc -l)" -eq 0 ]
    run -0 page_table 2
    [ "${#lines[@]}" -ge 1 ]
    [ "$(page_table 2 | awk -F'\t' 'NF != 4 || $1 !~ /^mz-/ || $2 !~ /^-[A-Za-z]$/' | wc -l)" -eq 0 ]
    # an exception is one: its letter has another meaning in the table
    run -0 awk -F'\t' 'NR == FNR { long[$1] = $2; next } !($2 in long) || long[$2] == $3 || long[$2] != $4 { print "not an exception:", $0 }' \
        <(page_table 1) <(page_table 2)
    assert_output ""
    run -0 sh -c "MANWIDTH=200 man -l '$PAGE' 2>&1 > /dev/null"
    assert_output ""
}

@test "every tool's --help: each short option has a long one, and the pair is the table's or a listed exception" {
    run -0 help_pairs
    [ "${#lines[@]}" -ge 60 ]
    # a short option shown without its long name
    for t in "$TOP"/bin/mz-*; do
        case $t in *.c|*.1) continue ;; esac
        run -0 sh -c "'$t' --help | grep -E '^ +-[A-Za-z]( |,|$)' | grep -vE '^ +-[A-Za-z], --[a-z]'; true"
        [ -z "$output" ] || { echo "$t: a short option without a long one: $output"; return 1; }
    done
    run -0 awk -F'\t' 'FILENAME == ARGV[1] { long[$1] = $2; split($4, ts, ","); for (i in ts) has[ts[i], $1] = 1; next }
        FILENAME == ARGV[2] { exc[$1, $2] = $3; next }
        { seen[$1, $2] = 1
          if (($1, $2) in exc) { if (exc[$1, $2] != $3) print $1 " " $2 " is " $3 ", the page lists it as " exc[$1, $2] " (EXCEPTIONS)"; next }
          if (!($2 in long)) print $1 " " $2 " " $3 ": the letter is not in the table"
          else if (long[$2] != $3) print $1 " " $2 " " $3 ": the table has " $2 " for " long[$2]
          else if (!(($1, $2) in has)) print $1 " " $2 " " $3 ": the table does not list " $1 " among its tools" }
        END { for (k in has) if (!(k in seen)) { split(k, p, SUBSEP); print p[1] " " p[2] ": listed in the table, not in its --help" }
              for (k in exc) if (!(k in seen)) { split(k, p, SUBSEP); print p[1] " " p[2] ": a listed exception it no longer has" } }' \
        <(page_table 1) <(page_table 2) <(help_pairs)
    assert_output ""
}

@test "the man pages' OPTIONS agree with --help on every short letter" {
    for page in "$TOP"/bin/mz-*.1; do
        t=$(basename "$page" .1)
        # letters of the OPTIONS section: lines '.BR \-X ", " \-\-long ...'
        got=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$page" |
            sed -nE 's/^\.B[IR]? \\-([A-Za-z]) ", (" )?\\-\\-([a-z\\-]+).*/-\1 --\3/p' | sed 's/\\-/-/g' | sort -u)
        want=$(help_pairs | awk -F'\t' -v t="$t" '$1 == t { print $2 " " $3 }' | sort -u)
        [ "$got" = "$want" ] || { echo "$t: page"; echo "$got"; echo "help"; echo "$want"; return 1; }
    done
}

@test "the stream writers share -u, -t and --level: -u wins over --level in either order, -u with -t exits 2" {
    mz-trace -m mixtral-8x7b -b 2 -L 4 -u -o t.mzt
    for cmd in "mz-trace -m mixtral-8x7b -b 2 -L 4" "mz-place -c 8 -g 2 t.mzt" "mz-import -q -m qwen1.5-moe-a2.7b -d all $TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz"; do
        for form in "-u --level 9" "--level 9 -u"; do
            [ "$($cmd $form | head -c 2)" = MZ ] || { echo "$cmd $form: not uncompressed"; return 1; }
        done
        [ "$($cmd --level 9 | head -c 2 | od -A n -t x1 | tr -d ' ')" = 1f8b ]
        run -2 --separate-stderr $cmd -u -t
        [[ "$stderr" == *"-u and -t exclude each other"* ]]
    done
    mz-place -c 8 -g 2 -u t.mzt > p.mzt
    for form in "-u --level 9" "--level 9 -u"; do
        [ "$(mz-sched -M 2 --slices 2 $form p.mzt | head -c 2)" = MZ ]
    done
    run -2 --separate-stderr mz-sched -M 2 -u -t p.mzt
    [[ "$stderr" == *"-u and -t exclude each other"* ]]
}
