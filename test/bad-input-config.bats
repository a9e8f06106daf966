#!/usr/bin/env bats
# bad-input-config.bats: the bad-input matrix (issue 7) for JSON configs, priors, loads tables, placement files, and JSONL and TSV/CSV route logs.
# The table of the whole matrix, the cases and the n.a. notes are at the top
# of test/bad-input.bats; the checks are those of test/badinput.bash.
load helper
load badinput
bats_require_minimum_version 1.5.0

# A tiny world, small enough to edit by line: a model of 2 MoE layers, 4
# experts, top-2 (config.json lines: 1 '{', 2 layers, 3 hidden, 4 experts,
# 5 top-k, 6 FFN, 7 heads, 8 vocab, 9 '}'); its prior (lines: 1 comment,
# 2 model, 3 experts, 4 topk, 5 topic_size, 6 coact, 7 seq_stick, 8 logit 0,
# 9 logit 1); a trace of 2 sequences of 3 tokens; that trace as route logs
# (JSONL: line 1 meta, then per token its layer 0 and layer 1 lines; TSV:
# the same lines without the meta); a loads table (line 1 header, 2-5
# layer 0, 6-9 layer 1); its contiguous placement on 2 chiplets (line 1
# #placement, 2 header, 3-10 layer expert chiplet group).
setup_file() {
    mkdir -p "$BATS_FILE_TMPDIR/fx/tiny"
    cd "$BATS_FILE_TMPDIR/fx" || return 1
    printf '{\n  "num_hidden_layers": 2,\n  "hidden_size": 8,\n  "num_experts": 4,\n  "num_experts_per_tok": 2,\n' > tiny/config.json
    printf '  "moe_intermediate_size": 8,\n  "num_attention_heads": 1,\n  "vocab_size": 16\n}\n' >> tiny/config.json
    printf '# made by hand for bad-input-config.bats\nmodel\ttiny\nexperts\t4\ntopk\t2\ntopic_size\t2\n' > tiny.prior
    printf 'coact\t1.5\nseq_stick\t0.3\nlogit\t0\t0.5\t0\t-0.5\t1.2\nlogit\t1\t0\t0\t0\t0\n' >> tiny.prior
    mz-trace -m tiny/config.json -p ./tiny.prior -n 1 -b 2 -L 3 -u -o tiny.mzt
    mz-view -t tiny.mzt | awk -F'\t' '!/^@/ { for (l = 0; l < 2; l++) print "s" $2 "\t" $3 "\t" l "\t" $(4 + l) }' | tr , '\t' > log.tsv
    {
        echo '{"type": "meta", "model_id": "tiny", "layers_logged": [0, 1], "top_k": 2}'
        awk -F'\t' '{ printf "{\"type\": \"route\", \"req_id\": \"%s\", \"token_idx\": %s, \"layer\": %s, \"topk_ids\": [%s, %s]}\n", $1, $2, $3, $4, $5 }' log.tsv
    } > log.jsonl
    printf 'layer\texpert\tcount\n0\t0\t40\n0\t1\t30\n0\t2\t20\n0\t3\t10\n1\t0\t15\n1\t1\t15\n1\t2\t25\n1\t3\t45\n' > loads.tsv
    mz-place -a contiguous -c 2 -g 1 -W place.tsv -o /dev/null tiny.mzt
}

