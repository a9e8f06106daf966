#!/usr/bin/env bats
# mz-import.bats: route logs (JSONL, TSV, CSV) to traces: the real Qwen1.5 log, anomalies, malformed input, round trips.
load helper

REAL="$TOP/traces/qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz"
M=qwen1.5-moe-a2.7b

# One route line: req token layer ids [weights].
route() {
    printf '{"type": "route", "req_id": "%s", "token_idx": %s, "layer": %s, "topk_ids": [%s], "topk_weights": [%s]}\n' \
        "$1" "$2" "$3" "$4" "${5:-0.4, 0.3, 0.2, 0.1}"
}

# A clean log: meta (line 1), sequence a tokens 0-4 (lines 2-6), sequence b tokens 0-4 (lines 7-11).
small_log() {
    echo '{"type": "meta", "model_id": "test/model", "layers_logged": [0], "top_k": 4}'
    for t in 0 1 2 3 4; do route a $t 0 "$t, $((t + 10)), $((t + 20)), $((t + 30))"; done
    for t in 0 1 2 3 4; do route b $t 0 "$((t + 1)), $((t + 11)), $((t + 21)), $((t + 31))"; done
}

# Records of a trace without its header.
records() {
    mz-view -t "$1" | grep -v '^@'
}

@test "mz-import: bad options are usage errors (exit 2)" {
    run mz-import small.jsonl
    assert_failure 2
    assert_output --partial "no model given"
    run mz-import -m $M --drop warmup,frogs x
    assert_failure 2
    assert_output --partial "'frogs' is not an anomaly kind"
    run mz-import -m $M --max-run 1 x
    assert_failure 2
    run mz-import -m $M -b 0 x
    assert_failure 2
    assert_output --partial "--seqs"
    run mz-import -m $M -f xml x
    assert_failure 2
    run mz-import -m $M -f tsv --weights x
    assert_failure 2
    assert_output --partial "no gate weights"
    run mz-import -m $M -u -t x
    assert_failure 2
    assert_output --partial "mz-import: -u and -t exclude each other"
}

@test "mz-import: unknown model and missing file are data errors (exit 1)" {
    run mz-import -m no-such-model x
    assert_failure 1
    assert_output --partial "no-such-model"
    run mz-import -m $M no-such-file.jsonl
    assert_failure 1
    assert_output --partial "no-such-file.jsonl"
}

@test "the real Qwen1.5 log: the two warm-up blocks are reported with their lines and the log refused" {
    run mz-import -m $M -o out.mzt "$REAL"
    assert_failure 1
    assert_line --partial "lines 2-8193: warmup: 8192 identical routes in a row (layer 0: 43,5,7,58)"
    assert_line --partial "lines 9398-17589: warmup: 8192 identical routes in a row"
    assert_line --partial "refusing to import a log with anomalies: 2 warmup (16384 tokens); drop them with --drop warmup"
    [ ! -e out.mzt ]
    [ -z "$(ls)" ]
}

@test "the real Qwen1.5 log with --drop warmup: 2,434 tokens of layer 0 in 104 sequences" {
    run mz-import -m $M --drop warmup -o q.mzt "$REAL"
    assert_success
    assert_line --partial "2434 of 18818 tokens kept in 104 sequences (longest 91); dropped: 2 warmup (16384 tokens)"
    run mz-view -c q.mzt
    assert_output 2434
    run mz-view -H q.mzt
    assert_line "@TR	steps:4	seqs:32	seq_len:91	layers:0	weights:0"
    assert_line --regexp '^@IM	source:.*qwen1.5-moe-a2.7b-chat.layer0.routes.jsonl.gz	format:jsonl	lines:18819	rows:18818	tokens_in:18818	tokens:2434	seqs_in:106	seqs:104	seq_split:none	max_run:64	layers_from:meta line	found:warmup=2	dropped:warmup=16384	meta_model_id:Qwen/Qwen1.5-MoE-A2.7B-Chat	'
    assert_output --partial "meta_top_k:4"
    assert_line --regexp '^@CO	this trace holds MoE layer 0 of qwen1.5-moe-a2.7b only \(its MoE layers are 0-23\)'
    assert_line --regexp '^@PG	ID:0	PN:mz-import	'
}

