#!/usr/bin/env bats
# bad-input-sched.bats: the bad-input matrix (issue 7) for schedules (read by mz-cost and mz-view) and wafer descriptions (mz-cost -w, mz-sched --prefetch 0 -w).
# The table of the whole matrix, the cases and the n.a. notes are at the top
# of test/bad-input.bats; the checks are those of test/badinput.bash.
load helper
load badinput
bats_require_minimum_version 1.5.0

WAFER="$TOP/test/tiny.wafer"
COST_TINY="$TOP/test/cost-tiny.mzt"

# The schedule readers, each reading FILE and taking -o FILE after it;
# mz-view both converts (-t) and counts (-c).
sched_reader() {
    local tool=$1
    shift
    case $tool in
    mz-cost) mz-cost -w "$WAFER" "$@" ;;
    mz-view) mz-view -t "$@" ;;
    mz-view-c) mz-view -c "$@" ;;
    esac
}

# sched_refused LABEL FILE WANT [TOOL=WANT...]: mz-cost and mz-view (-t and
# -c; mz-view's WANT for both) refuse FILE naming it and WANT; mz-view -b
# leaves an unfinished stream on stdout.
sched_refused() {
    local label=$1 file=$2 want=$3 tool w o
    shift 3
    for tool in mz-cost mz-view mz-view-c; do
        w=$want
        for o in "$@"; do
            if [ "${o%%=*}" = "${tool%-c}" ]; then w=${o#*=}; fi
        done
        refuses "$tool: $label" "$file" "$w" sched_reader "$tool" "$file" || return 1
    done
    unfinished "mz-view -b: $label" mz-view -b -u "$file"
}

# A schedule of the hand-made trace of mz-cost.bats (one MoE layer, 2
# experts on 2 chiplets in 1 group, top-1, 2 tokens): Mozart-A, one
# micro-batch in 2 slices of 1 token (streaming cuts no finer), 41 ops:
#   forward: root_load, a load per chiplet (1 expert: 1 chunk), per slice
#     embed, att, dispatch, 2 expert, combine (6), the LM head, 2 saves and
#     att_save: 1 + 2 + 12 + 1 + 3 = 19
#   backward (the turn: no loads): LM head, root_act_load, per slice 2
#     act_load, dispatch, 2 expert, combine, att, embed (8), 2 grad_wb and
#     att_wb: 1 + 1 + 16 + 3 = 21
#   and the stat op: 19 + 21 + 1 = 41.
# Record 2 is op 1, "load dram_stream ... mem_read:0=48" (1 expert of
# 3 x 4 x 2 parameters, 2 bytes each); its payload bytes:
# step 0, id 1, kind 8 (load), category 3 (dram_stream), dir 0, layer 0,
# mb 0, slice+1 0, phase 0, 1 term (type 0x84 = mem_read (4) | whole,
# index 0, quantity 48), 0 deps.
setup_file() {
    mkdir -p "$BATS_FILE_TMPDIR/fx"
    cd "$BATS_FILE_TMPDIR/fx" || return 1
    mz-sched -M 1 -V A --slices 2 -u -o s.mzs "$COST_TINY"
    mz-view -b s.mzs -o s.mzs.gz
    mz-view -t s.mzs -o s.txt
    # the two-layer trace of mz-sched.bats (4 tokens, 2 slices): ops on layers 0 and 1; block 0 (dense)
    # forward is root_load, per slice embed, att, dense_ffn, and att_save: ops 0-7, then op 8 on layer 1
    mz-sched -M 1 -V A --slices 2 -u -o two.mzs "$TOP/test/sched-tiny.mzt"
    mz-view -t two.mzs -o two.txt
}

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    mkdir in
    cp "$BATS_FILE_TMPDIR"/fx/* in/
    FIRST=$(first_record in/s.mzs)
    SIZE=$(file_size in/s.mzs)
    NHEAD=$(grep -c '^@' in/s.txt) # header lines and @EOF: record k is line NHEAD - 1 + k
}

# Binary schedule SRC with its header edited by sed SCRIPT, to DST.
sched_with_header() {
    header_of "$1" | sed "$2" > hdr.txt
    rehead "$1" hdr.txt "$3" S
}

# Text schedule in/s.txt with field FIELD of record N set to VALUE, to DST.
sched_text_field() {
    awk -F'\t' -v n=$((NHEAD - 1 + $1)) -v f="$2" -v v="$3" 'BEGIN { OFS = "\t" } NR == n { $f = v } { print }' in/s.txt > "$4"
}

# The fixture's latency on test/tiny.wafer, by hand (mz-model(7) 3.4-3.5, 6.1): 1 tile of one 1 x 1 array
# at 1 cycle/s, so an op's time is its cycles, sum of K N (M + 2) over its matrix multiplies (SRAM bytes
# at 1000 B/s are below 1 s); memories 16 B/s, links and the dispatcher 8 B/s.
#   att fwd (T 1; h x P_att/h = 4 x 16, router 4 x 2, per head 4 x c and c x 4): 192 + 24 + 24 c:
#   240, 264 (c = 1, 2); bwd (dX and dW): 288 + 36 + 48 c: 372, 420; LM head (T 2, 4 x 10) 160, bwd
#   160 + 120 = 280; expert (1 pair; 4 x 4, 2 x 4) 72, bwd 112; root_load 160/16 = 10, embed 0.5,
#   loads 48 B 6 (the 8 B/s link), a2a ops 1, saves 2, att_save 6.5, lm_head bwd's 176 B 11, att_wb 10.
# In the fixed order (depth, then stream order) the root serves att s0 10.5-250.5, att s1 250.5-514.5;
# chiplet 1's expert of s1 515.5-587.5, its combine to 588.5; LM head 588.5-748.5, att_save to 755
# on root DRAM, which the LM head's backward waits for: 755-1035; dispatch s0 1035-1036, expert bwd
# s0 1036-1148, combine to 1149, att bwd s0 1149-1521, att bwd s1 (after the root) 1521-1941, its
# embedding rows 1941-1942, att_wb 1942-1952: 1952 s, a critical path of those 17 ops
# (0 3 4 10 11 13 14 15 18 19 23 24 26 27 35 36 39); C_T 1 (top-1), 2 tokens, it fits.
@test "the schedule fixtures are valid: mz-cost and mz-view read them" {
    for f in in/s.mzs in/s.mzs.gz in/s.txt; do
        run -0 mz-cost -w "$WAFER" $f
        assert_line --index 3 $'0\t1952.000000\t1.0000\t1.0000\t2\t41\t17\t1'
        run -0 mz-view -c $f
        assert_output 41
    done
    [ "$(record_payload in/s.mzs 2 | od -A n -t u1 | tr -s ' ')" = " 0 1 8 3 0 0 0 0 0 1 132 0 48 0" ]
    run -0 mz-cost -w "$WAFER" in/two.mzs
    run -0 mz-sched -M 1 -V A --slices 2 --prefetch 0 -w "$WAFER" -o s0.mzs "$COST_TINY"
}

@test "schedules: empty input (plain, and a gzip stream of nothing)" {
    : > in/empty.mzs
    gzip -c < /dev/null > in/empty.mzs.gz
    sched_refused "empty" in/empty.mzs "empty input"
    sched_refused "empty gzip" in/empty.mzs.gz "empty input"
}

@test "schedules, binary and gzip: truncated in the header, mid-record, inside and right before the end marker" {
    head -c 30 in/s.mzs > in/head.mzs
    sched_refused "cut in the header" in/head.mzs "truncated: input ends at byte 30 (in the header)"
    head -c $((FIRST + 10)) in/s.mzs > in/mid.mzs
    sched_refused "cut in record 1" in/mid.mzs "truncated: input ends at byte $((FIRST + 10)) (in record 1)"
    head -c $((SIZE - 3)) in/s.mzs > in/end.mzs
    sched_refused "cut inside the end marker" in/end.mzs "truncated: input ends at byte $((SIZE - 3)) (in the end marker)"
    head -c $((SIZE - 12)) in/s.mzs > in/noend.mzs
    sched_refused "cut right before the end marker" in/noend.mzs "truncated: no end marker after 41 records"
    gsize=$(file_size in/s.mzs.gz)
    head -c 12 in/s.mzs.gz > in/g1.mzs
    sched_refused "gzip cut in its header" in/g1.mzs "truncated gzip input"
    head -c $((gsize / 2)) in/s.mzs.gz > in/g2.mzs
    sched_refused "gzip cut in the middle" in/g2.mzs "truncated gzip input (unexpected end of file after "
    head -c $((gsize - 4)) in/s.mzs.gz > in/g3.mzs
    sched_refused "gzip cut in the trailer" in/g3.mzs "truncated gzip input"
}

@test "schedules, text: truncated in the header, mid-record, before the @EOF line" {
    head -4 in/s.txt > in/head.txt
    sched_refused "cut after header line 4" in/head.txt "truncated: input ends after the header (no records, no @EOF line)"
    head -c 60 in/s.txt > in/head2.txt
    sched_refused "cut inside header line 2" in/head2.txt "line 2: truncated (no newline at end of input)"
    n=$(head -$((NHEAD - 1 + 4)) in/s.txt | wc -c)
    head -c $((n + 10)) in/s.txt > in/mid.txt
    sched_refused "cut inside record line 5" in/mid.txt "line $((NHEAD - 1 + 5)): truncated (no newline at end of input)"
    grep -v '^@EOF' in/s.txt > in/noeof.txt
    sched_refused "no @EOF line" in/noeof.txt "truncated: no @EOF line after 41 records"
    head -c $(($(file_size in/s.txt) - 2)) in/s.txt > in/eof.txt
    sched_refused "cut inside the @EOF line" in/eof.txt "line $((NHEAD + 41)): truncated (no newline at end of input)"
}

@test "schedules: a flipped bit (binary header, payload, CRC, end count; gzip data; text key and tab)" {
    cp in/s.mzs in/h.mzs
    flip_bit in/h.mzs 30 1
    sched_refused "flip in the header text" in/h.mzs "corrupt header (checksum mismatch)"
    cp in/s.mzs in/p.mzs
    r2=$(record_at in/s.mzs 2)
    [ "$(u32_at in/s.mzs $r2)" -eq 14 ] # record 2's length
    flip_bit in/p.mzs $((r2 + 4 + 3)) 2
    sched_refused "flip in the payload of record 2" in/p.mzs "record 2: corrupt (checksum mismatch)"
    cp in/s.mzs in/c.mzs
    flip_bit in/c.mzs $((r2 + 4 + 14 + 2)) 0
    sched_refused "flip in the CRC of record 2" in/c.mzs "record 2: corrupt (checksum mismatch)"
    cp in/s.mzs in/n.mzs
    flip_bit in/n.mzs $((SIZE - 8)) 1 # 41 = 0b101001 -> 0b101011
    sched_refused "flip in the end marker's count" in/n.mzs "end marker counts 43 records but 41 were read"
    gsize=$(file_size in/s.mzs.gz)
    for off in $((gsize / 2)) $((gsize / 2 + 1)) $((gsize / 2 + 2)) $((gsize / 3)); do
        cp in/s.mzs.gz in/d.mzs
        flip_bit in/d.mzs $off 4
        if ! gzip -dc in/d.mzs 2> /dev/null | cmp -s - in/s.mzs; then break; fi
    done
    sched_refused "flip in the deflate data" in/d.mzs "corrupt gzip input: "
    cp in/s.mzs.gz in/gc.mzs
    flip_bit in/gc.mzs $((gsize - 8)) 0
    sched_refused "flip in the gzip CRC" in/gc.mzs "corrupt gzip input: incorrect data check"
    # text: 'chiplets' -> 'Chiplets' in @PT; the tab after the kind of record 2 -> ')'
    sed $'s/^@PT\tchiplets:/@PT\tChiplets:/' in/s.txt > in/k.txt
    sched_refused "text: flip in the @PT key" in/k.txt "header @PT chiplets: missing"
    sed "$((NHEAD + 1))s/^0\t1\tload\t/0\t1\tload)/" in/s.txt > in/t.txt
    sched_refused "text: flip of a tab in record 2" in/t.txt \
        "line $((NHEAD + 1)): expected 11 tab-separated fields (step id kind category layer mb dir slice phase terms deps)"
}

@test "schedules: wrong magic and kind, a newer major version" {
    cp in/s.mzs in/m.mzs
    printf 'MX' | dd of=in/m.mzs conv=notrunc status=none
    sched_refused "binary magic MX" in/m.mzs "not an mz stream (no MZ magic and no @HD header line)"
    gzip -c in/m.mzs > in/m.mzs.gz
    sched_refused "gzip of magic MX" in/m.mzs.gz "not an mz stream (no MZ magic and no @HD header line)"
    sed '1s/^@HD/@HX/' in/s.txt > in/m.txt
    sched_refused "text @HX" in/m.txt "not an mz stream (no MZ magic and no @HD header line)"
    cp in/s.mzs in/k.mzs
    printf 'T' | dd of=in/k.mzs bs=1 seek=2 conv=notrunc status=none
    sched_refused "kind byte T" in/k.mzs "header says kind schedule but the magic says 'T'"
    sed '1s/KD:schedule/KD:plan/' in/s.txt > in/kd.txt
    sched_refused "text KD:plan" in/kd.txt "unknown stream kind 'plan'"
    # a trace where mz-cost wants a schedule (mz-view reads any kind)
    refuses "mz-cost: a trace" "$COST_TINY" "is a trace stream, expected a schedule stream" mz-cost -w "$WAFER" "$COST_TINY"
    v="format version 2 is not supported (this is mozart-tools 0.1.0, format 1.0)"
    cp in/s.mzs in/v2.mzs
    printf '\002' | dd of=in/v2.mzs bs=1 seek=3 conv=notrunc status=none
    sched_refused "binary major 2" in/v2.mzs "$v"
    gzip -c in/v2.mzs > in/v2.mzs.gz
    sched_refused "gzip major 2" in/v2.mzs.gz "$v"
    sed '1s/VN:1.0/VN:2.0/' in/s.txt > in/v2.txt
    sched_refused "text VN:2.0" in/v2.txt "$v"
}

@test "schedules: header geometry that disagrees with the records (binary, gzip, text)" {
    # one chiplet in @PT, but ops on chiplet 1
    sched_with_header in/s.mzs 's/^@PT\tchiplets:2/@PT\tchiplets:1/' in/pt.mzs
    gzip -c in/pt.mzs > in/pt.mzs.gz
    for f in in/pt.mzs in/pt.mzs.gz; do
        sched_refused "@PT chiplets 1 ($f)" $f "record 3: op 2: term mem_read: index 1 out of range (1 chiplets)" \
            "mz-cost=record 3: op 2: chiplet 1 out of range (1 chiplets)"
    done
    sed 's/^@PT\tchiplets:2/@PT\tchiplets:1/' in/s.txt > in/pt.txt
    sched_refused "text: @PT chiplets 1" in/pt.txt "line $((NHEAD + 2)): op 2: term mem_read: index 1 out of range (1 chiplets)"
    # a model of 1 layer, ops on layer 1
    sched_with_header in/two.mzs 's/\tlayers:2\tmoe:1\t/\tlayers:1\tmoe:0\t/' in/md.mzs
    sched_refused "binary: @MD layers 1" in/md.mzs "record 9: op 8: layer 1 out of range (the model has 1 layers)" \
        "mz-cost=record 9: op 8: layer 1 out of range"
    sed 's/\tlayers:2\tmoe:1\t/\tlayers:1\tmoe:0\t/' in/two.txt > in/md.txt
    n2=$(($(grep -c '^@' in/two.txt) - 1 + 9)) # record 9's line
    sched_refused "text: @MD layers 1" in/md.txt "line $n2: op 8: layer 1 out of range (the model has 1 layers)"
    [ "$(sed -n ${n2}p in/two.txt | cut -f2,5)" = $'8\t1' ]
    [ "$(sed -n $((n2 - 1))p in/two.txt | cut -f2,3,5)" = $'7\tatt_save\t0' ]
    # a record whose structure is not an op: op 1 claims 5 terms
    patch_record in/s.mzs 2 9 5 in/r.mzs
    sched_refused "binary: op with 5 terms in 14 bytes" in/r.mzs "record 2: corrupt schedule record (14 bytes)"
    # a dependency on a later op
    patch_record in/s.mzs 2 13 1 in/dep.mzs # deps: count 1, then the delta is missing
    sched_refused "binary: truncated deps" in/dep.mzs "record 2: corrupt schedule record (14 bytes)"
    sched_text_field 4 11 5 in/dep.txt
    sched_refused "text: dependency on a later op" in/dep.txt "line $((NHEAD + 3)): op 3: dependency 5 is not an earlier op"
}

@test "schedules: a chiplet index out of range (binary record with a valid CRC, text)" {
    patch_record in/s.mzs 2 11 5 in/r.mzs
    gzip -c in/r.mzs > in/r.mzs.gz
    for f in in/r.mzs in/r.mzs.gz; do
        sched_refused "index 5 ($f)" $f "record 2: op 1: term mem_read: index 5 out of range (2 chiplets)" \
            "mz-cost=record 2: op 1: chiplet 5 out of range (2 chiplets)"
    done
    sched_text_field 2 10 "mem_read:7=48" in/r.txt
    sched_refused "text: index 7" in/r.txt "line $((NHEAD + 1)): op 1: term mem_read: index 7 out of range (2 chiplets)"
    sched_text_field 2 10 "mem_read:65536=48" in/r.txt
    sched_refused "text: index 65536" in/r.txt "line $((NHEAD + 1)): term index: 65536 is out of range [0, 65535]"
}

@test "schedules: an op id repeated within a step (binary record with a valid CRC, text)" {
    # op 2 (record 3) numbered 1 again
    patch_record in/s.mzs 3 1 1 in/d.mzs
    gzip -c in/d.mzs > in/d.mzs.gz
    for f in in/d.mzs in/d.mzs.gz; do
        sched_refused "op 1 twice ($f)" $f "record 3: op 1 of step 0: expected op 2 (ids count 0, 1, ... within a step)"
    done
    sched_text_field 3 2 1 in/d.txt
    sched_refused "text: op 1 twice" in/d.txt "line $((NHEAD + 2)): op 1 of step 0: expected op 2 (ids count 0, 1, ... within a step)"
    # an op id skipped, a step going back
    sched_text_field 3 2 3 in/s3.txt
    sched_refused "text: op 2 skipped" in/s3.txt "line $((NHEAD + 2)): op 3 of step 0: expected op 2"
    patch_record in/s.mzs 1 0 1 in/st.mzs # op 0 of step 1, then op 1 of step 0
    sched_refused "binary: step going back" in/st.mzs "record 2: op 1 of step 0 comes after step 1 (records are ordered by step)" \
        "mz-cost=record 2: op 1 of step 0"
}

@test "schedules: quantities and fields that are negative, NaN, inf, huge or not numbers" {
    # binary: op 1's quantity as a double (term type 4, mem_read, not whole)
    for q in 'nan:\000\000\000\000\000\000\370\177' '-1:\000\000\000\000\000\000\360\277' 'inf:\000\000\000\000\000\000\360\177' \
        '-inf:\000\000\000\000\000\000\360\377'; do
        printf "\000\001\010\003\000\000\000\000\000\001\004\000${q#*:}\000" > pay
        replace_record in/s.mzs 2 pay in/q.mzs
        sched_refused "binary: quantity ${q%%:*}" in/q.mzs "record 2: op 1: term mem_read: quantity ${q%%:*} is not a finite number >= 0"
    done
    for v in -1 nan inf -inf 1e301 x ''; do
        case $v in
        -1 | inf | -inf | 1e301) want="term quantity: $v is out of range [0, 1e+300]" ;;
        '') want="term quantity: empty value, expected a number" ;;
        *) want="term quantity: '$v' is not a number" ;;
        esac
        sched_text_field 2 10 "mem_read:0=$v" in/q.txt
        sched_refused "text: quantity '$v'" in/q.txt "line $((NHEAD + 1)): $want"
    done
    for v in -1 nan 9223372036854775808 x; do
        case $v in
        -1 | 9223372036854775808) want="layer: $v is out of range [0, 2147483647]" ;;
        *) want="layer: '$v' is not an integer" ;;
        esac
        sched_text_field 2 5 "$v" in/l.txt
        sched_refused "text: layer '$v'" in/l.txt "line $((NHEAD + 1)): $want"
    done
    sched_text_field 2 7 "up" in/d.txt
    sched_refused "text: direction 'up'" in/d.txt "line $((NHEAD + 1)): direction: 'up' is not fwd or bwd"
    sched_text_field 2 3 "fly" in/k.txt
    sched_refused "text: kind 'fly'" in/k.txt "line $((NHEAD + 1)): kind: unknown op kind 'fly'"
    # header numbers
    for v in 0 -2 nan 1e300 9223372036854775808 x; do
        case $v in
        0 | -2 | 9223372036854775808) want="header @PT chiplets: $v is out of range [1, 65536]" ;;
        *) want="header @PT chiplets: '$v' is not an integer" ;;
        esac
        sched_with_header in/s.mzs "s/^@PT\tchiplets:2/@PT\tchiplets:$v/" in/h.mzs
        sched_refused "binary: @PT chiplets '$v'" in/h.mzs "$want"
    done
    sed '/^@SC/s/\tbytes:2\t/\tbytes:x\t/' in/s.txt > in/b.txt # (grad_bytes follows bytes in @SC)
    grep -q $'^@SC\t.*\tbytes:x\tgrad_bytes:2$' in/b.txt
    refuses "mz-cost: @SC bytes 'x'" in/b.txt "header @SC bytes: 'x' is not an integer" mz-cost -w "$WAFER" in/b.txt
}

@test "schedules: missing header lines and fields" {
    miss() { # LABEL SED WANT [TOOL=WANT]
        local label=$1 script=$2 want=$3
        shift 3
        sed "$script" in/s.txt > in/x.txt
        sched_with_header in/s.mzs "$script" in/x.mzs
        sched_refused "text: $label" in/x.txt "$want" "$@" || return 1
        sched_refused "binary: $label" in/x.mzs "$want" "$@" || return 1
    }
    miss "no @PT line" '/^@PT\t/d' "schedule header has no @PT (placement) line"
    miss "no @MD line" '/^@MD\t/d' "schedule header has no @MD (model) line"
    miss "@PT groups" 's/\tgroups:1\t/\t/' "header @PT groups: missing"
    miss "@MD layers" 's/\tlayers:1\tmoe:0\t/\tmoe:0\t/' "header @MD layers: missing"
    # mz-cost needs the schedule's options too (mz-view does not)
    for f in txt mzs; do
        [ $f = txt ] && sed '/^@SC\t/d' in/s.txt > in/sc.txt || sched_with_header in/s.mzs '/^@SC\t/d' in/sc.mzs
        refuses "mz-cost: no @SC ($f)" in/sc.$f "header has no @SC (schedule options) line: not a schedule from mz-sched" \
            mz-cost -w "$WAFER" in/sc.$f
    done
    sched_text_field 2 11 "" in/x.txt
    sched_refused "text: empty deps field" in/x.txt "line $((NHEAD + 1)): dependency: empty value, expected an integer"
}

# ---------------------------------------------------------------- wafer descriptions

# The wafer readers, each taking the wafer after -w and -o FILE after it.
wafer_reader() {
    local tool=$1
    shift
    case $tool in
    mz-cost) mz-cost in/s.mzs -w "$@" ;;
    mz-sched) mz-sched -M 1 -V A --slices 2 --prefetch 0 "$COST_TINY" -w "$@" ;;
    esac
}

# wafer_refused LABEL FILE WANT: both readers refuse wafer FILE naming it and
# WANT; mz-sched writes no complete stream to stdout.
wafer_refused() {
    refuses "mz-cost: wafer: $1" "$2" "$3" wafer_reader mz-cost "$2" || return 1
    refuses "mz-sched: wafer: $1" "$2" "$3" wafer_reader mz-sched "$2" || return 1
    unfinished "mz-sched: wafer: $1" mz-sched -M 1 -V A --slices 2 --prefetch 0 -u -w "$2" "$COST_TINY"
}

# The wafer with sed SCRIPT applied, to in/x.wafer.
wafer_edit() {
    sed "$1" "$WAFER" > in/x.wafer
}

@test "wafers: empty, truncated inside a line, cut at a line boundary" {
    : > in/x.wafer
    wafer_refused "empty" in/x.wafer ": empty wafer description (no [section], field or include)"
    printf '# only a comment\n\n' > in/x.wafer
    wafer_refused "comments only" in/x.wafer ": empty wafer description"
    head -c $(($(head -1 "$WAFER" | wc -c) + 10)) "$WAFER" > in/x.wafer
    wafer_refused "cut in line 2" in/x.wafer ": line 2: truncated (no newline at end of input)"
    # "bandwidth_GBps = 16" of line 25 "bandwidth_GBps = 16e-9": a valid value, but cut
    head -c $(($(head -24 "$WAFER" | wc -c) + 19)) "$WAFER" > in/x.wafer
    [ "$(tail -1 in/x.wafer)" = "bandwidth_GBps = 16" ]
    wafer_refused "cut in the middle of a line" in/x.wafer ": line 25: truncated (no newline at end of input)"
    head -24 "$WAFER" > in/x.wafer # the file stops in [memory]
    [ "$(tail -1 in/x.wafer)" = "[memory]" ]
    wafer_refused "cut at a line boundary" in/x.wafer "): missing field 'memory.bandwidth_GBps'"
    head -3 "$WAFER" > in/x.wafer # comments only: nothing set
    wafer_refused "cut before [topology]" in/x.wafer ": empty wafer description"
}

@test "wafers: a flipped byte that breaks the syntax" {
    # '=' -> '?' (bit 1), a letter of a key, '[' -> '{' (bit 5)
    wafer_edit 's/^tiles = 1 /tiles ? 1 /'
    wafer_refused "flip of '='" in/x.wafer ": line 11: expected 'key = value', '[section]' or 'include FILE'"
    wafer_edit 's/^tiles = 1 /tilEs = 1 /'
    wafer_refused "flip in a key" in/x.wafer ": line 11: unknown field 'compute.tilEs'"
    wafer_edit 's/^\[sram\]/{sram]/'
    wafer_refused "flip of '['" in/x.wafer ": line 19: expected 'key = value', '[section]' or 'include FILE'"
    wafer_edit 's/^\[sram\]/[sRam]/'
    wafer_refused "flip in a section" in/x.wafer ": line 19: unknown section '[sRam]'"
}

@test "wafers: geometry that does not hold, or does not fit the schedule" {
    wafer_edit 's/^switches = 1 /switches = 3 /; s/^expert_chiplets = 2 /expert_chiplets = 4 /'
    wafer_refused "4 chiplets in 3 groups" in/x.wafer ": line 7: topology.switches: 4 expert chiplets cannot form 3 equal groups"
    wafer_edit 's/^kind = tree /kind = mesh /'
    wafer_refused "a mesh without mesh.root_links" in/x.wafer "): missing field 'mesh.root_links'"
    # mz-cost only: the schedule needs 2 chiplets and 2 bytes per element
    wafer_edit 's/^expert_chiplets = 2 /expert_chiplets = 1 /'
    # (the message names the schedule, then the wafer)
    refuses "mz-cost: wafer with 1 chiplet" in/s.mzs "uses 2 expert chiplets, the wafer has 1 (topology.expert_chiplets); wafer: in/x.wafer" \
        wafer_reader mz-cost in/x.wafer
    wafer_edit 's/^precision_bytes = 2 /precision_bytes = 4 /'
    refuses "mz-cost: wafer of 4 bytes" in/s.mzs "counts 2 bytes per element, the wafer computes with 4 (compute.precision_bytes); wafer: in/x.wafer" \
        wafer_reader mz-cost in/x.wafer
}

@test "wafers: a field set twice in one file" {
    wafer_edit 's/^tile_MB = 1 .*/tile_MB = 1\ntile_MB = 2/'
    wafer_refused "tile_MB twice" in/x.wafer ": line 21: sram.tile_MB: set twice in one file (first on line 20)"
}