setup() {
    cd "$BATS_TEST_TMPDIR" || return 1
    mkdir in
    cp -r "$BATS_FILE_TMPDIR"/fx/* in/
    MODEL=in/tiny/config.json
}

# FILE edited by sed SCRIPT into DST.
edit() {
    sed "$2" "$1" > "$3"
}

# Line N of FILE cut after C characters (a line without its newline) into DST.
cut_line() {
    head -c $(($(head -$(($2 - 1)) "$1" | wc -c) + $3)) "$1" > "$4"
}

@test "the fixtures are valid: every reader accepts them" {
    run -0 mz-trace -m $MODEL -n 1 -b 1 -L 2 -o t.mzt
    run -0 mz-trace -m $MODEL -p in/tiny.prior -n 1 -b 1 -L 2 -o t.mzt
    run -0 mz-fit -m $MODEL -i 1 -k 100 -r in/tiny.mzt -o f.prior
    run -0 mz-fit -m $MODEL -i 1 -k 100 -T in/loads.tsv -o f.prior
    run -0 mz-place -R in/place.tsv -o p.mzt in/tiny.mzt
    for f in in/log.jsonl in/log.tsv; do
        run -0 --separate-stderr mz-import -m $MODEL -b 2 -o i.mzt $f
        [ "$stderr" = "mz-import: $f: 6 of 6 tokens kept in 2 sequences (longest 3)" ]
        diff <(mz-view -t i.mzt | grep -v '^@') <(mz-view -t in/tiny.mzt | grep -v '^@')
    done
    [ "$(sed -n 4p $MODEL)" = '  "num_experts": 4,' ]
    [ "$(sed -n 8p in/tiny.prior | cut -f1,2)" = $'logit\t0' ]
    [ "$(sed -n 3p in/log.jsonl)" = '{"type": "route", "req_id": "s0", "token_idx": 0, "layer": 1, "topk_ids": [2, 0]}' ]
    [ "$(sed -n 3p in/place.tsv)" = $'0\t0\t0\t0' ]
}

# ---------------------------------------------------------------- JSON configs

# config_refused LABEL FILE WANT: mz-trace -m, mz-import -m and mz-fit -m
# refuse config FILE naming it and WANT; mz-trace and mz-import put no
# complete stream on stdout.
config_refused() {
    refuses "mz-trace -m: $1" "$2" "$3" mz-trace -n 1 -b 1 -L 2 -m "$2" || return 1
    refuses "mz-import -m: $1" "$2" "$3" mz-import -q in/log.jsonl -m "$2" || return 1
    refuses "mz-fit -m: $1" "$2" "$3" mz-fit -i 1 -k 100 -r in/tiny.mzt -m "$2" || return 1
    unfinished "mz-trace -m: $1" mz-trace -n 1 -b 1 -L 2 -u -m "$2" || return 1
    unfinished "mz-import -m: $1" mz-import -q -u in/log.jsonl -m "$2"
}

# The tiny config with sed SCRIPT applied, to x/config.json.
config_edit() {
    mkdir -p x
    sed "$1" $MODEL > x/config.json
}

@test "configs: empty, and cut in the middle and right before the closing brace" {
    mkdir x
    : > x/config.json
    config_refused "empty" x/config.json "line 1: invalid JSON: '[' or '{' expected near end of file"
    head -c 60 $MODEL > x/config.json
    config_refused "cut in a key" x/config.json "line 4: invalid JSON: premature end of input near '\"num_exper'"
    head -c 50 $MODEL > x/config.json
    config_refused "cut after a value" x/config.json "line 4: invalid JSON: string or '}' expected near end of file"
    head -c $(($(file_size $MODEL) - 2)) $MODEL > x/config.json
    config_refused "cut before '}'" x/config.json "line 9: invalid JSON: '}' expected near end of file"
    # and a real Hugging Face config cut short
    head -c 300 "$TOP/models/olmoe-1b-7b-0924.json" > x/real.json
    config_refused "a real config cut" x/real.json "invalid JSON: "
}

@test "configs: a flipped byte, syntax errors, a root that is not an object" {
    config_edit '3s/:/;/' # ':' (0x3a) -> ';' (bit 0)
    config_refused "flip of ':'" x/config.json "line 3: invalid JSON: ':' expected near ';'"
    config_edit '4s/"num_experts"/num_experts"/'
    config_refused "a quote lost" x/config.json "line 4: invalid JSON: string or '}' expected near 'num'"
    config_edit '8s/16/16,/'
    config_refused "a trailing comma" x/config.json "line 9: invalid JSON: string or '}' expected near '}'"
    printf '{} x\n' > x/config.json
    config_refused "data after the object" x/config.json "line 1: invalid JSON: end of file expected near 'x'"
    config_edit '1s/{/[{/; 9s/}/}]/'
    config_refused "an array" x/config.json ": not a JSON object"
}

@test "configs: geometry that does not hold" {
    config_edit '5s/2,/5,/'
    config_refused "top-k above the experts" x/config.json "num_experts_per_tok (5) exceeds the number of experts (4)"
    config_edit '4s/4,/4, "n_group": 3, "topk_group": 1,/'
    config_refused "groups that do not divide the experts" x/config.json "n_group (3) must divide the experts and be >= topk_group (1)"
    config_edit '4s/4,/4, "first_k_dense_replace": 2, "intermediate_size": 16,/'
    config_refused "no MoE layer" x/config.json "no MoE layers (check first_k_dense_replace, decoder_sparse_step, mlp_only_layers)"
    config_edit '4s/4,/4, "mlp_only_layers": [0, 2],/'
    config_refused "a layer beyond the model" x/config.json "field 'mlp_only_layers' item 1 is not a layer number"
    config_edit '4s/4,/4, "mlp_only_layers": [0], "first_k_dense_replace": 0,/'
    config_refused "a dense layer without its FFN width" x/config.json "missing field 'intermediate_size' (the dense layers' FFN width)"
}

@test "configs: a key given twice" {
    config_edit '4s/4,/4, "num_experts": 8,/'
    config_refused "num_experts twice" x/config.json "line 4: invalid JSON: duplicate object key near '\"num_experts\"'"
}

@test "configs: values that are negative, zero, NaN, inf, huge, not integers or of the wrong type" {
    for v in -4 0 NaN Infinity -Infinity 1e300 4.0 9223372036854775808 9223372036854775807 4294967300 '"4"' true '[4]' '{}'; do
        case $v in
        -4 | 0 | 9223372036854775807 | 4294967300) want="field 'num_experts' = $v is out of range [1, 65536]" ;;
        NaN | Infinity) want="line 4: invalid JSON: invalid token near '$v'" ;;
        -Infinity) want="line 4: invalid JSON: invalid token near '-'" ;;
        9223372036854775808) want="line 4: invalid JSON: too big integer near '$v'" ;;
        *) want="field 'num_experts' is not an integer" ;;
        esac
        config_edit "4s/: 4,/: $v,/"
        config_refused "num_experts $v" x/config.json "$want"
    done
    for key in num_hidden_layers hidden_size vocab_size; do
        config_edit "s/\"$key\": [0-9]*/\"$key\": -1/"
        config_refused "$key -1" x/config.json "field '$key' = -1 is out of range [1, "
        config_edit "s/\"$key\": [0-9]*/\"$key\": \"many\"/"
        config_refused "$key a string" x/config.json "field '$key' is not an integer"
    done
    config_edit '4s/4,/4, "mlp_only_layers": 1,/'
    config_refused "mlp_only_layers not a list" x/config.json "field 'mlp_only_layers' is not a list"
}