@test "the real Qwen1.5 trace: contiguous C_T with 4 experts per chiplet is 3.64" {
    mz-import -m $M -d warmup -q -o q.mzt "$REAL"
    run sh -c "mz-stat -e 4 q.mzt | awk -F'\t' '\$1 == \"0\" { print \$2, \$15 }'"
    assert_success
    read -r n ct <<<"$output"
    [ "$n" = 2434 ]
    awk -v c="$ct" 'BEGIN { exit !(c > 3.635 && c < 3.645) }'
    # 15 chiplets spell the same layout
    run sh -c "mz-stat -c 15 q.mzt | awk -F'\t' '\$1 == \"0\" { print \$15 }'"
    assert_output "$ct"
}

@test "the trace in traces/ is what its README's command makes" {
    cd "$TOP"
    cmd=$(sed -n 's/^    \$ //p' traces/README | grep '^bin/mz-import')
    [ -n "$cmd" ]
    run sh -c "${cmd/-o traces\/qwen1.5-layer0.txt/-o $BATS_TEST_TMPDIR/again.txt}"
    assert_success
    diff <(grep -v '^@PG' traces/qwen1.5-layer0.txt) <(grep -v '^@PG' "$BATS_TEST_TMPDIR/again.txt")
}

@test "mz-import: '-' reads standard input; plain and gzip input give the same trace" {
    zcat "$REAL" > real.jsonl
    mz-import -m $M -d warmup -q -o a.mzt "$REAL"
    mz-import -m $M -d warmup -q -o b.mzt - < real.jsonl
    mz-import -m $M -d warmup -q -o c.mzt < real.jsonl
    diff <(records a.mzt) <(records b.mzt)
    diff <(records a.mzt) <(records c.mzt)
    run mz-view -c b.mzt
    assert_output 2434
}

@test "mz-import: gate weights with --weights, as in the log" {
    small_log > s.jsonl
    run mz-import -m $M --weights -t s.jsonl
    assert_success
    assert_line "@TR	steps:1	seqs:2	seq_len:5	layers:0	weights:1"
    assert_line "0	0	0	0:0.4,10:0.3,20:0.2,30:0.1"
    assert_line "0	1	4	5:0.4,15:0.3,25:0.2,35:0.1"
}

@test "mz-import: a truncated gzip log is an error naming the file and line" {
    head -c 3000 "$REAL" > cut.gz
    run mz-import -m $M -d all -o out.mzt cut.gz
    assert_failure 1
    assert_output --regexp '^mz-import: cut.gz: truncated gzip input .*\(after line [0-9]+\)$'
    [ ! -e out.mzt ]
}

@test "mz-import: a JSON line cut in half is an error naming file and line" {
    small_log > s.jsonl
    { head -4 s.jsonl; sed -n 5p s.jsonl | cut -c 1-60; tail -6 s.jsonl; } > cut.jsonl
    run mz-import -m $M -o out.mzt cut.jsonl
    assert_failure 1
    assert_output --regexp '^mz-import: cut.jsonl: line 5: invalid JSON at column [0-9]+: '
    [ ! -e out.mzt ]
    # the last line cut, without its newline
    head -c -20 s.jsonl > end.jsonl
    run mz-import -m $M end.jsonl
    assert_failure 1
    assert_output "mz-import: end.jsonl: line 11: truncated (no newline at end of input)"
}

