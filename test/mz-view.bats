#!/usr/bin/env bats
# mz-view.bats: tests of mz-view, which shows, selects from, counts and converts mz streams.
load helper
bats_require_minimum_version 1.5.0

USAGE="Usage: mz-view [-H | -c | -t | -b [-u]] [-n STEPS] [-l LAYERS] [-o FILE] [FILE]"

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    # 3 steps x 4 sequences x 8 tokens = 96 records of OLMoE (16 layers, top-8, 64 experts)
    mz-trace -m olmoe-1b-7b-0924 -n 3 -b 4 -L 8 -s 3 -o t.mzt
    mz-trace -m olmoe-1b-7b-0924 -n 3 -b 4 -L 8 -s 3 -u -o u.mzt
    mz-trace -m olmoe-1b-7b-0924 -n 3 -b 4 -L 8 -s 3 -t -o t.txt
}

# The summary table an independent reader computes from a text trace:
# per layer field, the most selected expert (lowest id on a tie), its share
# and that share over the uniform share; then the 'all' row.
summary_awk() {
    awk -F'\t' -v E="$1" -v K="$2" '
        /^@TR/ { for (i = 2; i <= NF; i++) if ($i ~ /^layers:/) lay = substr($i, 8) }
        /^@/ { next }
        { tokens++; for (i = 4; i <= NF; i++) { n = split($i, id, ","); for (j = 1; j <= n; j++) { split(id[j], p, ":"); c[i, p[1]]++ } } ; L = NF - 3 }
        END {
            nl = split(expand(lay), layer, ",")
            print "#summary"; print "layer\ttokens\tselections\thottest_expert\thottest_share\thottest_over_uniform"
            sel = tokens * K
            for (i = 4; i < 4 + L; i++) {
                best = 0
                for (e = 0; e < E; e++) if (c[i, e] > c[i, best]) best = e
                share = sel ? c[i, best] / sel : 0; mean += share / L
                printf "%d\t%d\t%d\t%d\t%.4f\t%.2f\n", layer[i - 3], tokens, sel, best, share, share * E
            }
            printf "all\t%d\t%d\t-\t%.4f\t%.2f\n", tokens, sel * L, mean, mean * E
        }
        function expand(s,    out, parts, n, i, ab, a) {
            n = split(s, parts, ","); out = ""
            for (i = 1; i <= n; i++) {
                if (split(parts[i], ab, "-") == 2) { for (a = ab[1]; a <= ab[2]; a++) out = out (out == "" ? "" : ",") a }
                else out = out (out == "" ? "" : ",") parts[i]
            }
            return out
        }' "${@:3}"
}

@test "bad options exit 2 with the usage on stderr and nothing on stdout" {
    for bad in "-H -c" "-t -b" "-c -t" "-u" "-t -u" "t.mzt t.txt" "t.mzt -s" "t.mzt -o"; do
        run -2 --separate-stderr mz-view t.mzt $bad
        [ -z "$output" ]
        [[ "$stderr" == *"$USAGE"* ]]
        [[ "$stderr" == *"Try 'mz-view --help' for more information."* ]]
    done
    run -2 --separate-stderr mz-view -H -c t.mzt
    [[ "$stderr" == *"mz-view: -H, -c, -t and -b exclude each other"* ]]
    run -2 --separate-stderr mz-view -u t.mzt
    [[ "$stderr" == *"mz-view: -u goes with -b"* ]]
}

@test "bad selections and missing files exit 1 with a message" {
    run -1 --separate-stderr mz-view -n 3 t.mzt
    [ -z "$output" ]
    [ "$stderr" = "mz-view: --steps: 3 is out of range [0, 2]" ]
    run -1 --separate-stderr mz-view -n 0-x t.mzt
    [[ "$stderr" == *"--steps: 'x' is not an integer"* ]]
    run -1 --separate-stderr mz-view -l 16 t.mzt
    [ "$stderr" = "mz-view: --layers: 16 is out of range [0, 15]" ]
    mz-view -l 0-3 -b t.mzt > part.mzt
    run -1 --separate-stderr mz-view -l 5 part.mzt
    [ "$stderr" = "mz-view: --layers: layer 5 is not in the trace" ]
    run -1 --separate-stderr mz-view no-such-file
    [ "$stderr" = "mz-view: no-such-file: No such file or directory" ]
    mkdir d
    run -1 --separate-stderr mz-view d
    [ "$stderr" = "mz-view: d: is a directory" ]
    printf 'hello\n' > hello.txt
    run -1 --separate-stderr mz-view hello.txt
    [ "$stderr" = "mz-view: hello.txt: not an mz stream (no MZ magic and no @HD header line)" ]
    : > empty
    run -1 --separate-stderr mz-view empty
    [ "$stderr" = "mz-view: empty: empty input" ]
}

