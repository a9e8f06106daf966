#!/usr/bin/env bats
# mz-fit.bats: fitting routing priors to loads tables and traces, and refusing bad tables.
load helper

OLMOE="$TOP/traces/olmoe-1b-7b-0924.expert-counts.tsv"

# A loads table of a 3-layer model of 4 experts, top-2, with layers 0 and 2 measured.
tiny() {
    mkdir -p tiny
    echo '{"num_hidden_layers": 3, "hidden_size": 8, "num_experts": 4, "num_experts_per_tok": 2,
           "moe_intermediate_size": 8, "num_attention_heads": 1, "vocab_size": 16}' > tiny/config.json
    printf '# made by hand\nsrc\tlayer\texpert\tcount\n' > tiny.tsv
    printf 'a\t0\t0\t40\na\t0\t1\t30\na\t0\t2\t20\na\t0\t3\t10\n' >> tiny.tsv
    printf 'a\t2\t0\t15\na\t2\t1\t15\na\t2\t2\t25\na\t2\t3\t45\n' >> tiny.tsv
    printf 'b\t0\t0\t1\nb\t0\t1\t1\nb\t0\t2\t1\nb\t0\t3\t97\n' >> tiny.tsv
}

@test "mz-fit: usage errors exit 2" {
    run mz-fit -m olmoe-1b-7b-0924
    assert_failure 2
    assert_output --partial "exactly one of -T TABLE or -r TRACE"
    run mz-fit -m olmoe-1b-7b-0924 -T a -r b
    assert_failure 2
    run mz-fit -m olmoe-1b-7b-0924 -r x -S domain=tulu
    assert_failure 2
    run mz-fit -m olmoe-1b-7b-0924 -T x --coact -1
    assert_failure 2
    assert_output --partial "--coact"
    run mz-fit -m olmoe-1b-7b-0924 -T x --topic-layout diagonal
    assert_failure 2
}

@test "mz-fit: measured layers kept, the middle one interpolated, shares sum to 1" {
    tiny
    run mz-fit -m tiny/config.json -T tiny.tsv -S src=a -k 20000 -i 20 -R rep.tsv -o tiny.prior
    assert_success
    run grep -c '^logit' tiny.prior
    assert_output 3
    run grep '^#   layer' tiny.prior
    assert_line --index 0 "#   layer 0: measured layer 0"
    assert_line --index 1 "#   layer 1: shape interpolated 0.500 of the way from tiny layer 0 to 2"
    assert_line --index 2 "#   layer 2: measured layer 2"
    # layer 0 targets are the counts 40:30:20:10 normalised
    run awk -F'\t' '$1 == "share" && $2 == 0 {print $3, $4, $5, $6}' tiny.prior
    assert_output "0.4 0.3 0.2 0.1"
    # every share row sums to 1
    run awk -F'\t' '$1 == "share" {s = 0; for (i = 3; i <= NF; i++) s += $i; printf "%.4f\n", s}' tiny.prior
    assert_output "$(printf '1.0000\n1.0000\n1.0000')"
    # layer 1: geometric mean of the two sorted shapes, (0.4*0.45)^.5 etc., renormalised
    run sh -c "awk -F'\t' '\$1 == \"share\" && \$2 == 1 {for (i = 3; i <= NF; i++) printf \"%.4f\\n\", \$i}' tiny.prior |
        sort -gr | paste -sd ' '"

    want=$(awk 'BEGIN {x[1] = sqrt(.4*.45); x[2] = sqrt(.3*.25); x[3] = sqrt(.2*.15); x[4] = sqrt(.1*.15)
        s = x[1] + x[2] + x[3] + x[4]; printf "%.4f %.4f %.4f %.4f\n", x[1]/s, x[2]/s, x[3]/s, x[4]/s}')
    assert_output "$want"
    # the fit reproduces the targets' skew within a few percent
    run awk -F'\t' 'NR > 1 {for (i = 2; i <= 6; i += 2) {r = $(i + 1) / $i - 1; if (r < 0) r = -r; if (r > m) m = r}}
        END {print (m < 0.05) ? "close" : "far " m}' rep.tsv
    assert_output "close"
}

@test "mz-fit: the fitted prior makes mz-trace reproduce the loads" {
    tiny
    mz-fit -m tiny/config.json -T tiny.tsv -S src=a -k 20000 -i 20 -o tiny.prior
    # many short sequences: tokens of one sequence share topics, so few long
    # ones would make the loads noisier than their count suggests
    mz-trace -m tiny/config.json -p ./tiny.prior -n 4 -b 1024 -L 16 -o t.mzt
    run mz-stat --loads loads.tsv -o /dev/null t.mzt
    assert_success
    run awk -F'\t' 'BEGIN {split("0.4 0.3 0.2 0.1", w, " ")} $1 == "0" {d = $4 - w[$2 + 1]; if (d < 0) d = -d
        if (d > m) m = d} END {print (m < 0.01) ? "within 0.01" : "off by " m}' loads.tsv
    assert_output "within 0.01"
}