@test "mz-import: malformed route lines are errors naming file, line and field" {
    small_log > s.jsonl
    sed '3s/"token_idx": 1/"token_idx": "1"/' s.jsonl > a.jsonl
    run mz-import -m $M a.jsonl
    assert_failure 1
    assert_output "mz-import: a.jsonl: line 3: field 'token_idx' is not an integer"
    sed '4s/"layer": 0, //' s.jsonl > b.jsonl
    run mz-import -m $M b.jsonl
    assert_output "mz-import: b.jsonl: line 4: missing field 'layer'"
    sed '6s/\[4, 14, 24, 34\]/[4, 14.5, 24, 34]/' s.jsonl > c.jsonl
    run mz-import -m $M c.jsonl
    assert_output "mz-import: c.jsonl: line 6: field 'topk_ids' item 1 is not an integer"
    sed '2s/"route"/"routing"/' s.jsonl > d.jsonl
    run mz-import -m $M d.jsonl
    assert_output "mz-import: d.jsonl: line 2: unknown line type 'routing' (expected meta or route)"
    sed '7s/"layer": 0/"layer": 24/' s.jsonl > e.jsonl
    run mz-import -m $M e.jsonl
    assert_failure 1
    assert_output "mz-import: e.jsonl: line 7: layer 24 out of range (qwen1.5-moe-a2.7b has 24 layers)"
    sed '1s/"top_k": 4/"top_k": 8/' s.jsonl > f.jsonl
    run mz-import -m $M f.jsonl
    assert_output --partial "f.jsonl: line 1: meta: top_k 8, but qwen1.5-moe-a2.7b routes each token to 4 experts"
    sed '1s/\[0\]/[0, 1]/; 8s/"layer": 0/"layer": 2/' s.jsonl > g.jsonl
    run mz-import -m $M g.jsonl
    assert_failure 1
    assert_line "mz-import: g.jsonl: line 8: layer 2 is not among the layers of this log (from the meta line); choose layers with -l"
    sed '5s/, "topk_weights": \[[^]]*\]//' s.jsonl > h.jsonl
    run mz-import -m $M --weights h.jsonl
    assert_failure 1
    assert_output --partial "h.jsonl: line 5: missing field 'topk_weights'"
    # without --weights the weights are not read
    run mz-import -m $M -q -o h.mzt h.jsonl
    assert_success
}

@test "mz-import: a dense layer is an error" {
    echo '{"type": "route", "req_id": "a", "token_idx": 0, "layer": 0, "topk_ids": [1, 2, 3, 4, 5, 6]}' > d.jsonl
    run mz-import -m deepseek-moe-16b-base d.jsonl
    assert_failure 1
    assert_output "mz-import: d.jsonl: line 1: layer 0 of deepseek-moe-16b-base is dense, not an MoE layer"
}

@test "mz-import: expert ids out of range are reported with their line; --drop range drops the token" {
    small_log > s.jsonl
    sed '4s/\[2, 12, 22, 32\]/[2, 12, 60, 32]/; 9s/\[3, 13, 23, 33\]/[-1, 13, 23, 33]/' s.jsonl > r.jsonl
    run mz-import -m $M -o out.mzt r.jsonl
    assert_failure 1
    assert_line "mz-import: r.jsonl: line 4: range: expert id 60 out of range (qwen1.5-moe-a2.7b has experts 0-59)"
    assert_line "mz-import: r.jsonl: line 9: range: expert id -1 out of range (qwen1.5-moe-a2.7b has experts 0-59)"
    assert_line --partial "refusing to import a log with anomalies: 2 range (2 tokens); drop them with --drop range"
    [ ! -e out.mzt ]
    run mz-import -m $M --drop range -t r.jsonl
    assert_success
    # sequence a loses token 2, b token 2; the others close up
    assert_line "0	0	2	3,13,23,33"
    assert_line "0	1	2	4,14,24,34"
    assert_line "@EOF	8"
}