@test "the summary: header, then per-layer counts an independent reader agrees with" {
    run -0 mz-view t.mzt
    assert_line --index 0 $'@HD\tVN:1.0\tKD:trace'
    assert_line --index 5 "#summary"
    assert_line --index 6 $'layer\ttokens\tselections\thottest_expert\thottest_share\thottest_over_uniform'
    assert_line --index 7 --regexp $'^0\t96\t768\t[0-9]+\t0\\.[0-9]{4}\t[0-9]+\\.[0-9]{2}$'
    [ "${#lines[@]}" -eq $((5 + 2 + 16 + 1)) ]
    diff <(mz-view t.mzt | sed -n '/^#summary/,$p') <(summary_awk 64 8 t.txt)
    # the 'all' row adds the selections of the 16 layers
    assert_line --index 23 --regexp $'^all\t96\t12288\t-\t'
}

@test "-H prints the header only: the text form's header lines" {
    run -0 mz-view -H t.mzt
    [ "${#lines[@]}" -eq 5 ]
    [ "$output" = "$(grep '^@' t.txt | grep -v '^@EOF' | sed 's/ -t -o t.txt$/ -o t.mzt/')" ]
    [ "$(mz-view -H t.mzt | tail -1 | cut -f1-3)" = $'@PG\tID:0\tPN:mz-trace' ]
}

@test "-c counts steps x seqs x seq_len records, and the selected ones" {
    run -0 mz-view -c t.mzt
    assert_output 96
    run -0 mz-view -c -n 1 t.mzt
    assert_output 32
    run -0 mz-view -c -n 0,2 t.mzt
    assert_output 64
    run -0 mz-view -c -n 0-2 t.mzt
    assert_output 96
    run -0 mz-view -c -l 3 t.mzt
    assert_output 96
    run -0 sh -c 'mz-trace -m qwen1.5-moe-a2.7b -n 2 -b 5 -L 7 -u | mz-view -c'
    assert_output 70
}

@test "- is standard input, as is no file; plain and gzip, binary and text read alike" {
    want=$(mz-view t.mzt | sed -n '/^#summary/,$p')
    gzip -c t.txt > t.txt.gz
    gzip -c u.mzt > u2.mzt # a gzip file made by gzip(1), not by mz-trace
    for f in t.mzt u.mzt t.txt t.txt.gz u2.mzt; do
        [ "$(mz-view $f | sed -n '/^#summary/,$p')" = "$want" ]
        [ "$(mz-view - < $f | sed -n '/^#summary/,$p')" = "$want" ]
        [ "$(mz-view < $f | sed -n '/^#summary/,$p')" = "$want" ]
        [ "$(cat $f | mz-view -c)" = 96 ]
    done
    # the name does not matter, the content does
    cp t.txt.gz looks-plain.txt
    [ "$(mz-view -c looks-plain.txt)" = 96 ]
}

@test "text -> binary -> text and binary -> text -> binary are byte-identical" {
    mz-view -b t.txt > b.mzt
    mz-view -t b.mzt | cmp - t.txt
    mz-view -b -u t.txt > bu.mzt
    mz-view -t bu.mzt | cmp - t.txt
    # binary -> text -> binary, uncompressed and gzip
    mz-view -t u.mzt | mz-view -b -u | cmp - u.mzt
    mz-view -t u.mzt > u.txt
    mz-view -b -u u.txt -o u2.mzt
    cmp u.mzt u2.mzt
    mz-view -t t.mzt | mz-view -b | cmp - t.mzt
    # a plain conversion adds no @PG line
    [ "$(mz-view -H b.mzt | grep -c '^@PG')" -eq 1 ]
}

