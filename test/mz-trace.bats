#!/usr/bin/env bats
# mz-trace.bats: tests of mz-trace, the synthetic routing trace generator.
load helper
bats_require_minimum_version 1.5.0

USAGE="Usage: mz-trace -m MODEL [-n STEPS] [-b SEQS] [-L SEQ_LEN] [-s SEED] [options]"

# Records of a text trace, without the header and @EOF lines.
records() {
    grep -v '^@' "$@"
}

@test "a bad option exits 2 with the usage on stderr and nothing on stdout" {
    run -2 --separate-stderr mz-trace -m qwen3-30b-a3b extra-argument
    [[ "$stderr" == *"unexpected argument 'extra-argument'"* ]]
    run -2 --separate-stderr mz-trace -n 2
    [[ "$stderr" == *"no model given (-m)"* ]]
    run -2 --separate-stderr mz-trace -m
    [[ "$stderr" == *"$USAGE"* ]]
    run -2 --separate-stderr mz-trace -m qwen3-30b-a3b -u -t
    [ -z "$output" ]
    [[ "$stderr" == *"mz-trace: -u and -t exclude each other"* ]]
}

@test "bad numbers exit 2 naming the option" {
    for bad in "--steps 0" "--steps x" "--steps 1.5" "-n 2x" "--seqs -1" "--seq-len 1073741825" \
        "--seed 0" "--seed 4294967296" "--seed -1" "--coact 51" "--coact nan" "--seq-stick 1.5" \
        "--layer-stick -0.1" "--skew 101" "--level 0" "--level 10" "--topic-size 0"; do
        run -2 --separate-stderr mz-trace -m mixtral-8x7b $bad
        [ -z "$output" ]
        [[ "$stderr" == *"mz-trace: ${bad%% *}"* ]] || [[ "$stderr" == *"mz-trace: --"* ]]
        [[ "$stderr" == *"$USAGE"* ]]
    done
    run -2 --separate-stderr mz-trace -m mixtral-8x7b --steps ' 5'
    [[ "$stderr" == *"--steps: ' 5' is not an integer"* ]]
    run -2 --separate-stderr mz-trace -m mixtral-8x7b --topic-layout diagonal
    [[ "$stderr" == *"--topic-layout: 'diagonal' is not random, strided or blocked"* ]]
}

@test "an unknown model, a bad layer list or topic size exit 1 with a message" {
    run -1 --separate-stderr mz-trace -m no-such-model
    [ -z "$output" ]
    [ "$stderr" = "mz-trace: no-such-model: unknown model (not in models/, and not a config.json path)" ]
    run -1 --separate-stderr mz-trace -m ./missing/config.json
    [[ "$stderr" == *"./missing/config.json: no such file"* ]]
    run -1 --separate-stderr mz-trace -m mixtral-8x7b -l 32
    [[ "$stderr" == *"--layers: 32 is out of range [0, 31]"* ]]
    run -1 --separate-stderr mz-trace -m deepseek-moe-16b-base -l 0-2
    [[ "$stderr" == *"--layers: layer 0 of deepseek-moe-16b-base is dense, not MoE"* ]]
    run -1 --separate-stderr mz-trace -m mixtral-8x7b --topic-size 9
    [[ "$stderr" == *"--topic-size 9 exceeds the 8 experts"* ]]
}

@test "a config.json path gives the catalogue model's geometry and records" {
    mkdir -p q3
    cp "$TOP/models/qwen3-30b-a3b.json" q3/config.json
    # a path finds no catalogue prior by itself: name the catalogue's
    mz-trace -m q3/config.json -p qwen3-30b-a3b.prior -b 2 -L 8 -t > path.txt
    mz-trace -m qwen3-30b-a3b -b 2 -L 8 -t > cat.txt
    run -0 grep '^@MD' path.txt
    assert_output --partial $'@MD\tname:q3\tlayers:48\tmoe:0-47\texperts:128\tshared:0\ttopk:8'
    [ "$(grep '^@MD' path.txt | sed 's/name:q3/name:qwen3-30b-a3b/')" = "$(grep '^@MD' cat.txt)" ]
    diff <(records path.txt) <(records cat.txt)
    cp "$TOP/models/mixtral-8x7b.json" mine.json
    run -0 mz-trace -m ./mine.json -b 1 -L 1 -t
    assert_line --partial $'@MD\tname:mine\tlayers:32'
}