@test "mz-import: an expert twice in a token, and the wrong number of ids" {
    small_log > s.jsonl
    sed '3s/\[1, 11, 21, 31\]/[1, 11, 1, 31]/; 10s/\[4, 14, 24, 34\]/[4, 14, 24]/' s.jsonl > a.jsonl
    run mz-import -m $M a.jsonl
    assert_failure 1
    assert_line "mz-import: a.jsonl: line 3: duplicate: expert 1 listed twice in one token"
    assert_line "mz-import: a.jsonl: line 10: count: 3 expert ids, expected 4 (top-k of qwen1.5-moe-a2.7b)"
    assert_line --partial "1 duplicate (1 token), 1 count (1 token); drop them with --drop duplicate,count"
    run mz-import -m $M -d duplicate,count -q -t a.jsonl
    assert_success
    assert_line "@EOF	8"
    # weights that do not match the ids are a count anomaly with --weights
    sed '5s/0.4, 0.3, 0.2, 0.1/0.5, 0.5/' s.jsonl > w.jsonl
    run mz-import -m $M --weights w.jsonl
    assert_failure 1
    assert_line "mz-import: w.jsonl: line 5: count: 4 expert ids but 2 gate weights"
}

@test "mz-import: missing and repeated tokens" {
    small_log > s.jsonl
    # a loses token 2 (line 4); b logs token 3 twice (line 10 again after it)
    { sed -n '1,3p;5,10p' s.jsonl; sed -n 10p s.jsonl; sed -n 11p s.jsonl; } > g.jsonl
    run mz-import -m $M g.jsonl
    assert_failure 1
    assert_line "mz-import: g.jsonl: line 4: gap: sequence 'a': token 2 missing (token_idx jumps to 3)"
    assert_line "mz-import: g.jsonl: line 10: repeat: sequence 'b' layer 0: token 3 logged again (after token 3)"
    run mz-import -m $M -d gap,repeat -t g.jsonl
    assert_success
    assert_line "0	0	2	3,13,23,33"
    assert_line "0	0	3	4,14,24,34"
    assert_line "0	1	4	5,15,25,35"
    assert_line "@EOF	9"
    # a sequence that does not start at token 0
    { sed -n '1,6p' s.jsonl; sed -n '9,11p' s.jsonl; } > late.jsonl
    run mz-import -m $M late.jsonl
    assert_failure 1
    assert_line "mz-import: late.jsonl: line 7: gap: sequence 'b': tokens 0-1 missing (token_idx starts at 2)"
}

@test "mz-import: a token missing one of the traced layers" {
    {
        echo '{"type": "meta", "layers_logged": [0, 1], "top_k": 4}'
        route a 0 0 "1, 2, 3, 4"; route a 0 1 "5, 6, 7, 8"
        route a 1 0 "1, 2, 3, 4"
        route a 2 0 "1, 2, 3, 4"; route a 2 1 "5, 6, 7, 9"
    } > m.jsonl
    run mz-import -m $M m.jsonl
    assert_failure 1
    assert_line "mz-import: m.jsonl: line 4: gap: sequence 'a' token 1: no route for 1 traced layer (layer 1)"
    run mz-import -m $M -d gap -q -t m.jsonl
    assert_success
    assert_line "0	0	1	1,2,3,4	5,6,7,9"
    assert_line "@EOF	2"
}

@test "mz-import: warm-up detection threshold (--max-run)" {
    {
        for t in $(seq 0 63); do route a $t 0 "1, 2, 3, 4"; done
        for t in $(seq 64 70); do route a $t 0 "$((t - 50)), 2, 3, 4"; done
    } > w.jsonl
    run mz-import -m $M w.jsonl
    assert_failure 1
    assert_line "mz-import: w.jsonl: lines 1-64: warmup: 64 identical routes in a row (layer 0: 1,2,3,4), a warm-up pass or a stuck logger"
    run mz-import -m $M --max-run 65 -q -t w.jsonl
    assert_success
    assert_line "@EOF	71"
    run mz-import -m $M --max-run 0 -q -t w.jsonl
    assert_success
    assert_line "@EOF	71"
    run mz-import -m $M -d warmup -t w.jsonl
    assert_success
    assert_line "0	0	0	14,2,3,4"
    assert_line "@EOF	7"
}