@test "wafers: values that are negative, zero, NaN, inf, huge or not numbers" {
    # a real field (bounds (0, 1e9]) and an integer field (bounds [1, 65536])
    for v in -1 0 nan inf 1e300 9223372036854775808 1e-400 fast ''; do
        case $v in
        -1) want="memory.bandwidth_GBps: -1 is negative" ;;
        0) want="memory.bandwidth_GBps: must be greater than 0" ;;
        inf | 1e-400) want="memory.bandwidth_GBps: $v is out of range" ;;
        1e300 | 9223372036854775808) want="memory.bandwidth_GBps: $v is too large (at most 1e+09)" ;;
        '') want="memory.bandwidth_GBps: empty value" ;;
        *) want="memory.bandwidth_GBps: '$v' is not a number" ;;
        esac
        wafer_edit "s/^bandwidth_GBps = 16e-9 /bandwidth_GBps = $v /"
        wafer_refused "bandwidth '$v'" in/x.wafer ": line 25: $want"
    done
    for v in -1 0 nan inf 1e300 9223372036854775808 65537 2.5 x; do
        case $v in
        -1) want="topology.expert_chiplets: -1 is negative" ;;
        0) want="topology.expert_chiplets: must be greater than 0" ;;
        9223372036854775808) want="topology.expert_chiplets: $v is out of range" ;;
        65537) want="topology.expert_chiplets: 65537 is too large (at most 65536)" ;;
        *) want="topology.expert_chiplets: '$v' is not an integer" ;;
        esac
        wafer_edit "s/^expert_chiplets = 2 /expert_chiplets = $v /"
        wafer_refused "expert_chiplets '$v'" in/x.wafer ": line 8: $want"
    done
    wafer_edit 's/^kind = tree /kind = ring /'
    wafer_refused "kind 'ring'" in/x.wafer ": line 5: topology.kind: 'ring' is not one of tree, mesh"
    # an efficiency above 1 (compute.utilisation is gone in timing model v2; memory.efficiency is bounded alike)
    wafer_edit '/^\[memory\]/,/^\[/s/^efficiency = 1 /efficiency = 1.5 /'
    [ "$(grep -c '^efficiency = 1.5 ' in/x.wafer)" -eq 1 ]
    wafer_refused "memory efficiency 1.5" in/x.wafer ": line 30: memory.efficiency: 1.5 is too large (at most 1)"
}