@test "a config.json without a required field: the error names the field and the file" {
    mkdir -p bad
    grep -v '"num_experts_per_tok"' "$TOP/models/olmoe-1b-7b-0924.json" > bad/config.json
    run -1 --separate-stderr mz-trace -m bad/config.json
    [ -z "$output" ]
    [ "$stderr" = "mz-trace: bad/config.json: missing field 'num_experts_per_tok' or 'experts_per_token' (family olmoe, OlmoeForCausalLM)" ]
    grep -v '"n_routed_experts"' "$TOP/models/deepseek-v3.json" > bad/config.json
    run -1 --separate-stderr mz-trace -m bad/config.json
    [ "$stderr" = "mz-trace: bad/config.json: missing field 'num_experts' or 'n_routed_experts' or 'num_local_experts' (family deepseek_v3, DeepseekV3ForCausalLM): a dense model? mozart-tools models MoE models only" ]
    sed 's/"hidden_size": 2048/"hidden_size": "2048"/' "$TOP/models/olmoe-1b-7b-0924.json" > bad/config.json
    run -1 --separate-stderr mz-trace -m bad/config.json
    [ "$stderr" = "mz-trace: bad/config.json: field 'hidden_size' is not an integer" ]
    echo '{"num_hidden_layers": 2,' > bad/config.json
    run -1 --separate-stderr mz-trace -m bad/config.json
    [[ "$stderr" == "mz-trace: bad/config.json: line "*": invalid JSON: "* ]]
}

@test "the header: @HD, @MD, @TR, @GN and @PG, in that order" {
    run -0 mz-trace -m olmoe-1b-7b-0924 -n 2 -b 3 -L 5 -s 9 -t
    assert_line --index 0 $'@HD\tVN:1.0\tKD:trace'
    assert_line --index 1 $'@MD\tname:olmoe-1b-7b-0924\tlayers:16\tmoe:0-15\texperts:64\tshared:0\ttopk:8\thidden:2048\tffn:1024\tshared_ffn:0\tdense_ffn:0\theads:16\tkv_heads:16\thead_dim:128\tvocab:50304\tgroups:1\ttopk_groups:1\tgated:1'
    assert_line --index 2 $'@TR\tsteps:2\tseqs:3\tseq_len:5\tlayers:0-15\tweights:0'
    # the catalogue's prior file, and its parameters
    assert_line --index 3 --regexp $'^@GN\tprior:olmoe-1b-7b-0924.prior\tseed:9\tcoact:[0-9.]+\ttopic_size:[0-9]+\ttopic_layout:(random|strided|blocked)\ttopic_seed:[0-9]+\tseq_stick:[0-9.]+\tlayer_stick:[0-9.]+\tskew:1$'
    # with what -m and the default prior resolved to (absolute paths)
    assert_line --index 4 --regexp $'^@PG\tID:0\tPN:mz-trace\tVN:0.1.0\tmodel:/[^\t]*/olmoe-1b-7b-0924.json\tprior:/[^\t]*/olmoe-1b-7b-0924.prior\tCL:.*mz-trace -m olmoe-1b-7b-0924 -n 2 -b 3 -L 5 -s 9 -t$'
    assert_line --index 35 $'@EOF\t30'
    [ "${#lines[@]}" -eq 36 ]
}

@test "one record per token, ordered by step, sequence, token; top-k distinct ids in range" {
    mz-trace -m qwen1.5-moe-a2.7b -n 3 -b 4 -L 5 -t > t.txt
    [ "$(records t.txt | wc -l)" -eq 60 ]
    # the n-th record is step n / 20, sequence n / 5 % 4, token n % 5
    run -0 awk -F'\t' '!/^@/ { n = NR - 6
        if ($1 != int(n / 20) || $2 != int(n / 5) % 4 || $3 != n % 5) bad++
        if (NF != 3 + 24) bad++
        for (i = 4; i <= NF; i++) {
            k = split($i, id, ","); if (k != 4) bad++
            delete seen
            for (j = 1; j <= k; j++) { if (id[j] !~ /^[0-9]+$/ || id[j] >= 60 || (id[j] in seen)) bad++; seen[id[j]] }
        } }
        END { print bad + 0 }' t.txt
    assert_output 0
}