@test "mz-import: sequences per step and splitting long sequences" {
    mz-import -m $M -d warmup -q -b 8 -o b8.mzt "$REAL"
    run mz-view -H b8.mzt
    assert_line "@TR	steps:13	seqs:8	seq_len:91	layers:0	weights:0"
    mz-import -m $M -d warmup -q -L 32 -o l32.mzt "$REAL"
    run mz-view -H l32.mzt
    assert_line --regexp '^@TR	steps:4	seqs:32	seq_len:32	layers:0	weights:0$'
    # 91 = 32 + 32 + 27 and 65 = 32 + 32 + 1 tokens: 104 sequences become 108
    assert_line --partial "	seqs_in:106	seqs:108	seq_split:32	"
    run mz-view -c l32.mzt
    assert_output 2434
    # the 91-token sequence becomes 32 + 32 + 27 tokens: no token is cut off
    run sh -c "mz-view -t l32.mzt | awk -F'\t' '!/^@/ { n[\$1 \" \" \$2]++ } END { for (s in n) if (n[s] > m) m = n[s]; print m }'"
    assert_output 32
}

@test "mz-import: -l keeps chosen layers and counts the rows it skips" {
    {
        for t in 0 1 2; do route a $t 0 "1, 2, 3, $((t + 4))"; route a $t 1 "5, 6, 7, $((t + 8))"; route a $t 2 "9, 10, 11, 12"; done
    } > three.jsonl
    run mz-import -m $M -l 1 -t three.jsonl
    assert_success
    assert_line "@TR	steps:1	seqs:1	seq_len:3	layers:1	weights:0"
    assert_line --partial "layers_from:option	skipped_rows:6	found:none"
    assert_line "0	0	2	5,6,7,10"
    # without -l or a meta line, the first sequence names the layers
    run mz-import -m $M -t three.jsonl
    assert_line "@TR	steps:1	seqs:1	seq_len:3	layers:0-2	weights:0"
    assert_line --partial "layers_from:first sequence"
    assert_line "0	0	1	1,2,3,5	5,6,7,9	9,10,11,12"
    run mz-import -m $M -l 3 three.jsonl
    assert_failure 1
    assert_output --partial "no tokens left"
}

@test "mz-import: TSV and CSV logs, with header lines and comments" {
    printf '# my logger\nseq\ttoken\tlayer\te0\te1\te2\te3\nx\t0\t0\t1\t2\t3\t4\nx\t1\t0\t5\t6\t7\t8\ny\t0\t0\t9\t10\t11\t12\n' > a.tsv
    run mz-import -m $M -t a.tsv
    assert_success
    assert_line "0	0	1	5,6,7,8"
    assert_line "0	1	0	9,10,11,12"
    assert_line --partial "format:tsv"
    printf 'x, 0, 0, 1, 2, 3, 4\nx, 1, 0, 5, 6, 7, 8\n' > a.csv
    run mz-import -m $M -t a.csv
    assert_success
    assert_line "0	0	1	5,6,7,8"
    assert_line --partial "format:csv"
}

@test "mz-import: a TSV row with a missing column, or too few fields, gives file and line" {
    printf 'x\t0\t0\t1\t2\t3\t4\nx\t1\t0\t5\t6\t7\nx\t2\t0\t9\t10\t11\t12\n' > m.tsv
    run mz-import -m $M -o out.mzt m.tsv
    assert_failure 1
    assert_line "mz-import: m.tsv: line 2: count: 3 expert ids, expected 4 (top-k of qwen1.5-moe-a2.7b)"
    [ ! -e out.mzt ]
    printf 'x\t0\t0\t1\t2\t3\t4\nx\t1\t0\nx\t2\t0\t9\t10\t11\t12\n' > f.tsv
    run mz-import -m $M f.tsv
    assert_failure 1
    assert_output "mz-import: f.tsv: line 2: 3 fields, expected sequence, token, layer and the expert ids (at least 4, tab-separated)"
    printf 'x\t0\t0\t1\t2\t3\t4\nx\t1\t0\t5\tsix\t7\t8\n' > n.tsv
    run mz-import -m $M n.tsv
    assert_failure 1
    assert_output "mz-import: n.tsv: line 2: expert id 2: 'six' is not an integer"
}