@test "mz-fit: the same inputs and seed give the same prior" {
    tiny
    mz-fit -m tiny/config.json -T tiny.tsv -S src=b -k 2000 -i 5 -o a.prior
    mz-fit -m tiny/config.json -T tiny.tsv -S src=b -k 2000 -i 5 -o b.prior
    cmp a.prior b.prior
    mz-fit -m tiny/config.json -T tiny.tsv -S src=b -k 2000 -i 5 -s 2 -o c.prior
    ! cmp -s a.prior c.prior
}

@test "mz-fit: no share above one selection per token, unseen experts floored" {
    tiny
    # src=b gives expert 3 a share of 0.97 > 1/k = 0.5
    run mz-fit -m tiny/config.json -T tiny.tsv -S src=b -k 2000 -i 5 -o b.prior
    assert_success
    run awk -F'\t' '$1 == "share" && $2 == 0 {print ($6 <= 0.5) ? "capped" : "not capped " $6}' b.prior
    assert_output "capped"
    # the rest is shared in proportion to the data (1:1:1), the shares sum to 1
    run awk -F'\t' '$1 == "share" && $2 == 0 {printf "%.4f %.4f %.4f %.4f\n", $3, $4, $5, $6}' b.prior
    assert_output "0.1668 0.1668 0.1668 0.4995"
}

@test "mz-fit: the prior's parameters come from the options" {
    tiny
    mz-fit -m tiny/config.json -T tiny.tsv -S src=a -k 1000 -i 2 --coact 1.5 --topic-size 2 \
        --topic-layout strided --topic-seed 7 --seq-stick 0.25 --layer-stick 0.125 -N "hello there" -o p.prior
    run grep -v '^logit\|^share\|^#   ' p.prior
    assert_line "# hello there"
    assert_line "coact	1.5"
    assert_line "topic_size	2"
    assert_line "topic_layout	strided"
    assert_line "topic_seed	7"
    assert_line "seq_stick	0.25"
    assert_line "layer_stick	0.125"
}

@test "mz-fit: from another model's loads, by depth and rank" {
    run mz-fit -m deepseek-moe-16b-base -F olmoe-1b-7b-0924 -T "$OLMOE" -S domain=tulu -k 2000 -i 3 -o ds.prior
    assert_success
    # 27 MoE layers (1-27), none measured on this model
    [ "$(grep -c '^logit' ds.prior)" -eq 27 ]
    run grep '^#   layer 1:\|^#   layer 27:' ds.prior
    assert_line --index 0 "#   layer 1: shape of olmoe-1b-7b-0924 layer 0 (the nearest measured)"
    assert_line --index 1 "#   layer 27: shape of olmoe-1b-7b-0924 layer 15 (the nearest measured)"
}

@test "mz-fit: gzip tables and traces from standard input" {
    tiny
    gzip -c tiny.tsv > tiny.tsv.gz
    run mz-fit -m tiny/config.json -T tiny.tsv.gz -S src=a -k 1000 -i 2 -o a.prior
    assert_success
    mz-trace -m tiny/config.json -n 1 -b 2 -L 8 -t -o t.txt
    run sh -c 'mz-fit -m tiny/config.json -r - -k 1000 -i 2 < t.txt'
    assert_success
    assert_output --partial "# loads: -"
}

@test "mz-fit: bad tables are refused naming file and line" {
    tiny
    printf 'layer\texpert\n0\t1\n' > nocol.tsv
    run mz-fit -m tiny/config.json -T nocol.tsv
    assert_failure 1
    assert_output --partial "nocol.tsv: line 1: header needs columns 'layer', 'expert' and 'share' or 'count'"
    printf 'layer\texpert\tshare\n0\t1\n' > short.tsv
    run mz-fit -m tiny/config.json -T short.tsv
    assert_failure 1
    assert_output --partial "short.tsv: line 2: 2 fields, the header has 3"
    printf 'layer\texpert\tshare\n0\t1\tlots\n' > nan.tsv
    run mz-fit -m tiny/config.json -T nan.tsv
    assert_failure 1
    assert_output --partial "nan.tsv: line 2: share: 'lots' is not a number"
    printf 'layer\texpert\tshare\n0\t9\t0.5\n' > big.tsv
    run mz-fit -m tiny/config.json -T big.tsv
    assert_failure 1
    assert_output --partial "expert 9 but"
    printf 'layer\texpert\tshare\n7\t1\t0.5\n' > layer.tsv
    run mz-fit -m tiny/config.json -T layer.tsv
    assert_failure 1
    assert_output --partial "layer 7, which is not an MoE layer"
    run mz-fit -m tiny/config.json -T tiny.tsv -S nosuch=1
    assert_failure 1
    assert_output --partial "no such column"
    run mz-fit -m tiny/config.json -T tiny.tsv -S src=zzz
    assert_failure 1
    assert_output --partial "no rows match"
    gzip -c tiny.tsv | head -c 60 > cut.tsv.gz
    run mz-fit -m tiny/config.json -T cut.tsv.gz
    assert_failure 1
    assert_output --partial "truncated"
}