@test "same seed: byte-identical output; another seed: another trace" {
    mz-trace -m qwen3-30b-a3b -b 4 -L 32 -s 5 > a.mzt
    mz-trace -m qwen3-30b-a3b -b 4 -L 32 -s 5 > b.mzt
    cmp a.mzt b.mzt
    mz-trace -m qwen3-30b-a3b -b 4 -L 32 -s 5 -t > a.txt
    mz-trace -m qwen3-30b-a3b -b 4 -L 32 -s 5 -t > b.txt
    cmp a.txt b.txt
    mz-trace -m qwen3-30b-a3b -b 4 -L 32 -s 6 -t > c.txt
    if cmp -s <(records a.txt) <(records c.txt); then echo "expected it to fail: cmp -s <(records a.txt) <(records c.txt)"; false; fi
    # the text form and the binary form hold the same records
    diff <(mz-view -t a.mzt | records) <(records a.txt)
}

@test "binary (gzip), uncompressed binary (-u) and text (-t) outputs" {
    mz-trace -m mixtral-8x7b -b 2 -L 4 > gz.mzt
    mz-trace -m mixtral-8x7b -b 2 -L 4 -u > u.mzt
    mz-trace -m mixtral-8x7b -b 2 -L 4 --level 9 > gz9.mzt
    mz-trace -m mixtral-8x7b -b 2 -L 4 -t > t.txt
    [ "$(head -c 2 gz.mzt | od -A n -t x1 | tr -d ' ')" = "1f8b" ]
    [ "$(head -c 4 u.mzt | od -A n -t x1 | tr -d ' ')" = "4d5a5401" ] # "MZ", 'T', major 1
    [ "$(head -c 4 t.txt | od -A n -c | tr -d ' ')" = '@HD\t' ]
    [ "$(gzip -dc gz.mzt | head -c 4 | od -A n -t x1 | tr -d ' ')" = "4d5a5401" ]
    # -u wins over --level, whatever their order
    [ "$(mz-trace -m mixtral-8x7b -b 1 -L 1 -u --level 9 | head -c 2 | od -A n -t x1 | tr -d ' ')" = "4d5a" ]
    # same content apart from the command line in @PG
    for f in gz.mzt u.mzt gz9.mzt; do
        diff <(mz-view -t $f | records) <(records t.txt)
    done
    # uncompressed: header length, header, CRC, 8 records of 12 + 32 * 2 bytes, end marker
    hlen=$(od -A n -t u4 -j 4 -N 4 u.mzt | tr -d ' ')
    [ "$(file_size u.mzt)" -eq $((8 + hlen + 4 + 8 * (4 + 12 + 64 + 4) + 12)) ]
}

@test "-o FILE writes the file whole; nothing is left on error" {
    run -0 mz-trace -m mixtral-8x7b -b 2 -L 4 -o out.mzt
    [ -z "$output" ]
    run -0 mz-view -c out.mzt
    assert_output 8
    mkdir dir
    run -1 mz-trace -m mixtral-8x7b -b 2 -L 4 -o dir
    run -1 mz-trace -m mixtral-8x7b -b 2 -L 4 -o no/such/dir/out.mzt
    [ -z "$(ls | grep '\.tmp\.')" ]
}

@test "writing to /dev/full exits 1 with a message" {
    for opt in "" "-u" "-t" "--weights"; do
        run -1 --separate-stderr sh -c "mz-trace -m qwen3-30b-a3b -b 2 -L 16 $opt > /dev/full"
        [[ "$stderr" == *"No space left on device"* ]]
    done
    run -1 --separate-stderr sh -c 'mz-trace -m qwen3-30b-a3b -b 2 -L 16 > /dev/full'
    [[ "$stderr" == *"mz-trace: standard output: write error: No space left on device"* ]]
    run -1 --separate-stderr sh -c 'mz-trace -m qwen3-30b-a3b -b 2 -L 16 -t > /dev/full'
    [[ "$stderr" == *"No space left on device"* ]]
    run -1 --separate-stderr mz-trace -m mixtral-8x7b -b 1 -L 1 -o /dev/full
    [[ "$stderr" == *"/dev/full: write error: No space left on device"* ]]
    run -1 --separate-stderr sh -c 'mz-trace --help > /dev/full'
    [[ "$stderr" == *"write error on standard output"* ]]
}

