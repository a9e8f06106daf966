# badinput.bash: fixture makers for the bad-input matrix (test/bad-input*.bats): valid small inputs and byte surgery on mz streams.
# Portable shell only (printf, dd, od, head, tail, gzip): the CRC-32 of a
# patched record or header is the one gzip stores in its trailer.

# The 4 bytes of N, little-endian.
le32() {
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) \
        $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}

# CRC-32 of standard input as 4 bytes, little-endian (gzip's trailer).
crc32le() {
    gzip -c | tail -c 8 | head -c 4
}

# Unsigned 32-bit little-endian integer at byte OFFSET of FILE.
u32_at() {
    local b
    b=($(od -A n -t u1 -j "$2" -N 4 "$1"))
    echo $((b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24))
}

# Set byte OFFSET of FILE to VALUE (0-255), in place.
set_byte() {
    printf "\\$(printf %03o "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Byte OFFSET of FILE as a number.
byte_at() {
    od -A n -t u1 -j "$2" -N 1 "$1" | tr -d ' '
}

# Offset of the first record of binary (uncompressed) stream FILE: magic,
# header length, header, header CRC.
first_record() {
    echo $((8 + $(u32_at "$1" 4) + 4))
}

# Offset of record N (1-based; its length field) of binary stream FILE
# (uncompressed); N = count + 1 gives the end marker.
record_at() {
    local off i
    off=$(first_record "$1")
    for ((i = 1; i < $2; i++)); do
        off=$((off + 4 + $(u32_at "$1" "$off") + 4))
    done
    echo "$off"
}

# The text header of binary stream FILE (uncompressed), on stdout.
header_of() {
    tail -c +9 "$1" | head -c "$(u32_at "$1" 4)"
}

# rehead SRC HEADER DST [KIND]: DST is binary stream SRC (uncompressed) with
# the text header in file HEADER instead of its own (valid magic, length and
# CRC), so a header can disagree with records that are themselves intact.
rehead() {
    local src=$1 hdr=$2 dst=$3 kind=${4:-T}
    {
        printf 'MZ%s\001' "$kind"
        le32 "$(wc -c < "$hdr")"
        cat "$hdr"
        crc32le < "$hdr"
        tail -c +$(($(first_record "$src") + 1)) "$src"
    } > "$dst"
}

# patch_record SRC N BYTE VALUE DST: DST is binary stream SRC (uncompressed)
# with byte BYTE of the payload of record N (1-based) set to VALUE and the
# record's CRC recomputed, so only the record's content is wrong.
patch_record() {
    local src=$1 n=$2 byte=$3 value=$4 dst=$5 off len
    off=$(record_at "$src" "$n")
    len=$(u32_at "$src" "$off")
    dd if="$src" of=payload.tmp bs=1 skip=$((off + 4)) count="$len" status=none
    set_byte payload.tmp "$byte" "$value"
    {
        head -c $((off + 4)) "$src"
        cat payload.tmp
        crc32le < payload.tmp
        tail -c +$((off + 4 + len + 4 + 1)) "$src"
    } > "$dst"
    rm -f payload.tmp
}

# Append the label to $BADINPUT_LOG when set: one line per checked
# invocation, to count them (BADINPUT_LOG=/tmp/n test/run test/bad-input*.bats).
count_case() {
    if [ -n "${BADINPUT_LOG:-}" ]; then echo "$1" >> "$BADINPUT_LOG"; fi
    return 0
}

# refuses LABEL FILE WANT CMD...: CMD, run with "-o out.d/out" appended, must
# refuse its bad input FILE: exit 1, nothing on stdout, a message on stderr
# that names FILE (the path as given) and then contains WANT (a literal part
# of the message: the cause), and nothing left in out.d: no output, no
# temporary file. LABEL says which tool and case failed.
refuses() {
    local label=$1 file=$2 want=$3 left
    local -a found
    shift 3
    count_case "$label"
    # (builtins only around the run: the matrix runs thousands of these)
    [ -d out.d ] || mkdir out.d
    run --separate-stderr "$@" -o out.d/out
    shopt -s nullglob dotglob
    found=(out.d/*)
    shopt -u nullglob dotglob
    left=${found[*]}
    if [ "$status" -eq 1 ] && [[ "$stderr" == *"$file"*"$want"* ]] && [ -z "$output" ] && [ -z "$left" ]; then
        return 0
    fi
    echo "FAILED: $label"
    echo "  command: $* -o out.d/out"
    echo "  exit:    $status (want 1)"
    echo "  stderr:  $stderr"
    echo "  want:    ...$file...$want..."
    if [ -n "$output" ]; then echo "  stdout:  ${output:0:300}"; fi
    if [ -n "$left" ]; then echo "  left in out.d: $left"; fi
    return 1
}

# unfinished LABEL CMD...: CMD writes a stream to standard output from bad
# input: it must exit 1, and what it wrote must not read as a complete
# stream (mz-view -c refuses it: no end marker was written).
unfinished() {
    local label=$1 st=0
    shift
    count_case "$label (stdout)"
    "$@" > part.out 2> part.err || st=$?
    if [ "$st" -ne 1 ]; then
        echo "FAILED: $label (stdout): exit $st (want 1): $* ; stderr: $(cat part.err)"
        return 1
    fi
    # (nothing written cannot look complete: read back only what was)
    if [ -s part.out ] && mz-view -c part.out > /dev/null 2>&1; then
        echo "FAILED: $label (stdout): $* wrote a complete-looking stream ($(file_size part.out) bytes)"
        return 1
    fi
}

# replace_record SRC N PAYLOAD DST: DST is binary stream SRC (uncompressed)
# with the payload of record N (1-based) replaced by the bytes of file
# PAYLOAD, its length and CRC made to match.
replace_record() {
    local src=$1 n=$2 pay=$3 dst=$4 off
    off=$(record_at "$src" "$n")
    {
        head -c "$off" "$src"
        le32 "$(wc -c < "$pay")"
        cat "$pay"
        crc32le < "$pay"
        tail -c +$((off + 4 + $(u32_at "$src" "$off") + 4 + 1)) "$src"
    } > "$dst"
}

# Payload of record N of binary stream SRC (uncompressed), on stdout.
record_payload() {
    local src=$1 n=$2 off
    off=$(record_at "$src" "$n")
    tail -c +$((off + 4 + 1)) "$src" | head -c "$(u32_at "$src" "$off")"
}