@test "configs: missing fields (absent or null)" {
    for key in num_hidden_layers hidden_size num_experts num_experts_per_tok num_attention_heads vocab_size; do
        config_edit "s/\"$key\"/\"x_$key\"/" # (renamed: the JSON stays valid)
        want="missing field '$key'"
        [ $key = num_experts ] && want="missing field 'num_experts' or 'n_routed_experts' or 'num_local_experts'"
        config_refused "no $key" x/config.json "$want"
        config_edit "s/\"$key\": [0-9]*/\"$key\": null/"
        config_refused "$key null" x/config.json "$want"
    done
    config_edit 's/"moe_intermediate_size"/"x_moe_intermediate_size"/'
    config_refused "no FFN width" x/config.json "missing field 'moe_intermediate_size' or 'intermediate_size'"
}

# ---------------------------------------------------------------- priors

# prior_refused LABEL FILE WANT: mz-trace -p refuses prior FILE naming it and
# WANT, and puts no complete stream on stdout.
prior_refused() {
    refuses "mz-trace -p: $1" "$2" "$3" mz-trace -m $MODEL -n 1 -b 1 -L 2 -p "$2" || return 1
    unfinished "mz-trace -p: $1" mz-trace -m $MODEL -n 1 -b 1 -L 2 -u -p "$2"
}

@test "priors: empty, cut in a line, cut at a line boundary" {
    : > in/x.prior
    prior_refused "empty" in/x.prior "empty prior file (no key lines, only comments or nothing)"
    head -1 in/tiny.prior > in/x.prior
    prior_refused "comments only" in/x.prior "empty prior file"
    cut_line in/tiny.prior 3 8 in/x.prior # "experts\t"
    prior_refused "cut in line 3" in/x.prior "line 3: truncated (no newline at end of input)"
    cut_line in/tiny.prior 8 12 in/x.prior
    prior_refused "cut in a logit line" in/x.prior "line 8: truncated (no newline at end of input)"
    head -8 in/tiny.prior > in/x.prior
    prior_refused "cut before the last logit line" in/x.prior "no logits for MoE layer 1 of tiny"
    head -7 in/tiny.prior > in/x.prior
    prior_refused "cut before the logit lines" in/x.prior "no 'logit' lines"
}

@test "priors: a flipped byte in a key or a tab" {
    edit in/tiny.prior '3s/^experts/Experts/' in/x.prior
    prior_refused "flip in a key" in/x.prior "line 3: Experts: unknown key"
    edit in/tiny.prior '3s/^experts\t/experts)/' in/x.prior
    prior_refused "flip of a tab" in/x.prior "line 3: experts)4: unknown key"
    edit in/tiny.prior '8s/^logit\t0\t0.5\t/logit\t0\t0.5)/' in/x.prior
    prior_refused "flip of a tab in a logit line" in/x.prior "line 8: logit: expected a layer number and 4 values (5 fields), found 4 fields"
}

@test "priors: a prior that does not fit the model, or whose rows do not fit it" {
    edit in/tiny.prior '4s/2/3/' in/x.prior
    prior_refused "top-3" in/x.prior "prior is for 4 experts top-3, model tiny has 4 experts top-2"
    edit in/tiny.prior '3s/4/8/' in/x.prior
    prior_refused "8 experts" in/x.prior "line 8: logit: expected a layer number and 8 values (9 fields), found 5 fields"
    edit in/tiny.prior '5s/2/5/' in/x.prior
    prior_refused "topic_size 5" in/x.prior "topic_size 5 exceeds the 4 experts"
    edit in/tiny.prior '9s/$/\t0/' in/x.prior
    prior_refused "5 values for 4 experts" in/x.prior "line 9: logit: expected a layer number and 4 values (5 fields), found 6 fields"
    edit in/tiny.prior '9s/^logit\t1/share\t1/' in/x.prior
    prior_refused "a share line without its logit line" in/x.prior "layer 1 has a share line but no logit line"
}