@test "wafers: missing fields and sections" {
    # bandwidth_GBps is in [memory] and [spill]: each line is deleted in its section only
    for field in topology.kind compute.tiles compute.clock_GHz sram.tile_MB memory.bandwidth_GBps memory.phy_mm \
        spill.bandwidth_GBps links.wire_GBps links.wires_per_mm root.dispatch_Bpc switch.multicast; do
        sec=${field%%.*} key=${field#*.}
        wafer_edit "/^\[$sec\]/,/^\[/{/^$key = /d}"
        [ "$(($(wc -l < "$WAFER") - $(wc -l < in/x.wafer)))" -eq 1 ]
        wafer_refused "no $field" in/x.wafer "): missing field '$field'"
    done
    wafer_edit '/^\[sram\]/d'
    wafer_refused "no [sram] line" in/x.wafer ": line 19: unknown field 'compute.tile_MB'"
    wafer_edit '/^\[topology\]/d'
    wafer_refused "no [topology] line" in/x.wafer ": line 4: 'kind' outside any [section]"
    wafer_edit 's/^tiles = 1 .*/tiles = # none/'
    wafer_refused "no value" in/x.wafer ": line 11: compute.tiles: empty value"
    printf 'include nothere.wafer\n' > in/x.wafer
    wafer_refused "include of a missing file" in/x.wafer ": line 1: include: nothere.wafer"
}