@test "with gate weights the conversions are lossless too" {
    mz-trace -m deepseek-v2-lite -b 2 -L 16 --weights -t > w.txt
    grep -q '^0'$'\t''0'$'\t''0'$'\t''[0-9]*:0\.[0-9]' w.txt
    mz-view -b w.txt | mz-view -t | cmp - w.txt
    mz-trace -m deepseek-v2-lite -b 2 -L 16 --weights -u > w.mzt
    mz-view -t w.mzt | mz-view -b -u | cmp - w.mzt
    diff <(mz-view w.mzt | sed -n '/^#summary/,$p') <(summary_awk 64 6 w.txt)
}

@test "-n keeps the chosen steps and records the selection in @PG" {
    mz-view -t -n 2,0 t.mzt > s.txt
    run -0 sh -c "grep -v '^@' s.txt | cut -f1 | uniq -c | awk '{ print \$1, \$2 }'"
    assert_output $'32 0\n32 2'
    grep -q $'^@TR\tsteps:3\t' s.txt # the bound stays
    [ "$(grep -c '^@PG' s.txt)" -eq 2 ]
    grep -q $'^@PG\tID:1\tPN:mz-view\tVN:0.1.0\tCL:.*mz-view -t -n 2,0 t.mzt$' s.txt
    grep -q $'^@EOF\t64$' s.txt
    # the kept records are those of the full trace
    diff <(grep -v '^@' s.txt) <(grep -v '^@' t.txt | awk -F'\t' '$1 != 1')
    # the summary of a selection counts the selection
    run -0 sh -c "mz-view -n 1 t.mzt | awk -F'\t' '\$1 == \"all\" { print \$2 }'"
    assert_output 32
}

@test "-l keeps the chosen layers: @TR layers, and the same ids" {
    mz-view -t -l 15,0-1 t.mzt > l.txt
    grep -q $'^@TR\tsteps:3\tseqs:4\tseq_len:8\tlayers:0-1,15\tweights:0$' l.txt
    grep -q $'^@MD\tname:olmoe-1b-7b-0924\t' l.txt
    # layers 0, 1 and 15 are fields 4, 5 and 19 of the full trace
    diff <(grep -v '^@' l.txt) <(grep -v '^@' t.txt | cut -f1-5,19)
    # its summary rows are those of the full summary
    diff <(mz-view l.txt | awk -F'\t' '$1 ~ /^[0-9]+$/') <(mz-view t.mzt | awk -F'\t' '$1 == 0 || $1 == 1 || $1 == 15')
    # binary selections read back the same
    mz-view -b -l 15,0-1 t.mzt | mz-view -t > lb.txt
    diff <(grep -v '^@PG' lb.txt) <(grep -v '^@PG' l.txt)
    # -l and -n together
    run -0 mz-view -c -l 4 -n 2 t.mzt
    assert_output 32
}