@test "mz-fit: writing to /dev/full fails, no half-written prior" {
    tiny
    run mz-fit -m tiny/config.json -T tiny.tsv -S src=a -k 1000 -i 2 -o /dev/full
    assert_failure 1
    assert_output --partial "/dev/full"
    run mz-fit -m tiny/config.json -T bad-nonexistent.tsv -o out.prior
    assert_failure 1
    [ ! -e out.prior ]
}

# ---------------------------------------------------------------- issue 15: count sets

@test "mz-fit -T reads count sets directly: per-layer JSON (DeepSeek-V3), SGLang counts, EPLB rows" {
    run -0 mz-fit -m deepseek-v3 -T "$TOP/traces/deepseek-v3.expert-load.json.gz" -k 500 -i 2 -o ds.prior
    grep -q '^# loads: .*deepseek-v3.expert-load.json.gz (layer-json format, 58 rows read as MoE layers in order' ds.prior
    grep -q '^#   layer 3: measured layer 3$' ds.prior
    grep -q '^#   layer 60: measured layer 60$' ds.prior
    # the same counts through mz-import's loads table give the same prior body
    mz-import -q -m deepseek-v3 -o ds.tsv "$TOP/traces/deepseek-v3.expert-load.json.gz"
    run -0 mz-fit -m deepseek-v3 -T ds.tsv -k 500 -i 2 -o ds2.prior
    diff <(grep -v '^#' ds.prior) <(grep -v '^#' ds2.prior)
    # SGLang and EPLB count sets of OLMoE's layer 7
    awk 'BEGIN { printf "{\"num_layers\": 16, \"num_experts\": 64, \"counts\": ["
        for (l = 0; l < 16; l++) { printf "%s[", l ? ", " : ""; for (e = 0; e < 64; e++) printf "%s%d", e ? ", " : "", l == 7 ? e + 1 : 0; printf "]" }
        printf "]}\n" }' > sg.json
    run -0 mz-fit -m olmoe-1b-7b-0924 -T sg.json -k 500 -i 2 -o sg.prior
    grep -q 'sglang format, 16 rows read as block numbers, 1 MoE layer with counts, 15 empty rows dropped' sg.prior
    grep -q '^#   layer 7: measured layer 7$' sg.prior
    awk 'BEGIN { for (e = 0; e < 64; e++) printf "7\t%d\t%d\n", e, e + 1 }' > eplb.tsv
    run -0 mz-fit -m olmoe-1b-7b-0924 -T eplb.tsv -k 500 -i 2 -o e.prior
    diff <(grep -v '^#' sg.prior) <(grep -v '^#' e.prior)
    run -1 mz-fit -m olmoe-1b-7b-0924 -T sg.json -S domain=x -o x.prior
    assert_output --partial "-S selects rows of a loads table, not of a count set"
    # from a pipe, with --format (looking would consume it)
    run -0 mz-fit -m olmoe-1b-7b-0924 -T <(cat sg.json) --format sglang -k 500 -i 2 -o p.prior
    diff <(grep -v '^#' sg.prior) <(grep -v '^#' p.prior)
    # --format auto (the default, named) looks at the file as no --format does
    run -0 mz-fit -m olmoe-1b-7b-0924 -T sg.json --format auto -k 500 -i 2 -o a.prior
    diff <(grep -v '^#' sg.prior) <(grep -v '^#' a.prior)
    run -2 mz-fit -m olmoe-1b-7b-0924 -T sg.json --format json
    assert_output --partial "--format: 'json' is not auto, sglang, layer-json or eplb"
}

@test "models/deepseek-v3.prior reproduces the real counts' skew within 10% on every layer (hottest share, CV, entropy)" {
    mz-import -q -m deepseek-v3 -o ds.tsv "$TOP/traces/deepseek-v3.expert-load.json.gz"
    mz-trace -m deepseek-v3 -n 10 -u | mz-stat > ds.stat
    run -0 "$TOP/models/skew-compare" ds.tsv ds.stat
    [ "$(echo "$output" | grep -vc '^#\|^layer')" -eq 58 ]
    echo "$output" | awk -F'\t' '!/^#/ && $1 != "layer" {
        for (i = 2; i <= 6; i += 2) { e = ($(i + 1) - $i) / $i; if (e < 0) e = -e; if (e > 0.10) { print "layer " $1 " column " i ": " e; bad = 1 } } }
        END { exit bad }'
    grep -q '^# source: traces/deepseek-v3.expert-load.json.gz' "$TOP/models/deepseek-v3.prior"
}