@test "binary output to a terminal is refused, and nothing reaches it; text is fine" {
    run -0 on_tty mz-trace -m mixtral-8x7b -b 1 -L 2
    assert_output --partial "mz-trace: refusing to write binary data to a terminal"
    assert_output --partial "rc=1"
    # only the message: no gzip bytes (0x1f 0x8b) before it
    [[ "$output" == "mz-trace: refusing"* ]]
    run -0 on_tty mz-trace -m mixtral-8x7b -b 1 -L 2 -u
    [[ "$output" == "mz-trace: refusing"* ]]
    run -0 on_tty mz-trace -m mixtral-8x7b -b 1 -L 2 -t
    assert_output --partial $'@EOF\t2'
    assert_output --partial "rc=0"
}

@test "--weights records gate weights: probabilities, the same ids as without" {
    mz-trace -m qwen1.5-moe-a2.7b -b 2 -L 16 --weights -t > w.txt
    mz-trace -m qwen1.5-moe-a2.7b -b 2 -L 16 -t > n.txt
    grep -q $'^@TR\t.*\tweights:1$' w.txt
    grep -q $'^@TR\t.*\tweights:0$' n.txt
    # dropping the weights gives the trace without them
    diff <(records w.txt | sed 's/:[^,\t]*//g') <(records n.txt)
    run -0 awk -F'\t' '!/^@/ { for (i = 4; i <= NF; i++) {
            k = split($i, f, ","); s = 0
            for (j = 1; j <= k; j++) { split(f[j], p, ":"); if (p[2] <= 0 || p[2] > 1) bad++; s += p[2] }
            if (s > 1.000001) bad++ } }
        END { print bad + 0 }' w.txt
    assert_output 0
}

@test "--layers traces only the chosen MoE layers" {
    mz-trace -m qwen3-30b-a3b -b 1 -L 4 -l 7,0-3 -t > l.txt
    grep -q $'^@TR\tsteps:1\tseqs:1\tseq_len:4\tlayers:0-3,7\tweights:0$' l.txt
    run -0 sh -c "grep -v '^@' l.txt | awk -F'\t' '{ print NF }' | sort -u"
    assert_output 8
}

@test "dense layers: deepseek-moe-16b-base layer 0 is not in the trace" {
    mz-trace -m deepseek-moe-16b-base -b 1 -L 3 -t > d.txt
    grep -q $'^@MD\tname:deepseek-moe-16b-base\tlayers:28\tmoe:1-27\texperts:64\tshared:2\ttopk:6\thidden:2048\tffn:1408\tshared_ffn:1408\tdense_ffn:10944\t' d.txt
    grep -q $'^@TR\t.*\tlayers:1-27\t' d.txt
    run -0 sh -c "grep -v '^@' d.txt | awk -F'\t' '{ print NF }' | sort -u"
    assert_output 30 # step, sequence, token and 27 layers
    run -0 sh -c "mz-view d.txt | awk -F'\t' '/^[0-9]/ { print \$1 }' | head -1"
    assert_output 1
}

@test "group-limited routing: deepseek-v3 tokens use at most 4 of the 8 groups of 32 experts" {
    mz-trace -m deepseek-v3 -b 4 -L 64 -t > v3.txt
    grep -q $'\tgroups:8\ttopk_groups:4\t' v3.txt
    grep -q $'^@TR\t.*\tlayers:3-60\t' v3.txt
    run -0 awk -F'\t' '!/^@/ { for (i = 4; i <= NF; i++) {
            k = split($i, id, ","); delete g; n = 0
            for (j = 1; j <= k; j++) { q = int(id[j] / 32); if (!(q in g)) { g[q]; n++ } }
            if (n > 4) over++; if (n == 4) four++; total++ } }
        END { print over + 0, (four > total / 2) ? "most-use-4" : "few-use-4", total }' v3.txt
    assert_output "0 most-use-4 14848"
    # mixtral has no groups: its tokens are not limited that way
    run -0 sh -c "mz-trace -m mixtral-8x7b -b 1 -L 1 -t | grep -c 'groups:1.topk_groups:1'"
    assert_output 1
}

