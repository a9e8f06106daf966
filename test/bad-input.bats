#!/usr/bin/env bats
# bad-input.bats: the bad-input matrix (issue 7): every reader refuses broken input with exit 1, a message naming the file and the cause, and no complete-looking output.
#
# This file holds the table of the whole matrix and the traces: binary
# (plain and gzip) and text, each read by mz-view, mz-stat, mz-place, mz-sched
# and mz-fit -r, with the placement they carry in their header (@PT/@PL, read
# by mz-sched and mz-stat). The other readers are in bad-input-sched.bats
# (schedules, wafer descriptions) and bad-input-config.bats (JSON configs,
# priors, loads tables, placement files, JSONL and TSV/CSV imports).
#
# Every checked invocation (refuses, test/badinput.bash) asserts: exit 1;
# nothing on stdout; stderr names the file as given and then the cause (a
# literal piece of the message: "truncated", "checksum", "out of range", the
# field...); with -o, no output file and no temporary file left beside it.
# A tool that writes a stream to stdout is also run without -o (unfinished):
# what it wrote must not read as a complete stream (mz-view -c refuses it).
#
# Cases (columns):
#   E  empty input                     F  a flipped byte
#   TH truncated in the header         M  wrong magic
#   TM truncated mid-record            V  newer major version
#   TE truncated just before the end   G  header geometry disagrees with the records
#      (binary: inside or right        R  an expert id (index) out of range
#      before the end marker; text:    D  an id repeated in one token (record)
#      no @EOF; gzip: stream cut)      N  negative, NaN, inf, huge (1e300, 2^63), non-numeric values
#                                      X  missing required fields
#                                      J  JSON syntax errors and wrong types
#
# reader (file)              read by                           E  TH TM TE F  M  V  G  R  D  N  X  J
# trace, binary (here)       view stat place sched fit -r      t  t  t  t  t  t  t  t  t  t  t  t  1
# trace, gzip (here)         view stat place sched fit -r      t  t  t  t  t  t  t  t  t  t  t  t  1
# trace, text (here)         view stat place sched fit -r      t  t  t  t  t2 t  t  t  t  t  t  t  1
# placement in a trace       sched stat                        3  3  3  3  3  3  3  t  t  t  t  t  1
#   header @PT/@PL (here)
# schedule, binary and gzip  cost view                         t  t  t  t  t  t  t  t  t4 t4 t  t  1
#   (-sched.bats)
# schedule, text (-sched)    cost view                         t  t  t  t  t2 t  t  t  t4 t4 t  t  1
# wafer (-sched.bats)        cost -w, sched --prefetch 0 -w    t  t5 t  t6 t2 7  8  t  9  t10 t  t  1
# JSON config.json           trace -m, import -m, fit -m       t  t11 t11 t11 t2 t12 8 t  9  t10 t  t  t
#   (-config.bats)
# prior (-config.bats)       trace -p                          t  t5 t  t6 t2 7  8  t  15 t10 t  t  1
# loads table (-config)      fit -T                            t  t5 t  13 t2 t14 8  t  t  13 t  t  1
# placement TSV (-config)    place -R                          t  t5 t  t6 t2 t14 8  t  t  t  t  t  1
# JSONL route log (-config)  import                            t  t5 t  t6 t2 t12 8  t  t  t  t  t  t
# TSV/CSV route log          import                            t  t5 t  t6 t2 7  8  t  t  t  t  t  1
#   (-config.bats)
#
# t: tested. A number: not applicable (or tested as the nearest case), because
#  1  not JSON: no JSON syntax or types (its own syntax errors are under F, N, X).
#  2  text carries no checksum: a flip that turns a digit into another digit
#     gives a different valid file. Tested: flips that break the syntax (a
#     tab, a letter of a key, a digit into a letter, '=', a brace, a quote),
#     refused naming the file and line.
#  3  carried in the trace header: its bytes are the trace's, so the container
#     cases are those of the trace rows above; a trace without @PT is under X.
#  4  schedules have no expert ids: R is a term's chiplet index beyond @PT,
#     D an op id repeated within a step (mzs(5): ids count 0, 1, ... per step).
#  5  no header as such: the cut is inside the first line(s).
#  6  text with no end marker: a cut at a line boundary is a shorter file; it
#     is refused for what the shorter file lacks (a field, an expert's
#     placement, a layer's logits, a token's layer: a gap), and a cut inside
#     a line as truncated (no newline at the end).
#  7  text without a magic or a fixed first line (TSV logs: an optional
#     header line is told by its token field); unknown keys, sections and
#     line types are under X and J.
#  8  the format has no version field.
#  9  no expert ids in a wafer or a config.json (config: an mlp_only_layers
#     item beyond the layers is under G).
# 10  tested as a key (field) given twice in one file.
# 11  a JSON file has no header or records: it is cut inside a key, after a
#     value, and right before its closing brace.
# 12  JSON has no magic: a root that is not an object (config), a line that is
#     not an object or of an unknown type (JSONL) are tested instead.
# 13  rows of the same layer and expert add up (mz-fit(1)): a repeated or a
#     missing row is a valid table, so D and a cut at a line boundary are not
#     errors (a layer left with no load is, under N).
# 14  the TSV's column header line stands for the magic: a wrong one is refused.
# 15  a prior's values are positional (one per expert): a row longer than the
#     experts is under G, a layer number out of range under N.
#
# Count the checked invocations with BADINPUT_LOG=FILE test/run test/bad-input*.bats
# (one line per refuses and per unfinished).
load helper
load badinput
bats_require_minimum_version 1.5.0