@test "mz-import: a generated trace survives TSV and JSONL logs, token by token or layer by layer" {
    mz-trace -m olmoe-1b-7b-0924 -n 2 -b 3 -L 7 -l 0-3 -s 5 --weights -t -o t.txt
    grep -v '^@' t.txt > want
    cut -d, -f1-8 want | sed 's/:[^,	]*//g' > want-ids
    # TSV, token by token
    awk -F'\t' '{ for (l = 4; l <= NF; l++) { x = $l; gsub(/:[^,]*/, "", x); gsub(",", "\t", x);
                   printf "s%02d%02d\t%d\t%d\t%s\n", $1, $2, $3, l - 4, x } }' want > t.tsv
    mz-import -m olmoe-1b-7b-0924 -b 3 -q -o a.mzt t.tsv
    diff <(records a.mzt) <(sed 's/:[^,	]*//g' want)
    # JSONL with weights, layer by layer within each sequence
    awk -F'\t' '{ for (l = 4; l <= NF; l++) { n = split($l, p, ","); ids = ""; ws = "";
                   for (j = 1; j <= n; j++) { split(p[j], q, ":"); ids = ids (j > 1 ? ", " : "") q[1]; ws = ws (j > 1 ? ", " : "") q[2] }
                   printf "%d %d %d\t{\"req_id\": \"s%d.%d\", \"token_idx\": %d, \"layer\": %d, \"topk_ids\": [%s], \"topk_weights\": [%s]}\n",
                          $1 * 10 + $2, l - 4, $3, $1, $2, $3, l - 4, ids, ws } }' want |
        sort -s -k1,1n -k2,2n -k3,3n | cut -f2 > lm.jsonl
    mz-import -m olmoe-1b-7b-0924 -b 3 --weights -q -o b.mzt lm.jsonl
    diff <(records b.mzt) want
}

@test "mz-import: writing to /dev/full exits 1" {
    small_log > s.jsonl
    run mz-import -m $M -q -o /dev/full s.jsonl
    assert_failure 1
    assert_output --partial "/dev/full"
}

# ---------------------------------------------------------------- issue 15: other schemas, packed logs, count sets

MIXTRAL="$TOP/traces/mixtral-style.routes.jsonl"
MAP="ids=experts,weights=gating_probs,req=dataset+problem_id"

@test "mz-import --fields: a Mixtral-style log (experts, gating_probs, no req_id) through the field mapping" {
    run -1 mz-import -m mixtral-8x7b "$MIXTRAL"
    assert_output --partial "line 1: missing field 'req_id' (a log with other key names: --fields)"
    run -0 --separate-stderr mz-import -m mixtral-8x7b --fields "$MAP" --weights -t "$MIXTRAL"
    assert_line --regexp $'^@IM\t.*\ttokens:60\tseqs_in:3\tseqs:3\t.*\tfields:ids=experts,weights=gating_probs,req=dataset\+problem_id\t'
    assert_line --regexp $'^@TR\tsteps:1\tseqs:3\tseq_len:20\tlayers:0-31\tweights:1$'
    [ "$(echo "$output" | grep -vc '^@')" -eq 60 ]
    # the ids and weights are those of the log: token 0 of problem 0, layer 0
    assert_line --regexp "^0	0	0	5:0.5934088,3:0.022124456	"
    # no sequence id at all: sequences start where token_idx restarts
    run -0 --separate-stderr mz-import -m mixtral-8x7b --fields ids=experts,req=- -t "$MIXTRAL"
    assert_line --regexp $'^@IM\t.*\tseqs_in:3\tseqs:3\t'
    # bad mappings are usage errors naming the field
    run -1 mz-import -m mixtral-8x7b --fields ids "$MIXTRAL"
    assert_output --partial "--fields: 'ids' is not FIELD=KEY"
    run -1 mz-import -m mixtral-8x7b --fields experts=ids "$MIXTRAL"
    assert_output --partial "--fields: unknown field 'experts'"
    run -1 mz-import -m mixtral-8x7b --fields ids=experts,layer=- "$MIXTRAL"
    assert_output --partial "--fields: layer cannot be absent"
    run -1 mz-import -m mixtral-8x7b --fields ids=expert_ids,req=- "$MIXTRAL"
    assert_output --partial "line 1: missing field 'expert_ids'"
}