@test "priors: a key or a layer given twice" {
    edit in/tiny.prior '6s/$/\ncoact\t2/' in/x.prior
    prior_refused "coact twice" in/x.prior "line 7: coact: given twice (first on line 6)"
    edit in/tiny.prior '3s/$/\nexperts\t4/' in/x.prior
    prior_refused "experts twice" in/x.prior "line 4: experts: given twice (first on line 3)"
    edit in/tiny.prior '9s/^logit\t1/logit\t0/' in/x.prior
    prior_refused "logit of layer 0 twice" in/x.prior "line 9: logit: layer 0 given twice"
}

@test "priors: values that are negative, NaN, inf, huge or not numbers" {
    for v in -1 0 nan inf 1e300 9223372036854775808 65537 x ''; do
        case $v in
        -1 | 0 | 9223372036854775808 | 65537) want="experts: $v is out of range [1, 65536]" ;;
        '') want="experts: empty value, expected an integer" ;;
        *) want="experts: '$v' is not an integer" ;;
        esac
        edit in/tiny.prior "3s/\t4\$/\t$v/" in/x.prior
        prior_refused "experts '$v'" in/x.prior "line 3: $want"
    done
    for v in -1 nan inf 1e300 9223372036854775808 x ''; do
        case $v in
        nan | x) want="coact: '$v' is not a number" ;;
        '') want="coact: empty value, expected a number" ;;
        *) want="coact: $v is out of range [0, 50]" ;;
        esac
        edit in/tiny.prior "6s/\t1.5\$/\t$v/" in/x.prior
        prior_refused "coact '$v'" in/x.prior "line 6: $want"
    done
    for v in nan inf -inf 1e300 -1e300 9223372036854775808 x; do
        case $v in
        nan | x) want="'$v' is not a number" ;;
        *) want="$v is out of range [-1000, 1000]" ;;
        esac
        edit in/tiny.prior "8s/\t-0.5\t/\t$v\t/" in/x.prior
        prior_refused "logit '$v'" in/x.prior "line 8: logit: layer 0 expert 2: $want"
    done
    edit in/tiny.prior '7s/0.3/1.5/' in/x.prior
    prior_refused "seq_stick 1.5" in/x.prior "line 7: seq_stick: 1.5 is out of range [0, 1]"
    edit in/tiny.prior '9s/^logit\t1/logit\t4096/' in/x.prior
    prior_refused "logit layer 4096" in/x.prior "line 9: logit: 4096 is out of range [0, 4095]"
    edit in/tiny.prior '$s/$/\nshare\t1\t0.5\t0.5\t2\t0/' in/x.prior
    prior_refused "share 2" in/x.prior "line 10: share: layer 1 expert 2: 2 is out of range [0, 1]"
}

@test "priors: missing keys and values" {
    edit in/tiny.prior '/^experts/d' in/x.prior
    prior_refused "no experts" in/x.prior "line 7: logit: 'experts' must be given before the layer lines"
    edit in/tiny.prior '/^topk/d' in/x.prior
    prior_refused "no topk" in/x.prior "missing 'topk'"
    edit in/tiny.prior '/^topic_size/d' in/x.prior
    prior_refused "no topic_size" in/x.prior "missing 'topic_size'"
    edit in/tiny.prior '/^logit\t1/d' in/x.prior
    prior_refused "no logits of layer 1" in/x.prior "no logits for MoE layer 1 of tiny"
    edit in/tiny.prior '6s/\t1.5$//' in/x.prior
    prior_refused "coact without its value" in/x.prior "line 6: coact: expected 1 value"
}

# ---------------------------------------------------------------- loads tables

# table_refused LABEL FILE WANT: mz-fit -T refuses loads table FILE naming it
# and WANT.
table_refused() {
    refuses "mz-fit -T: $1" "$2" "$3" mz-fit -m $MODEL -i 1 -k 100 -T "$2"
}

@test "loads tables: empty, header only, cut in the header and in a row" {
    : > in/x.tsv
    table_refused "empty" in/x.tsv "no rows"
    head -1 in/loads.tsv > in/x.tsv
    table_refused "header only" in/x.tsv "no rows"
    cut_line in/loads.tsv 1 8 in/x.tsv
    table_refused "cut in the header" in/x.tsv "line 1: truncated (no newline at end of input)"
    cut_line in/loads.tsv 4 4 in/x.tsv
    table_refused "cut in row 3" in/x.tsv "line 4: truncated (no newline at end of input)"
}

@test "loads tables: a flipped byte, a wrong header line" {
    edit in/loads.tsv '3s/^0\t1\t/0\t1)/' in/x.tsv
    table_refused "flip of a tab" in/x.tsv "line 3: 2 fields, the header has 3"
    edit in/loads.tsv '3s/^0/p/' in/x.tsv # '0' -> 'p' (bit 6)
    table_refused "flip of a digit" in/x.tsv "line 3: layer: 'p' is not an integer"
    edit in/loads.tsv '1s/count/cnt/' in/x.tsv
    table_refused "no value column" in/x.tsv "line 1: header needs columns 'layer', 'expert' and 'share' or 'count'"
}