# The trace readers, each reading FILE and taking -o FILE after it.
TRACE_READERS="mz-view mz-stat mz-place mz-sched mz-fit"
trace_reader() {
    local tool=$1
    shift
    case $tool in
    mz-view) mz-view -t "$@" ;;
    mz-stat) mz-stat "$@" ;;
    mz-place) mz-place -a contiguous -c 4 -g 2 "$@" ;;
    mz-sched) mz-sched -M 1 "$@" ;;
    mz-fit) mz-fit -m olmoe-1b-7b-0924 -i 1 -k 100 -r "$@" ;;
    esac
}

# trace_refused LABEL FILE WANT [TOOL=WANT...]: every trace reader refuses
# FILE naming it and WANT (or, for a TOOL given, its own WANT); the tools
# that pass a stream on (mz-view -b, mz-place, mz-sched) leave an
# unfinished stream on stdout.
trace_refused() {
    local label=$1 file=$2 want=$3 tool w
    shift 3
    for tool in $TRACE_READERS; do
        w=$want
        for o in "$@"; do
            if [ "${o%%=*}" = "$tool" ]; then w=${o#*=}; fi
        done
        refuses "$tool: $label" "$file" "$w" trace_reader "$tool" "$file" || return 1
    done
    unfinished "mz-view -b: $label" mz-view -b -u "$file" || return 1
    unfinished "mz-place: $label" mz-place -a contiguous -c 4 -g 2 -u "$file" || return 1
    unfinished "mz-sched: $label" mz-sched -M 1 -u "$file" || return 1
}

# A placed OLMoE trace (16 MoE layers, 64 experts, top-8): 2 steps x 2
# sequences x 8 tokens = 32 records of 140 bytes, 4 chiplets in 2 groups.
setup_file() {
    mkdir -p "$BATS_FILE_TMPDIR/fx"
    cd "$BATS_FILE_TMPDIR/fx" || return 1
    mz-trace -m olmoe-1b-7b-0924 -n 2 -b 2 -L 8 -u -o raw.mzt
    mz-place -a contiguous -c 4 -g 2 -u -o t.mzt raw.mzt
    mz-view -b t.mzt -o t.mzt.gz
    mz-view -t t.mzt -o t.txt
}

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    mkdir in
    cp "$BATS_FILE_TMPDIR"/fx/* in/
    HLEN=$(u32_at in/t.mzt 4)      # header text length
    FIRST=$(first_record in/t.mzt) # offset of record 1
    REC=$((4 + 140 + 4))           # length, payload, CRC
    SIZE=$(file_size in/t.mzt)
    NHEAD=$(grep -c '^@' in/t.txt) # header lines and @EOF
}

# Write the binary trace whose header is in/t.mzt's edited by sed SCRIPT,
# with the same records (and their CRCs), to FILE; and its gzip to FILE.gz.
binary_with_header() {
    header_of in/t.mzt | sed "$1" > hdr.txt
    rehead in/t.mzt hdr.txt "$2"
    gzip -c "$2" > "$2.gz"
}

@test "the fixtures are valid: every trace reader accepts them" {
    for f in in/t.mzt in/t.mzt.gz in/t.txt; do
        for tool in $TRACE_READERS; do
            run trace_reader $tool $f -o out
            [ "$status" -eq 0 ] || { echo "$tool $f: $output"; false; }
        done
        run -0 mz-view -c $f
        assert_output 32
    done
    # byte surgery that changes nothing gives the same file
    header_of in/t.mzt > hdr.txt
    rehead in/t.mzt hdr.txt same.mzt
    cmp same.mzt in/t.mzt
    patch_record in/t.mzt 3 12 "$(byte_at in/t.mzt $((FIRST + 2 * REC + 4 + 12)))" same.mzt
    cmp same.mzt in/t.mzt
}

@test "traces: empty input (plain, and a gzip stream of nothing)" {
    : > in/empty.mzt
    gzip -c < /dev/null > in/empty.mzt.gz
    trace_refused "empty" in/empty.mzt "empty input"
    trace_refused "empty gzip" in/empty.mzt.gz "empty input"
    # stdin too: the name is '-'
    refuses "mz-view: empty stdin" "-" "empty input" sh -c 'mz-view -t - "$@" < in/empty.mzt' sh
}

@test "traces, binary: truncated in the header, mid-record, inside and right before the end marker" {
    head -c 50 in/t.mzt > in/head.mzt
    trace_refused "cut in the header" in/head.mzt "truncated: input ends at byte 50 (in the header)"
    head -c 6 in/t.mzt > in/magic.mzt
    trace_refused "cut in the header length" in/magic.mzt "truncated: input ends at byte 6 (in the magic and header length)"
    head -c $((FIRST - 2)) in/t.mzt > in/crc.mzt
    trace_refused "cut in the header CRC" in/crc.mzt "truncated: input ends at byte $((FIRST - 2)) (in the header checksum)"
    head -c $((FIRST + 4 * REC + 30)) in/t.mzt > in/mid.mzt
    trace_refused "cut in record 5" in/mid.mzt "truncated: input ends at byte $((FIRST + 4 * REC + 30)) (in record 5)"
    head -c $((FIRST + 4 * REC + 2)) in/t.mzt > in/len.mzt
    trace_refused "cut in the length of record 5" in/len.mzt "truncated: input ends at byte $((FIRST + 4 * REC + 2)) (in record 5)"
    head -c $((SIZE - 5)) in/t.mzt > in/end.mzt
    trace_refused "cut inside the end marker" in/end.mzt "truncated: input ends at byte $((SIZE - 5)) (in the end marker)"
    head -c $((SIZE - 12)) in/t.mzt > in/noend.mzt
    trace_refused "cut right before the end marker" in/noend.mzt "truncated: no end marker after 32 records"
}

@test "traces, gzip: the stream cut in its header, in the middle, in and before its trailer" {
    gsize=$(file_size in/t.mzt.gz)
    head -c 10 in/t.mzt.gz > in/g1.mzt
    trace_refused "gzip cut in its header" in/g1.mzt "truncated gzip input"
    head -c $((gsize / 2)) in/t.mzt.gz > in/g2.mzt
    trace_refused "gzip cut in the middle" in/g2.mzt "truncated gzip input (unexpected end of file after "
    # the middle of the data is also the middle of a record
    [[ "$stderr" == *") (in record "* ]]
    head -c $((gsize - 4)) in/t.mzt.gz > in/g3.mzt
    trace_refused "gzip cut in the trailer" in/g3.mzt "truncated gzip input"
    head -c $((gsize - 8)) in/t.mzt.gz > in/g4.mzt
    trace_refused "gzip cut right before the trailer" in/g4.mzt "truncated gzip input"
}

@test "traces, text: truncated in the header, mid-record, before the @EOF line" {
    head -3 in/t.txt > in/head.txt
    trace_refused "cut after header line 3" in/head.txt "truncated: input ends after the header (no records, no @EOF line)"
    head -c 100 in/t.txt > in/head2.txt
    trace_refused "cut inside header line 2" in/head2.txt "line 2: truncated (no newline at end of input)"
    # inside the 5th record line
    n=$(head -$((NHEAD - 1 + 4)) in/t.txt | wc -c)
    head -c $((n + 20)) in/t.txt > in/mid.txt
    trace_refused "cut inside record line 5" in/mid.txt "line $((NHEAD - 1 + 5)): truncated (no newline at end of input)"
    grep -v '^@EOF' in/t.txt > in/noeof.txt
    trace_refused "no @EOF line" in/noeof.txt "truncated: no @EOF line after 32 records"
    head -c $(($(file_size in/t.txt) - 2)) in/t.txt > in/eof.txt
    trace_refused "cut inside the @EOF line" in/eof.txt "line $((NHEAD + 32)): truncated (no newline at end of input)"
    # the count of @EOF must be the records'
    sed 's/^@EOF\t32$/@EOF\t31/' in/t.txt > in/count.txt
    trace_refused "@EOF count" in/count.txt "line $((NHEAD + 32)): @EOF counts 31 records but 32 were read"
}

@test "traces, binary: a flipped bit in the header, its CRC, a record's payload, length or CRC, the end count" {
    cp in/t.mzt in/h.mzt
    flip_bit in/h.mzt 20 1
    trace_refused "flip in the header text" in/h.mzt "corrupt header (checksum mismatch)"
    cp in/t.mzt in/hc.mzt
    flip_bit in/hc.mzt $((FIRST - 3)) 0
    trace_refused "flip in the header CRC" in/hc.mzt "corrupt header (checksum mismatch)"
    cp in/t.mzt in/p.mzt
    flip_bit in/p.mzt $((FIRST + 3 * REC + 4 + 20)) 3
    trace_refused "flip in the payload of record 4" in/p.mzt "record 4: corrupt (checksum mismatch)"
    cp in/t.mzt in/c.mzt
    flip_bit in/c.mzt $((FIRST + 3 * REC + 4 + 140 + 1)) 6
    trace_refused "flip in the CRC of record 4" in/c.mzt "record 4: corrupt (checksum mismatch)"
    cp in/t.mzt in/l.mzt
    flip_bit in/l.mzt $((FIRST + 3 * REC)) 2
    trace_refused "flip in the length of record 4" in/l.mzt "record 4: corrupt (checksum mismatch)"
    cp in/t.mzt in/n.mzt
    flip_bit in/n.mzt $((SIZE - 8)) 0
    trace_refused "flip in the end marker's count" in/n.mzt "end marker counts 33 records but 32 were read"
    # data after the end marker is not a stream's
    { cat in/t.mzt; printf 'x'; } > in/after.mzt
    trace_refused "a byte after the end marker" in/after.mzt "data after the end marker"
}

@test "traces, gzip: a flipped bit in the compressed data and in the gzip CRC and length" {
    gsize=$(file_size in/t.mzt.gz)
    # the first flip in the middle of the deflate data that changes the data
    for off in $((gsize / 2)) $((gsize / 2 + 1)) $((gsize / 2 + 2)) $((gsize / 3)); do
        cp in/t.mzt.gz in/d.mzt
        flip_bit in/d.mzt $off 4
        if ! gzip -dc in/d.mzt 2> /dev/null | cmp -s - in/t.mzt; then break; fi
    done
    trace_refused "flip in the deflate data" in/d.mzt "corrupt gzip input: "
    cp in/t.mzt.gz in/c.mzt
    flip_bit in/c.mzt $((gsize - 8)) 0
    trace_refused "flip in the gzip CRC" in/c.mzt "corrupt gzip input: incorrect data check"
    cp in/t.mzt.gz in/l.mzt
    flip_bit in/l.mzt $((gsize - 4)) 0
    trace_refused "flip in the gzip length" in/l.mzt "corrupt gzip input: incorrect length check"
}

@test "traces, text: a flipped byte that breaks a header key or a record's fields" {
    # 'experts' -> 'Experts' in the @MD line
    off=$(($(grep -b -m1 $'^@MD\t' in/t.txt | cut -d: -f1) + $(sed -n $'/^@MD\t/p' in/t.txt | grep -b -o 'experts:' | cut -d: -f1)))
    cp in/t.txt in/k.txt
    flip_bit in/k.txt "$off" 5
    grep -q $'\tExperts:64\t' in/k.txt
    trace_refused "flip in a header key" in/k.txt "header @MD experts: missing"
    # the tab after the token number of record 3 -> ')'
    line=$((NHEAD - 1 + 3))
    off=$(($(head -$((line - 1)) in/t.txt | wc -c) + 5))
    cp in/t.txt in/r.txt
    flip_bit in/r.txt "$off" 5
    [ "$(sed -n ${line}p in/r.txt | cut -c6)" = ")" ]
    trace_refused "flip of a tab in record 3" in/r.txt "line $line: expected 19 tab-separated fields (step, sequence, token and 16 layers)"
    # a digit of the step -> a letter
    cp in/t.txt in/s.txt
    flip_bit in/s.txt "$(head -$((line - 1)) in/t.txt | wc -c)" 6
    trace_refused "flip of a digit in record 3" in/s.txt "line $line: step: 'p"
}

@test "traces: wrong magic (binary, gzip, text, and the gzip magic itself)" {
    cp in/t.mzt in/m.mzt
    printf 'MX' | dd of=in/m.mzt conv=notrunc status=none
    trace_refused "binary magic MX" in/m.mzt "not an mz stream (no MZ magic and no @HD header line)"
    gzip -c in/m.mzt > in/m.mzt.gz
    trace_refused "gzip of magic MX" in/m.mzt.gz "not an mz stream (no MZ magic and no @HD header line)"
    cp in/t.mzt.gz in/gm.mzt
    flip_bit in/gm.mzt 0 0
    trace_refused "gzip magic flipped" in/gm.mzt "not an mz stream (no MZ magic and no @HD header line)"
    sed '1s/^@HD/@HX/' in/t.txt > in/m.txt
    trace_refused "text @HX" in/m.txt "not an mz stream (no MZ magic and no @HD header line)"
    # the kind byte says schedule, the header says trace
    cp in/t.mzt in/k.mzt
    printf 'S' | dd of=in/k.mzt bs=1 seek=2 conv=notrunc status=none
    trace_refused "kind byte S" in/k.mzt "header says kind trace but the magic says 'S'"
    # a schedule given for a trace
    mz-sched -M 1 -u -o in/s.mzs in/t.mzt
    refuses "mz-stat: a schedule" in/s.mzs "is a schedule stream, expected a trace stream" mz-stat in/s.mzs
    refuses "mz-place: a schedule" in/s.mzs "is a schedule stream, expected a trace stream" mz-place in/s.mzs
}

@test "traces: a newer major version (binary, gzip, text)" {
    v="format version 2 is not supported (this is mozart-tools 0.1.0, format 1.0)"
    cp in/t.mzt in/v2.mzt
    printf '\002' | dd of=in/v2.mzt bs=1 seek=3 conv=notrunc status=none
    trace_refused "binary major 2" in/v2.mzt "$v"
    gzip -c in/v2.mzt > in/v2.mzt.gz
    trace_refused "gzip major 2" in/v2.mzt.gz "$v"
    sed '1s/VN:1.0/VN:2.0/' in/t.txt > in/v2.txt
    trace_refused "text VN:2.0" in/v2.txt "$v"
    # the binary header's own @HD line
    binary_with_header '1s/VN:1.0/VN:2.0/' in/hv.mzt
    trace_refused "binary @HD VN:2.0" in/hv.mzt "$v"
    sed '1s/VN:1.0/VN:x/' in/t.txt > in/vx.txt
    trace_refused "text VN:x" in/vx.txt "@HD VN: 'x' is not an integer"
}

@test "traces: header geometry that disagrees with the records (binary, gzip, text)" {
    geo() { # LABEL SED WANT-BINARY WANT-TEXT [TOOL=WANT...]
        local label=$1 script=$2 wb=$3 wt=$4
        shift 4
        binary_with_header "$script" in/geo.mzt
        sed "$script" in/t.txt > in/geo.txt
        trace_refused "binary: $label" in/geo.mzt "$wb" "$@" || return 1
        trace_refused "gzip: $label" in/geo.mzt.gz "$wb" "$@" || return 1
        trace_refused "text: $label" in/geo.txt "$wt" "$@" || return 1
    }
    geo "@TR steps 1, records of step 1" 's/\tsteps:2\t/\tsteps:1\t/' \
        "record 17: token 1/0/0 outside the trace geometry (steps 1, seqs 2, seq_len 8)" \
        "line $((NHEAD + 16)): token 1/0/0 outside the trace geometry (steps 1, seqs 2, seq_len 8)"
    geo "@TR seqs 1" 's/\tseqs:2\t/\tseqs:1\t/' \
        "record 9: token 0/1/0 outside the trace geometry (steps 2, seqs 1, seq_len 8)" \
        "line $((NHEAD + 8)): token 0/1/0 outside the trace geometry (steps 2, seqs 1, seq_len 8)"
    geo "@TR seq_len 4" 's/\tseq_len:8\t/\tseq_len:4\t/' \
        "record 5: token 0/0/4 outside the trace geometry (steps 2, seqs 2, seq_len 4)" \
        "line $((NHEAD + 4)): token 0/0/4 outside the trace geometry (steps 2, seqs 2, seq_len 4)"
    # a record length that is not the header's: top-4 means 12 + 16 x 4 bytes
    geo "@MD topk 4" 's/\ttopk:8\t/\ttopk:4\t/' \
        "record 1: corrupt trace record: 140 bytes, expected 76" \
        "line $NHEAD: layer 0: expected 4 comma-separated expert ids"
    # 15 traced layers: the placement of layer 15 goes too; mz-sched needs them all
    geo "@TR layers 0-14" 's/\tlayers:0-15\t/\tlayers:0-14\t/; /^@PL\tlayer:15\t/d' \
        "record 1: corrupt trace record: 140 bytes, expected 132" \
        "expected 18 tab-separated fields (step, sequence, token and 15 layers)" \
        "mz-sched=the trace covers 15 of the model's 16 MoE layers"
    # weights announced but not in the records
    geo "@TR weights 1" 's/\tweights:0$/\tweights:1/' \
        "record 1: corrupt trace record: 140 bytes, expected 652" \
        "line $NHEAD: layer 0: '"
    # fewer experts than the ids name (the placement lists 64 experts)
    geo "@MD experts 32" 's/\texperts:64\t/\texperts:32\t/' \
        "out of range (model has 32 experts)" "out of range (model has 32 experts)" \
        "mz-sched=header @PL layer 0: expected 32 chiplet numbers" \
        "mz-stat=header @PL layer 0: expected 32 chiplet numbers"
    # layers the model does not have
    geo "@MD layers 8" 's/\tlayers:16\tmoe:0-15\t/\tlayers:8\tmoe:0-7\t/' \
        "header @TR layers: 15 is out of range [0, 7]" "header @TR layers: 15 is out of range [0, 7]"
    geo "@TR layers not MoE" 's/\tmoe:0-15\t/\tmoe:0-14\t/' \
        "header @TR layers: layer 15 is not an MoE layer of olmoe-1b-7b-0924" \
        "header @TR layers: layer 15 is not an MoE layer of olmoe-1b-7b-0924"
}

@test "traces: an expert id out of range (binary record with a valid CRC, gzip, text)" {
    # the first id of layer 0 of record 3 (payload byte 12) set to 64 and 255
    for id in 64 255; do
        patch_record in/t.mzt 3 12 $id in/r.mzt
        gzip -c in/r.mzt > in/r.mzt.gz
        trace_refused "binary: id $id" in/r.mzt "record 3: token 0/0/2 layer 0: expert id $id out of range (model has 64 experts)"
        trace_refused "gzip: id $id" in/r.mzt.gz "record 3: token 0/0/2 layer 0: expert id $id out of range (model has 64 experts)"
    done
    # text: the second id of layer 5 of record 3
    line=$((NHEAD - 1 + 3))
    awk -F'\t' -v n=$line 'BEGIN { OFS = "\t" } NR == n { split($9, a, ","); a[2] = 64; $9 = a[1]; for (i = 2; i <= 8; i++) $9 = $9 "," a[i] } { print }' in/t.txt > in/r.txt
    trace_refused "text: id 64" in/r.txt "line $line: token 0/0/2 layer 5: expert id 64 out of range (model has 64 experts)"
    for v in 65536 -1 1e2 x ''; do
        awk -F'\t' -v n=$line -v v="$v" 'BEGIN { OFS = "\t" } NR == n { sub(/^[0-9]+/, v, $9) } { print }' in/t.txt > in/r.txt
        case $v in
        65536) want="layer 5: 65536 is too large" ;;
        *) want="layer 5: '$v" ;;
        esac
        trace_refused "text: id '$v'" in/r.txt "line $line: $want"
    done
}

@test "traces: an expert id repeated in one token (binary record with a valid CRC, gzip, text)" {
    # the second id of layer 0 of record 3 made equal to the first
    first=$(byte_at in/t.mzt $((FIRST + 2 * REC + 4 + 12)))
    patch_record in/t.mzt 3 13 "$first" in/d.mzt
    gzip -c in/d.mzt > in/d.mzt.gz
    trace_refused "binary" in/d.mzt "record 3: token 0/0/2 layer 0: expert $first selected twice"
    trace_refused "gzip" in/d.mzt.gz "record 3: token 0/0/2 layer 0: expert $first selected twice"
    # and the last id of layer 15 equal to its first
    last=$(byte_at in/t.mzt $((FIRST + 2 * REC + 4 + 12 + 15 * 8)))
    patch_record in/t.mzt 3 $((12 + 15 * 8 + 7)) "$last" in/d.mzt
    trace_refused "binary, layer 15" in/d.mzt "record 3: token 0/0/2 layer 15: expert $last selected twice"
    line=$((NHEAD - 1 + 3))
    awk -F'\t' -v n=$line 'BEGIN { OFS = "\t" } NR == n { split($9, a, ","); a[8] = a[1]; $9 = a[1]; for (i = 2; i <= 8; i++) $9 = $9 "," a[i] } { print }' in/t.txt > in/d.txt
    trace_refused "text" in/d.txt "line $line: token 0/0/2 layer 5: expert "
    [[ "$stderr" == *" selected twice" ]]
}

@test "traces: a token repeated, or out of order (binary, gzip, text)" {
    # record 3 in place of record 4: token 0/0/2 twice
    { head -c $((FIRST + 3 * REC)) in/t.mzt; tail -c +$((FIRST + 2 * REC + 1)) in/t.mzt | head -c $REC
      tail -c +$((FIRST + 4 * REC + 1)) in/t.mzt; } > in/twice.mzt
    gzip -c in/twice.mzt > in/twice.mzt.gz
    trace_refused "binary, token twice" in/twice.mzt "record 4: token 0/0/2 appears twice"
    trace_refused "gzip, token twice" in/twice.mzt.gz "record 4: token 0/0/2 appears twice"
    line=$((NHEAD - 1 + 4))
    awk -v n=$line 'NR == n { print prev; next } { prev = $0; print }' in/t.txt > in/twice.txt
    trace_refused "text, token twice" in/twice.txt "line $line: token 0/0/2 appears twice"
    # records 3 and 4 swapped
    { head -c $((FIRST + 2 * REC)) in/t.mzt; tail -c +$((FIRST + 3 * REC + 1)) in/t.mzt | head -c $REC
      tail -c +$((FIRST + 2 * REC + 1)) in/t.mzt | head -c $REC; tail -c +$((FIRST + 4 * REC + 1)) in/t.mzt; } > in/swap.mzt
    trace_refused "binary, tokens swapped" in/swap.mzt "record 4: token 0/0/2 comes after 0/0/3 (records must be ordered by step, sequence, token)"
}

@test "traces: header numbers that are negative, NaN, inf, huge or not numbers (text and binary)" {
    for v in -1 nan inf 1e300 9223372036854775808 4294967296 x ''; do
        case $v in
        -1 | 1e300 | 9223372036854775808 | 4294967296) want="header @TR steps: $v is out of range [1, 1073741824]" ;;
        '') want="header @TR steps: empty value, expected an integer" ;;
        *) want="header @TR steps: '$v' is not an integer" ;;
        esac
        [ "$v" = 1e300 ] && want="header @TR steps: '1e300' is not an integer"
        sed "s/\tsteps:2\t/\tsteps:$v\t/" in/t.txt > in/n.txt
        trace_refused "text: @TR steps '$v'" in/n.txt "$want"
    done
    for v in 0 -64 nan 1e300 9223372036854775808 x; do
        case $v in
        0 | -64 | 9223372036854775808) want="header @MD experts: $v is out of range [1, 65536]" ;;
        *) want="header @MD experts: '$v' is not an integer" ;;
        esac
        binary_with_header "s/\texperts:64\t/\texperts:$v\t/" in/n.mzt
        trace_refused "binary: @MD experts '$v'" in/n.mzt "$want"
        trace_refused "gzip: @MD experts '$v'" in/n.mzt.gz "$want"
    done
    binary_with_header 's/\ttopk:8\t/\ttopk:65\t/' in/n.mzt
    trace_refused "binary: @MD topk above experts" in/n.mzt "header @MD topk: 65 exceeds experts 64"
    sed 's/\tweights:0$/\tweights:2/' in/t.txt > in/n.txt
    trace_refused "text: @TR weights 2" in/n.txt "header @TR weights: 2 is out of range [0, 1]"
}

@test "traces: missing header lines and fields" {
    miss() { # LABEL SED WANT
        sed "$2" in/t.txt > in/x.txt
        binary_with_header "$2" in/x.mzt
        trace_refused "text: $1" in/x.txt "$3" || return 1
        trace_refused "binary: $1" in/x.mzt "$3" || return 1
        trace_refused "gzip: $1" in/x.mzt.gz "$3" || return 1
    }
    miss "no @TR line" '/^@TR\t/d' "header has no @TR (trace geometry) line"
    miss "no @MD line" '/^@MD\t/d' "header has no @MD (model) line"
    miss "@TR steps" 's/\tsteps:2\t/\t/' "header @TR steps: missing"
    miss "@TR layers" 's/\tlayers:0-15\t/\t/' "header @TR layers: missing"
    miss "@MD experts" 's/\texperts:64\t/\t/' "header @MD experts: missing"
    miss "@MD moe" 's/\tmoe:0-15\t/\t/' "header @MD moe: missing"
    miss "@HD KD" '1s/\tKD:trace//' "header @HD has no KD (stream kind)"
    miss "@HD VN" '1s/\tVN:1.0//' "header @HD has no VN (format version)"
    # binary only: a text stream that does not start with @HD is not one
    binary_with_header '1{h;d}; 2G' in/x.mzt
    trace_refused "binary: @HD not first" in/x.mzt "header does not start with an @HD line"
}

@test "placement in the trace header (@PT/@PL): geometry, ids, repeats, values, missing fields" {
    # mz-sched and mz-stat read the placement; text and binary headers
    hp() { # LABEL SED WANT
        local f
        sed "$2" in/t.txt > in/x.txt
        binary_with_header "$2" in/x.mzt
        for f in in/x.txt in/x.mzt; do
            refuses "mz-sched: $1 ($f)" $f "$3" mz-sched -M 1 $f || return 1
            refuses "mz-stat: $1 ($f)" $f "$3" mz-stat $f || return 1
            unfinished "mz-sched: $1 ($f)" mz-sched -M 1 -u $f || return 1
        done
    }
    hp "@PT chiplets above the experts" 's/^@PT\tchiplets:4/@PT\tchiplets:128/' "header @PT: 128 chiplets for 64 experts: some chiplets would be empty"
    hp "@PT groups that do not divide the chiplets" 's/^@PT\tchiplets:4\tgroups:2/@PT\tchiplets:4\tgroups:3/' "header @PT: 4 chiplets cannot form 3 equal groups"
    hp "@PL layer not traced" 's/^@PL\tlayer:15\t/@PL\tlayer:16\t/' "header @PL layer: 16 is out of range [0, 15]"
    hp "@PL with 63 chiplets" '/^@PL\tlayer:3\t/s/chiplet:0,/chiplet:/' "header @PL layer 3: expected 64 chiplet numbers"
    hp "@PL chiplet out of range" '/^@PL\tlayer:3\t/s/chiplet:0,/chiplet:4,/' "header @PL chiplet: 4 is out of range [0, 3]"
    hp "@PL layer placed twice" 's/^@PL\tlayer:4\t/@PL\tlayer:3\t/' "header @PL: layer 3 placed twice"
    # layer 3 on chiplets 0 and 1 only
    two=$(for e in $(seq 0 63); do printf ',%d' $((e / 32)); done | cut -c2-)
    hp "a chiplet hosting no expert" "/^@PL\tlayer:3\t/s/chiplet:.*/chiplet:$two/" \
        "header placement: layer 3: chiplet 2 hosts no expert"
    for v in -1 nan inf 1e300 9223372036854775808 x ''; do
        case $v in
        -1 | 9223372036854775808) want="header @PT chiplets: $v is out of range [1, 65536]" ;;
        '') want="header @PT chiplets: empty value, expected an integer" ;;
        *) want="header @PT chiplets: '$v' is not an integer" ;;
        esac
        hp "@PT chiplets '$v'" "s/^@PT\tchiplets:4/@PT\tchiplets:$v/" "$want"
    done
    for v in -1 nan 1e300 9223372036854775808 x ''; do
        case $v in
        -1 | 9223372036854775808) want="header @PL chiplet: $v is out of range [0, 3]" ;;
        '') want="header @PL chiplet: empty value, expected an integer" ;;
        *) want="header @PL chiplet: '$v' is not an integer" ;;
        esac
        hp "@PL chiplet '$v'" "/^@PL\tlayer:3\t/s/chiplet:0,/chiplet:$v,/" "$want"
    done
    hp "@PT chiplets missing" 's/^@PT\tchiplets:4\t/@PT\t/' "header @PT chiplets: missing"
    hp "@PT groups missing" 's/\tgroups:2\t/\t/' "header @PT groups: missing"
    hp "@PL layer missing" 's/^@PL\tlayer:3\t/@PL\t/' "header @PL layer: missing"
    hp "@PL chiplet missing" '/^@PL\tlayer:3\t/s/\tchiplet:.*//' "header @PL layer 3: expected 64 chiplet numbers"
    hp "no @PL line for layer 3" '/^@PL\tlayer:3\t/d' "header placement: layer 3: expert 0 is not placed"
    # no placement at all: mz-sched needs one (mz-stat then uses a contiguous layout)
    refuses "mz-sched: unplaced trace" in/raw.mzt "the trace has no placement (@PT/@PL lines): run it through mz-place first" \
        mz-sched -M 1 in/raw.mzt
}