@test "mz-import: a packed log (one req_id, sequences longer than --packed-len) is reported; the Qwen1.5 log is not" {
    awk 'BEGIN { for (b = 0; b < 3; b++) for (t = 0; t < (b ? 8 : 700); t++)
        printf "{\"type\": \"route\", \"req_id\": \"r1\", \"token_idx\": %d, \"layer\": 0, \"topk_ids\": [%d, %d, %d, %d]}\n", t, t % 60, (t + 1) % 60, (t + 2) % 60, (t + 3) % 60 }' > packed.jsonl
    run -0 --separate-stderr mz-import -m qwen1.5-moe-a2.7b -t packed.jsonl
    [[ "$stderr" == *"packed.jsonl: packed batches? every route row has sequence id 'r1' and the longest sequence (cut where token_idx restarts at 0) has 700 tokens, more than --packed-len 512"* ]]
    assert_line --regexp $'^@IM\t.*\tpacked:700\t'
    run -0 --separate-stderr mz-import -m qwen1.5-moe-a2.7b --packed-len 0 -t packed.jsonl
    [[ "$stderr" != *"packed batches"* ]]
    refute_line --regexp $'^@IM\t.*packed:'
    run -0 --separate-stderr mz-import -m qwen1.5-moe-a2.7b -d warmup -t "$REAL"
    [[ "$stderr" != *"packed batches"* ]]
    # a log with a req_id per request is never packed
    sed 's/"r1", "token_idx": \([0-9]*\)/"r\1", "token_idx": 0/' packed.jsonl > many.jsonl
    run -0 --separate-stderr mz-import -m qwen1.5-moe-a2.7b --max-run 0 -t many.jsonl
    [[ "$stderr" != *"packed batches"* ]]
}

@test "mz-import: the DeepSeek-V3 expert-load JSON (MoE layers 0-57) becomes a loads table of blocks 3-60" {
    run -0 --separate-stderr mz-import -m deepseek-v3 -o ds.tsv "$TOP/traces/deepseek-v3.expert-load.json.gz"
    [[ "$stderr" == *"a count set, layer-json format, 58 rows read as MoE layers in order (row 0: the first MoE block), 58 MoE layers with counts; 58 layers x 256 experts, 2582784 to 2582784 selections per layer"* ]]
    [ "$(sed -n 2p ds.tsv)" = $'layer\texpert\tcount' ]
    [ "$(sed -n 3p ds.tsv)" = $'3\t0\t11137' ]
    [ "$(tail -1 ds.tsv | cut -f1,2)" = $'60\t255' ]
    [ "$(grep -vc '^#\|^layer' ds.tsv)" -eq $((58 * 256)) ]
    # every layer sums to 322,848 tokens x top-8
    run -0 awk -F'\t' 'NR > 2 { s[$1] += $3 } END { for (l in s) if (s[l] != 2582784) bad++; print bad + 0 }' ds.tsv
    assert_output 0
    # the same rows read as blocks are refused: blocks 0-2 are dense
    run -1 mz-import -m deepseek-v3 --layer-index block -o x.tsv "$TOP/traces/deepseek-v3.expert-load.json.gz"
    assert_output --partial "row 0 is a dense block of deepseek-v3, not an MoE layer"
    [ ! -e x.tsv ]
}