@test "loads tables: rows that do not fit the model, ids out of range" {
    edit in/loads.tsv '9s/^1\t3/1\t4/' in/x.tsv
    table_refused "expert 4 of 4" in/x.tsv "loads name expert 4 but tiny has 4 experts"
    edit in/loads.tsv '9s/^1\t3/1\t65536/' in/x.tsv
    table_refused "expert 65536" in/x.tsv "line 9: expert: 65536 is out of range [0, 65535]"
    edit in/loads.tsv '6,9s/^1/2/' in/x.tsv
    table_refused "layer 2 of 2" in/x.tsv "loads give layer 2, which is not an MoE layer of tiny"
    edit in/loads.tsv '3s/$/\tx/' in/x.tsv
    table_refused "4 fields" in/x.tsv "line 3: 4 fields, the header has 3"
    # a trace read with -r is checked against the model the same way
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 1 -L 2 -o in/big.mzt
    refuses "mz-fit -r: a trace of another model" in/big.mzt "loads name expert 63 but tiny has 4 experts" \
        mz-fit -m $MODEL -i 1 -k 100 -r in/big.mzt
}

@test "loads tables: values that are negative, NaN, inf, huge or not numbers; a layer with no load" {
    for v in -1 nan inf 1e300 9223372036854775808 lots ''; do
        case $v in
        nan | lots) want="count: '$v' is not a number" ;;
        '') want="count: empty value, expected a number" ;;
        *) want="count: $v is out of range [0, 1e+15]" ;;
        esac
        edit in/loads.tsv "3s/\t30\$/\t$v/" in/x.tsv
        table_refused "count '$v'" in/x.tsv "line 3: $want"
    done
    for v in -1 1e300 9223372036854775808 x; do
        case $v in
        1e300 | x) want="layer: '$v' is not an integer" ;;
        *) want="layer: $v is out of range [0, 4095]" ;;
        esac
        edit in/loads.tsv "3s/^0/$v/" in/x.tsv
        table_refused "layer '$v'" in/x.tsv "line 3: $want"
    done
    edit in/loads.tsv '6,9s/\t[0-9]*$/\t0/' in/x.tsv
    table_refused "layer 1 with no load" in/x.tsv "layer 1 has no load"
}

@test "loads tables: missing columns and fields" {
    edit in/loads.tsv 's/\t[^\t]*\t/\t/' in/x.tsv # no expert column
    table_refused "no expert column" in/x.tsv "line 1: header needs columns 'layer', 'expert' and 'share' or 'count'"
    edit in/loads.tsv '5s/\t10$//' in/x.tsv
    table_refused "a row without its count" in/x.tsv "line 5: 2 fields, the header has 3"
    edit in/loads.tsv '5s/\t10$/\t/' in/x.tsv
    table_refused "an empty count" in/x.tsv "line 5: count: empty value, expected a number"
}

# ---------------------------------------------------------------- placement files

# placement_refused LABEL FILE WANT: mz-place -R refuses placement FILE
# naming it and WANT, and puts no complete stream on stdout.
placement_refused() {
    refuses "mz-place -R: $1" "$2" "$3" mz-place in/tiny.mzt -R "$2" || return 1
    unfinished "mz-place -R: $1" mz-place -u in/tiny.mzt -R "$2"
}

@test "placement files: empty, cut in the header and in a row, cut at a line boundary" {
    : > in/x.tsv
    placement_refused "empty" in/x.tsv "empty placement file"
    head -1 in/place.tsv > in/x.tsv
    placement_refused "#placement line only" in/x.tsv "empty placement file"
    cut_line in/place.tsv 2 10 in/x.tsv
    placement_refused "cut in the header line" in/x.tsv "line 2: truncated (no newline at end of input)"
    cut_line in/place.tsv 6 3 in/x.tsv
    placement_refused "cut in a row" in/x.tsv "line 6: truncated (no newline at end of input)"
    head -8 in/place.tsv > in/x.tsv
    placement_refused "cut at a line boundary" in/x.tsv "layer 1: expert 2 is not placed"
}

@test "placement files: a flipped byte, a wrong header line" {
    edit in/place.tsv '5s/^0\t2\t/0\t2)/' in/x.tsv
    placement_refused "flip of a tab" in/x.tsv "line 5: expected 4 tab-separated fields"
    edit in/place.tsv '2s/expert/exPert/' in/x.tsv
    placement_refused "flip in the header line" in/x.tsv "line 2: expected the header 'layer expert chiplet group'"
    edit in/place.tsv '2d' in/x.tsv
    placement_refused "no header line" in/x.tsv "line 2: expected the header 'layer expert chiplet group'"
}