@test "streams cut near their end: what the writers put on stdout is not a complete stream" {
    # 8 sequences of 1024 tokens: 1.2 MB of records, more than the 1 MiB
    # the writers buffer, so part of the output has left when the cut is met
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -L 1024 -u -o big.mzt
    mz-place -a contiguous -c 4 -g 2 -u -o in/big.mzt big.mzt
    size=$(file_size in/big.mzt)
    head -c $((size - 100)) in/big.mzt > in/cut.mzt
    want="in/cut.mzt: truncated: input ends at byte $((size - 100)) (in record 8192)"
    for cmd in "mz-view -b -u" "mz-view -b" "mz-view -t" "mz-place -a contiguous -c 4 -g 2 -u" "mz-place -a contiguous -c 4 -g 2 -t"; do
        run -1 --separate-stderr sh -c "$cmd in/cut.mzt > part.out"
        [[ "$stderr" == *"$want" ]] || { echo "$cmd: $stderr"; false; }
        # more than a MiB reached stdout (gzip: less than a MiB of compressed
        # data is still buffered, nothing left), and it does not read as complete
        case $cmd in
        "mz-view -b") [ "$(file_size part.out)" -eq 0 ] ;;
        *) [ "$(file_size part.out)" -ge 1048576 ] || { echo "$cmd: $(file_size part.out) bytes"; false; } ;;
        esac
        run -1 --separate-stderr mz-view -c part.out
        [[ "$stderr" == "mz-view: part.out: "*"truncated"* || "$stderr" == "mz-view: part.out: empty input" ]] ||
            { echo "$cmd: read back: $stderr"; false; }
    done
    # a schedule of 16 steps cut in its last step: 15 steps are on stdout
    mz-trace -m olmoe-1b-7b-0924 -n 16 -b 2 -L 8 -u -o steps.mzt
    mz-place -a contiguous -c 4 -g 2 -u -o placed.mzt steps.mzt
    size=$(file_size placed.mzt)
    head -c $((size - 100)) placed.mzt > in/cut12.mzt
    run -1 --separate-stderr sh -c "mz-sched -M 1 -V A -u in/cut12.mzt > part.out"
    [[ "$stderr" == *"in/cut12.mzt: truncated: input ends at byte $((size - 100)) (in record 256)" ]]
    [ "$(file_size part.out)" -ge 1048576 ]
    run -1 --separate-stderr mz-view -c part.out
    [[ "$stderr" == "mz-view: part.out: truncated"* ]]
    # and mz-cost reading that partial schedule from a pipe writes no mean row
    run -1 --separate-stderr sh -c "mz-sched -M 1 -V A -u in/cut12.mzt | mz-cost -w wafer-olmoe-1b-7b-0924 > cost.tsv"
    [[ "$stderr" == *"mz-cost: -: truncated"* ]]
    ! grep -q '^mean' cost.tsv
}