@test "a truncated gzip trace: every mode exits 1 naming the problem, -o leaves no file" {
    size=$(file_size t.mzt)
    head -c $((size / 2)) t.mzt > cut.mzt
    for mode in "" "-c" "-t" "-b"; do
        run -1 --separate-stderr mz-view $mode cut.mzt -o out
        [[ "$stderr" == "mz-view: cut.mzt: truncated gzip input (unexpected end of file after "*" bytes of data) (in record "*")" ]]
        [ ! -e out ]
    done
    head -c $((size - 4)) t.mzt > cut.mzt # only the gzip trailer is cut
    run -1 --separate-stderr mz-view -c cut.mzt
    [[ "$stderr" == "mz-view: cut.mzt: truncated gzip input"* ]]
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "a truncated uncompressed trace exits 1 naming where it ends" {
    size=$(file_size u.mzt)
    head -c $((size - 1)) u.mzt > cut.mzt
    run -1 --separate-stderr mz-view -c cut.mzt
    [ "$stderr" = "mz-view: cut.mzt: truncated: input ends at byte $((size - 1)) (in the end marker)" ]
    head -c $((size - 12)) u.mzt > cut.mzt # the whole end marker is missing
    run -1 --separate-stderr mz-view -c cut.mzt
    [ "$stderr" = "mz-view: cut.mzt: truncated: no end marker after 96 records" ]
    hlen=$(od -A n -t u4 -j 4 -N 4 u.mzt | tr -d ' ')
    cut=$((8 + hlen + 4 + 10 * (4 + 12 + 128 + 4) + 7)) # inside record 11
    head -c $cut u.mzt > cut.mzt
    run -1 --separate-stderr mz-view -t cut.mzt -o out.txt
    [ "$stderr" = "mz-view: cut.mzt: truncated: input ends at byte $cut (in record 11)" ]
    [ ! -e out.txt ]
    head -c 100 u.mzt > cut.mzt
    run -1 --separate-stderr mz-view -H cut.mzt
    [ "$stderr" = "mz-view: cut.mzt: truncated: input ends at byte 100 (in the header)" ]
}

@test "a truncated text trace exits 1 naming the problem" {
    grep -v '^@EOF' t.txt > noeof.txt
    run -1 --separate-stderr mz-view -c noeof.txt
    [ "$stderr" = "mz-view: noeof.txt: truncated: no @EOF line after 96 records" ]
    head -c 2000 t.txt > cut.txt # cut inside a line
    run -1 --separate-stderr mz-view cut.txt
    [[ "$stderr" == "mz-view: cut.txt: line "*": truncated (no newline at end of input)" ]]
    head -5 t.txt > head.txt
    run -1 --separate-stderr mz-view -c head.txt
    [ "$stderr" = "mz-view: head.txt: truncated: input ends after the header (no records, no @EOF line)" ]
    sed 's/^@EOF\t96$/@EOF\t97/' t.txt > count.txt
    run -1 --separate-stderr mz-view -c count.txt
    [ "$stderr" = "mz-view: count.txt: line 102: @EOF counts 97 records but 96 were read" ]
}

@test "a bit-flipped gzip trace exits 1" {
    # flip bytes in the middle of the deflate data until one changes the
    # data (a rare flip can leave the decompressed bytes as they were)
    size=$(file_size t.mzt)
    gzip -dc t.mzt > plain
    for off in $((size / 2)) $((size / 2 + 1)) $((size / 2 + 2)) $((size / 3)); do
        cp t.mzt flip.mzt
        flip_bit flip.mzt $off 4
        if ! gzip -dc flip.mzt 2>/dev/null | cmp -s - plain; then break; fi
    done
    run -1 --separate-stderr mz-view -c flip.mzt
    [[ "$stderr" == "mz-view: flip.mzt: corrupt gzip input: "* ]]
    # the gzip CRC in the trailer
    cp t.mzt flip.mzt
    flip_bit flip.mzt $((size - 8)) 0
    run -1 --separate-stderr mz-view flip.mzt
    [[ "$stderr" == "mz-view: flip.mzt: corrupt gzip input: incorrect data check"* ]]
}

@test "a bit-flipped uncompressed trace exits 1 naming the record or the header" {
    size=$(file_size u.mzt)
    hlen=$(od -A n -t u4 -j 4 -N 4 u.mzt | tr -d ' ')
    rec=$((4 + 12 + 16 * 8 + 4)) # length, payload, CRC
    # a bit of the payload of record 5 (1-based)
    cp u.mzt flip.mzt
    flip_bit flip.mzt $((8 + hlen + 4 + 4 * rec + 4 + 20)) 3
    run -1 --separate-stderr mz-view -c flip.mzt
    [ "$stderr" = "mz-view: flip.mzt: record 5: corrupt (checksum mismatch)" ]
    # a bit of the header text: the @PG version
    cp u.mzt flip.mzt
    flip_bit flip.mzt $((8 + hlen - 10)) 1
    run -1 --separate-stderr mz-view -H flip.mzt
    [ "$stderr" = "mz-view: flip.mzt: corrupt header (checksum mismatch)" ]
    # the record count of the end marker
    cp u.mzt flip.mzt
    flip_bit flip.mzt $((size - 8)) 0
    run -1 --separate-stderr mz-view -c flip.mzt
    [ "$stderr" = "mz-view: flip.mzt: end marker counts 97 records but 96 were read" ]
    # a record length
    cp u.mzt flip.mzt
    flip_bit flip.mzt $((8 + hlen + 4 + 2 * rec)) 2
    run -1 mz-view -c flip.mzt
    # every other byte flip of the first 600 bytes is caught as well
    for off in $(seq 0 7 600); do
        cp u.mzt flip.mzt
        flip_bit flip.mzt $off 5
        run -1 mz-view -c flip.mzt
    done
}

@test "a stream of a newer major version is refused (binary and text)" {
    cp u.mzt v2.mzt
    printf '\002' | dd of=v2.mzt bs=1 seek=3 conv=notrunc status=none
    run -1 --separate-stderr mz-view -H v2.mzt
    [ "$stderr" = "mz-view: v2.mzt: format version 2 is not supported (this is mozart-tools 0.1.0, format 1.0)" ]
    sed '1s/VN:1.0/VN:2.0/' t.txt > v2.txt
    run -1 --separate-stderr mz-view -c v2.txt
    [ "$stderr" = "mz-view: v2.txt: format version 2 is not supported (this is mozart-tools 0.1.0, format 1.0)" ]
    # a newer minor version is read
    sed '1s/VN:1.0/VN:1.9/' t.txt > v19.txt
    run -0 mz-view -c v19.txt
    assert_output 96
}

@test "bad text records exit 1 naming the line" {
    sed '8s/\t[0-9]*,/\t64,/' t.txt > bad.txt
    run -1 --separate-stderr mz-view -c bad.txt
    [[ "$stderr" == "mz-view: bad.txt: line 8: token 0/0/2 layer 0: expert id 64 out of range (model has 64 experts)" ]] ||
        [[ "$stderr" == "mz-view: bad.txt: line 8: token 0/0/2 layer 0: expert 64 selected twice" ]]
    sed '9s/\t[0-9]*\t/\t/' t.txt > bad.txt
    run -1 --separate-stderr mz-view -c bad.txt
    [ "$stderr" = "mz-view: bad.txt: line 9: expected 19 tab-separated fields (step, sequence, token and 16 layers)" ]
    sed '10s/^0\t0\t4/0\t4\t4/' t.txt > bad.txt
    run -1 --separate-stderr mz-view -c bad.txt
    [ "$stderr" = "mz-view: bad.txt: line 10: token 0/4/4 outside the trace geometry (steps 3, seqs 4, seq_len 8)" ]
}

@test "a stream with no records" {
    head -5 t.txt > empty.txt
    printf '@EOF\t0\n' >> empty.txt
    run -0 mz-view -c empty.txt
    assert_output 0
    run -0 mz-view empty.txt
    assert_line $'all\t0\t0\t-\t0.0000\t0.00'
    mz-view -b empty.txt | mz-view -t | cmp - empty.txt
}

@test "binary output to a terminal is refused, and nothing reaches it; the summary is fine" {
    run -0 on_tty mz-view -b t.txt
    [[ "$output" == "mz-view: refusing to write binary data to a terminal"* ]]
    assert_output --partial "rc=1"
    run -0 on_tty mz-view -b -u t.txt
    [[ "$output" == "mz-view: refusing"* ]]
    run -0 on_tty mz-view -c t.mzt
    assert_output --partial "96"
    assert_output --partial "rc=0"
}

@test "writing to /dev/full exits 1 with a message" {
    for mode in "" "-H" "-c" "-t" "-b" "-b -u" "-t -l 0"; do
        run -1 --separate-stderr sh -c "mz-view $mode t.mzt > /dev/full"
        [[ "$stderr" == "mz-view: "*"No space left on device"* ]]
    done
    run -1 --separate-stderr mz-view -t t.mzt -o /dev/full
    [ "$stderr" = "mz-view: /dev/full: write error: No space left on device" ]
}

@test "a closed pipe ends mz-view quietly" {
    mz-trace -m qwen3-30b-a3b -n 2 -o big.mzt
    run -0 --separate-stderr sh -c 'mz-view -t big.mzt | head -1'
    assert_output $'@HD\tVN:1.0\tKD:trace'
    [ -z "$stderr" ]
}