@test "placement files: topology and rows that disagree, ids out of range, an expert placed twice" {
    edit in/place.tsv '1s/chiplets:2\tgroups:1/chiplets:8\tgroups:1/' in/x.tsv
    placement_refused "8 chiplets for 4 experts" in/x.tsv "8 chiplets for 4 experts: some chiplets would be empty"
    edit in/place.tsv '1s/chiplets:2\tgroups:1/chiplets:4\tgroups:2/' in/x.tsv
    placement_refused "4 chiplets, rows on 2" in/x.tsv "layer 0: chiplet 2 hosts no expert"
    edit in/place.tsv '1s/groups:1/groups:3/' in/x.tsv
    placement_refused "2 chiplets in 3 groups" in/x.tsv "2 chiplets cannot form 3 equal groups"
    edit in/place.tsv '3s/^0\t0\t0\t0$/0\t0\t0\t1/' in/x.tsv
    placement_refused "a chiplet in another group" in/x.tsv "line 3: chiplet 0 belongs to group 0, not 1"
    edit in/place.tsv '3s/^0\t0\t0\t0$/0\t0\t2\t0/' in/x.tsv
    placement_refused "chiplet 2 of 2" in/x.tsv "line 3: chiplet 2 out of range (the wafer has 2 expert chiplets)"
    edit in/place.tsv '3s/^0\t0\t/0\t4\t/' in/x.tsv
    placement_refused "expert 4 of 4" in/x.tsv "line 3: expert: 4 is out of range [0, 3]"
    edit in/place.tsv '3s/^0\t0\t/2\t0\t/' in/x.tsv
    placement_refused "layer 2 of 2" in/x.tsv "line 3: layer: 2 is out of range [0, 1]"
    edit in/place.tsv '4s/^0\t1\t/0\t0\t/' in/x.tsv
    placement_refused "expert 0 twice" in/x.tsv "line 4: layer 0 expert 0 placed twice"
}

@test "placement files: values that are negative, NaN, inf, huge or not numbers; missing fields" {
    for v in -1 nan inf 1e300 9223372036854775808 x ''; do
        case $v in
        -1 | 9223372036854775808) want="chiplet: $v is out of range [0, 65535]" ;;
        '') want="chiplet: empty value, expected an integer" ;;
        *) want="chiplet: '$v' is not an integer" ;;
        esac
        edit in/place.tsv "3s/^0\t0\t0\t/0\t0\t$v\t/" in/x.tsv
        placement_refused "chiplet '$v'" in/x.tsv "line 3: $want"
    done
    for v in -2 0 1e300 9223372036854775808 x; do
        case $v in
        -2 | 0 | 9223372036854775808) want="#placement chiplets: $v is out of range [1, 65536]" ;;
        *) want="#placement chiplets: '$v' is not an integer" ;;
        esac
        edit in/place.tsv "1s/chiplets:2/chiplets:$v/" in/x.tsv
        placement_refused "#placement chiplets '$v'" in/x.tsv "$want"
    done
    edit in/place.tsv '1s/\tgroups:1//' in/x.tsv
    placement_refused "#placement without groups" in/x.tsv "#placement: missing field 'groups'"
    edit in/place.tsv '1s/chiplets:2\t//' in/x.tsv
    placement_refused "#placement without chiplets" in/x.tsv "#placement: missing field 'chiplets'"
    edit in/place.tsv '5s/\t0$//' in/x.tsv
    placement_refused "a row without its group" in/x.tsv "line 5: expected 4 tab-separated fields"
    edit in/place.tsv '5d' in/x.tsv
    placement_refused "a row missing" in/x.tsv "layer 0: expert 2 is not placed"
}

# ---------------------------------------------------------------- route logs (JSONL, TSV, CSV)

# import_refused LABEL FILE WANT: mz-import refuses route log FILE naming it
# and WANT (the last line of its stderr, after any anomaly lines), and puts
# no complete stream on stdout.
import_refused() {
    refuses "mz-import: $1" "$2" "$3" mz-import -m $MODEL -b 2 "$2" || return 1
    unfinished "mz-import: $1" mz-import -m $MODEL -b 2 -u "$2"
}

# The JSONL log with sed SCRIPT applied, to in/x.jsonl.
jsonl_edit() {
    sed "$1" in/log.jsonl > in/x.jsonl
}

@test "JSONL logs: empty, cut in the meta line and in a route line, at a token's layers, gzip cut" {
    : > in/x.jsonl
    import_refused "empty" in/x.jsonl "no route lines"
    cut_line in/log.jsonl 1 30 in/x.jsonl
    import_refused "cut in the meta line" in/x.jsonl "line 1: truncated (no newline at end of input)"
    cut_line in/log.jsonl 5 40 in/x.jsonl
    import_refused "cut in line 5" in/x.jsonl "line 5: truncated (no newline at end of input)"
    head -12 in/log.jsonl > in/x.jsonl # the last token has its layer 0 only
    import_refused "cut between a token's layers" in/x.jsonl \
        "refusing to import a log with anomalies: 1 gap (1 token); drop them with --drop gap (or --drop all), or fix the log"
    [[ "$stderr" == *"in/x.jsonl: line 12: gap: sequence 's1' token 2: no route for 1 traced layer (layer 1)"* ]]
    gzip -c in/log.jsonl > in/x.jsonl.gz
    head -c 80 in/x.jsonl.gz > in/cut.jsonl.gz
    import_refused "gzip cut" in/cut.jsonl.gz "truncated gzip input"
}