@test "generator options are recorded in @GN and change the trace" {
    mz-trace -m olmoe-1b-7b-0924 -b 2 -L 8 -t > base.txt
    mz-trace -m olmoe-1b-7b-0924 -b 2 -L 8 --coact 0.5 --topic-size 4 --topic-layout blocked \
        --seq-stick 0.9 --layer-stick 0 --skew 2 -t > opt.txt
    grep -q $'^@GN\tprior:olmoe-1b-7b-0924.prior\tseed:1\tcoact:0.5\ttopic_size:4\ttopic_layout:blocked\ttopic_seed:[0-9]*\tseq_stick:0.9\tlayer_stick:0\tskew:2$' opt.txt
    if cmp -s <(records base.txt) <(records opt.txt); then echo "expected it to fail: cmp -s <(records base.txt) <(records opt.txt)"; false; fi
    # --skew 0: every expert equally popular; the hottest share stays near uniform
    run -0 sh -c "mz-trace -m olmoe-1b-7b-0924 -n 2 --skew 0 --coact 0 -u | mz-view | awk -F'\t' '\$1 == \"all\" { print (\$6 < 1.5) }'"
    assert_output 1
    # the catalogue prior skews popularity: the hottest expert well above uniform
    run -0 sh -c "mz-trace -m olmoe-1b-7b-0924 -n 2 -u | mz-view | awk -F'\t' '\$1 == \"all\" { print (\$6 > 2.5) }'"
    assert_output 1
}

@test "a prior file is read, checked against the model and named in @GN" {
    {
        printf '# a hand-made prior\nmodel\tmixtral-8x7b\nexperts\t8\ntopk\t2\ntopic_size\t2\ncoact\t0\n'
        for l in $(seq 0 31); do printf 'logit\t%d\t3\t3\t0\t0\t0\t0\t0\t0\n' $l; done
    } > hot.prior
    mz-trace -m mixtral-8x7b -p ./hot.prior -b 4 -L 64 -t > p.txt
    grep -q $'^@GN\tprior:hot.prior\tseed:1\tcoact:0\ttopic_size:2\ttopic_layout:random\ttopic_seed:1\tseq_stick:0\tlayer_stick:0\tskew:1$' p.txt
    # experts 0 and 1 carry exp(3) = 20 times the weight of the others: they are
    # drawn first far more often than the 6 others together
    run -0 awk -F'\t' '!/^@/ { for (i = 4; i <= NF; i++) { split($i, id, ","); if (id[1] < 2) hot++; else cold++ } }
        END { print (hot > 5 * cold) }' p.txt
    assert_output 1
    sed 's/^topk\t2/topk\t3/' hot.prior > bad.prior
    run -1 --separate-stderr mz-trace -m mixtral-8x7b -p ./bad.prior
    [[ "$stderr" == *"bad.prior: prior is for 8 experts top-3, model mixtral-8x7b has 8 experts top-2"* ]]
    grep -v $'^logit\t5\t' hot.prior > bad.prior
    run -1 --separate-stderr mz-trace -m mixtral-8x7b -p ./bad.prior
    [[ "$stderr" == *"bad.prior: no logits for MoE layer 5 of mixtral-8x7b"* ]]
    printf 'experts\t8\nsurprise\t1\n' > bad.prior
    run -1 --separate-stderr mz-trace -m mixtral-8x7b -p ./bad.prior
    [[ "$stderr" == *"bad.prior: line 2: surprise: unknown key"* ]]
    run -1 --separate-stderr mz-trace -m mixtral-8x7b -p no-such.prior
    [[ "$stderr" == *"no-such.prior"* ]]
}

@test "more than 256 experts: u16 ids, lossless through binary" {
    mkdir big
    sed 's/"num_local_experts": 8/"num_local_experts": 300/; s/"num_experts_per_tok": 2/"num_experts_per_tok": 4/' \
        "$TOP/models/mixtral-8x7b.json" > big/config.json
    mz-trace -m big/config.json -b 2 -L 64 -l 0,1 -t > big.txt
    run -0 awk -F'\t' '!/^@/ { for (i = 4; i <= NF; i++) { split($i, id, ","); for (j in id) if (id[j] > m) m = id[j] } }
        END { print (m > 255 && m < 300) }' big.txt
    assert_output 1
    mz-view -b -u big.txt > big.mzt
    mz-view -t big.mzt | cmp - big.txt
    # 128 records of 12 + 2 layers * 4 ids * 2 bytes
    hlen=$(od -A n -t u4 -j 4 -N 4 big.mzt | tr -d ' ')
    [ "$(file_size big.mzt)" -eq $((8 + hlen + 4 + 128 * (4 + 12 + 16 + 4) + 12)) ]
}

@test "a closed pipe ends mz-trace quietly" {
    run -0 --separate-stderr sh -c 'mz-trace -m qwen3-30b-a3b -n 4 -t | head -1'
    assert_output $'@HD\tVN:1.0\tKD:trace'
    [ -z "$stderr" ]
}