@test "mz-import: SGLang count matrices (counts or logical_count, a row per block) and EPLB tables" {
    # a row per block of deepseek-moe-16b-base (28 blocks, block 0 dense and zero)
    awk 'BEGIN { printf "{\"num_layers\": 28, \"num_experts\": 64, \"counts\": ["
        for (l = 0; l < 28; l++) { printf "%s[", l ? ", " : ""; for (e = 0; e < 64; e++) printf "%s%d", e ? ", " : "", l ? (e + l) % 7 + 1 : 0; printf "]" }
        printf "]}\n" }' > sg.json
    run -0 --separate-stderr mz-import -m deepseek-moe-16b-base -o sg.tsv sg.json
    [[ "$stderr" == *"sglang format, 28 rows read as block numbers, 27 MoE layers with counts, 1 empty row dropped"* ]]
    [ "$(sed -n 3p sg.tsv)" = $'1\t0\t2' ]
    # SGLang's own key, with snapshots summed: the same counts twice over
    sed 's/"counts": \[/"logical_count": [[/; s/]}$/], [[1]]]}/' sg.json > bad.json
    run -1 mz-import -m deepseek-moe-16b-base -o x.tsv bad.json
    assert_output --partial "snapshot 1 does not have 28 rows"
    awk 'BEGIN { printf "{\"logical_count\": [" } { } END { }' /dev/null
    rows=$(sed 's/^{"num_layers": 28, "num_experts": 64, "counts": \(.*\)}$/\1/' sg.json)
    echo "{\"logical_count\": [$rows, $rows]}" > lc.json
    run -0 mz-import -m deepseek-moe-16b-base -q -o lc.tsv lc.json
    [ "$(sed -n 3p lc.tsv)" = $'1\t0\t4' ]
    # the header must agree with the rows and the model
    sed 's/"num_experts": 64/"num_experts": 60/' sg.json > bad.json
    run -1 mz-import -m deepseek-moe-16b-base bad.json
    assert_output --partial "num_experts is not the model's 64 experts"
    sed 's/"num_layers": 28/"num_layers": 27/' sg.json > bad.json
    run -1 mz-import -m deepseek-moe-16b-base bad.json
    assert_output --partial "num_layers says another count, 'counts' has 28 rows"
    # EPLB: rows with a header, rows without one, and a weight matrix (with -f eplb)
    printf 'layer,expert,count\n3,0,5\n3,1,7\n4,2,1\n' > eplb.csv
    run -0 mz-import -m deepseek-moe-16b-base -q -o e.tsv eplb.csv
    [ "$(grep -vc '^#\|^layer' e.tsv)" -eq 128 ]
    printf '0 0 5\n0 1 7\n' > eplb.txt
    run -0 --separate-stderr mz-import -m deepseek-moe-16b-base -o e2.tsv eplb.txt
    [[ "$stderr" == *"eplb format, 1 rows read as MoE layers in order"* ]]
    [ "$(sed -n 3p e2.tsv)" = $'1\t0\t5' ]
    awk 'BEGIN { for (l = 0; l < 27; l++) { for (e = 0; e < 64; e++) printf "%s%d", e ? " " : "", e + 1; printf "\n" } }' > w.txt
    run -0 --separate-stderr mz-import -m deepseek-moe-16b-base -f eplb -o w.tsv w.txt
    [[ "$stderr" == *"27 rows read as MoE layers in order"* ]]
    [ "$(tail -1 w.tsv)" = $'27\t63\t64' ]
    printf '0 0 5 9\n' > bad.txt
    run -1 mz-import -m deepseek-moe-16b-base -f eplb bad.txt
    assert_output --partial "line 1: 4 fields: neither 'layer expert count' nor a row of the model's 64 expert counts"
    printf '0 70 5\n' > bad.txt
    run -1 mz-import -m deepseek-moe-16b-base bad.txt
    assert_output --partial "bad.txt: line 1: expert"
}