@test "JSONL logs: a flipped byte, syntax errors, lines that are not route objects" {
    jsonl_edit '3s/^{/[/' # '{' -> '[' (bit 5)
    import_refused "flip of '{'" in/x.jsonl "line 3: invalid JSON at column "
    jsonl_edit '3s/"layer": /"layer" /'
    import_refused "a ':' lost" in/x.jsonl "line 3: invalid JSON at column "
    jsonl_edit '3s/.*/[1, 2]/'
    import_refused "an array line" in/x.jsonl "line 3: expected a JSON object"
    jsonl_edit '3s/"route"/"rout"/'
    import_refused "unknown type" in/x.jsonl "line 3: unknown line type 'rout' (expected meta or route)"
    jsonl_edit '3s/"type": "route"/"type": 7/'
    import_refused "type not a string" in/x.jsonl "line 3: field 'type' is not a string"
}

@test "JSONL logs: a meta line or routes that disagree with the model" {
    jsonl_edit '1s/"top_k": 2/"top_k": 3/'
    import_refused "meta top_k 3" in/x.jsonl "line 1: meta: top_k 3, but tiny routes each token to 2 experts (wrong -m?)"
    jsonl_edit '1s/"layers_logged": \[0, 1\]/"layers_logged": [0]/'
    import_refused "meta logs layer 0 only" in/x.jsonl "line 3: layer 1 is not among the layers of this log (from the meta line); choose layers with -l"
    jsonl_edit '1s/"layers_logged": \[0, 1\]/"layers_logged": [0, 2]/'
    import_refused "meta logs layer 2" in/x.jsonl "line 1: meta: layers_logged item 1 is not a layer of tiny"
    jsonl_edit '3s/"layer": 1/"layer": 2/'
    import_refused "a route of layer 2" in/x.jsonl "line 3: layer 2 out of range (tiny has 2 layers)"
    jsonl_edit '3s/\[2, 0\]/[2, 0, 1]/'
    import_refused "3 ids for top-2" in/x.jsonl "refusing to import a log with anomalies: 1 count (1 token)"
    [[ "$stderr" == *"in/x.jsonl: line 3: count: 3 expert ids, expected 2 (top-k of tiny)"* ]]
}

@test "JSONL and TSV/CSV logs: an expert id out of range, an id repeated in a token" {
    for id in 4 -1 1000000; do
        jsonl_edit "3s/\\[2, 0\\]/[2, $id]/"
        import_refused "JSONL id $id" in/x.jsonl "refusing to import a log with anomalies: 1 range (1 token)"
        [[ "$stderr" == *"in/x.jsonl: line 3: range: expert id $id out of range (tiny has experts 0-3)"* ]]
        edit in/log.tsv "2s/\t2\t0\$/\t2\t$id/" in/x.tsv
        import_refused "TSV id $id" in/x.tsv "refusing to import a log with anomalies: 1 range (1 token)"
        [[ "$stderr" == *"in/x.tsv: line 2: range: expert id $id out of range (tiny has experts 0-3)"* ]]
    done
    jsonl_edit '3s/\[2, 0\]/[2, 2]/'
    import_refused "JSONL id twice" in/x.jsonl "refusing to import a log with anomalies: 1 duplicate (1 token)"
    [[ "$stderr" == *"in/x.jsonl: line 3: duplicate: expert 2 listed twice in one token"* ]]
    edit in/log.tsv '2s/\t2\t0$/\t2\t2/' in/x.tsv
    import_refused "TSV id twice" in/x.tsv "refusing to import a log with anomalies: 1 duplicate (1 token)"
    tr '\t' , < in/x.tsv > in/x.csv
    import_refused "CSV id twice" in/x.csv "refusing to import a log with anomalies: 1 duplicate (1 token)"
    [[ "$stderr" == *"in/x.csv: line 2: duplicate: expert 2 listed twice in one token"* ]]
}

@test "JSONL logs: values that are negative, NaN, inf, huge, not integers or of the wrong type" {
    for v in -1 NaN Infinity 1e300 0.5 9223372036854775808 1099511627776 '"0"' null; do
        case $v in
        -1 | 1099511627776) want="line 2: field 'token_idx' = $v is out of range" ;;
        NaN | Infinity) want="invalid token near '$v'" ;;
        9223372036854775808) want="too big integer near '$v'" ;;
        *) want="line 2: field 'token_idx' is not an integer" ;;
        esac
        jsonl_edit "2s/\"token_idx\": 0/\"token_idx\": $v/"
        import_refused "token_idx $v" in/x.jsonl "$want"
    done
    for v in 1e300 1.5 '"1"' 9223372036854775808; do
        case $v in
        9223372036854775808) want="line 3: invalid JSON at column " ;;
        *) want="line 3: field 'topk_ids' item 1 is not an integer" ;;
        esac
        jsonl_edit "3s/\\[2, 0\\]/[2, $v]/"
        import_refused "topk_ids item $v" in/x.jsonl "$want"
    done
    jsonl_edit '3s/"layer": 1/"layer": -1/'
    import_refused "layer -1" in/x.jsonl "line 3: field 'layer' = -1 is out of range"
    jsonl_edit '3s/"topk_ids": \[2, 0\]/"topk_ids": {}/'
    import_refused "topk_ids an object" in/x.jsonl "line 3: field 'topk_ids' is not a list"
    jsonl_edit '3s/"req_id": "s0"/"req_id": 1.5/'
    import_refused "req_id a real" in/x.jsonl "line 3: field 'req_id' is not a string or an integer"
    jsonl_edit '1s/"top_k": 2/"top_k": "2"/'
    import_refused "meta top_k a string" in/x.jsonl "line 1: meta: field 'top_k' is not an integer"
    jsonl_edit '1s/"layers_logged": \[0, 1\]/"layers_logged": "0,1"/'
    import_refused "meta layers_logged a string" in/x.jsonl "line 1: meta: layers_logged is not a list of layer numbers"
}

@test "JSONL logs: missing fields, a key given twice" {
    for key in req_id token_idx layer topk_ids; do
        jsonl_edit "3s/\"$key\"/\"x_$key\"/" # (renamed: the JSON stays valid)
        import_refused "no $key" in/x.jsonl "line 3: missing field '$key'"
    done
    jsonl_edit '3s/"layer": 1,/"layer": 1, "layer": 0,/'
    import_refused "layer twice" in/x.jsonl "line 3: invalid JSON at column "
    [[ "$stderr" == *"duplicate object key near '\"layer\"'" ]]
}

@test "TSV/CSV logs: empty, cut in a line, cut at a token's layers, a flipped byte" {
    : > in/x.tsv
    import_refused "empty" in/x.tsv "no route lines"
    cut_line in/log.tsv 1 3 in/x.tsv
    import_refused "cut in line 1" in/x.tsv "line 1: truncated (no newline at end of input)"
    cut_line in/log.tsv 3 5 in/x.tsv
    import_refused "cut in line 3" in/x.tsv "line 3: truncated (no newline at end of input)"
    head -11 in/log.tsv > in/x.tsv
    import_refused "cut between a token's layers" in/x.tsv "refusing to import a log with anomalies: 1 gap (1 token)"
    tr '\t' , < in/log.tsv | head -c 100 > in/x.csv
    import_refused "CSV cut in a line" in/x.csv ": truncated (no newline at end of input)"
    edit in/log.tsv '2s/^s0\t0\t/s0\t0)/' in/x.tsv
    import_refused "flip of a tab" in/x.tsv "line 2: token: '0)1' is not an integer"
    edit in/log.tsv '2s/^s0\t0/s0\tp/' in/x.tsv # '0' -> 'p' (bit 6)
    import_refused "flip of a digit" in/x.tsv "line 2: token: 'p' is not an integer"
}

@test "TSV/CSV logs: rows that disagree with the model, values out of range or not numbers, missing fields" {
    # line 2 is the JSONL's line 3: s0, token 0, layer 1, ids 2 and 0
    [ "$(sed -n 2p in/log.tsv)" = $'s0\t0\t1\t2\t0' ]
    edit in/log.tsv '2s/^s0\t0\t1\t/s0\t0\t2\t/' in/x.tsv
    import_refused "layer 2" in/x.tsv "line 2: layer 2 out of range (tiny has 2 layers)"
    edit in/log.tsv '2s/$/\t1/' in/x.tsv
    import_refused "3 ids for top-2" in/x.tsv "refusing to import a log with anomalies: 1 count (1 token)"
    for v in -1 nan inf 1e300 9223372036854775808 x ''; do
        case $v in
        -1 | 9223372036854775808) want="token: $v is out of range [0, 2147483647]" ;;
        '') want="token: empty value, expected an integer" ;;
        *) want="token: '$v' is not an integer" ;;
        esac
        edit in/log.tsv "2s/^s0\t0\t/s0\t$v\t/" in/x.tsv
        import_refused "token '$v'" in/x.tsv "line 2: $want"
    done
    for v in nan inf 1e300 9223372036854775808 x ''; do
        case $v in
        9223372036854775808) want="expert id 2: $v is out of range [-1000000, 1000000]" ;;
        '') want="expert id 2: empty value, expected an integer" ;;
        *) want="expert id 2: '$v' is not an integer" ;;
        esac
        edit in/log.tsv "2s/\t[0-9]*\$/\t$v/" in/x.tsv
        import_refused "id '$v'" in/x.tsv "line 2: $want"
    done
    edit in/log.tsv '2s/\t[0-9]*\t[0-9]*$//' in/x.tsv
    import_refused "a row without its ids" in/x.tsv "line 2: 3 fields, expected sequence, token, layer and the expert ids (at least 4, tab-separated)"
    tr '\t' , < in/log.tsv | sed '2s/,[0-9]*,[0-9]*$//' > in/x.csv
    import_refused "a CSV row without its ids" in/x.csv "line 2: 3 fields, expected sequence, token, layer and the expert ids (at least 4, comma-separated)"
}
