#!/usr/bin/env bats
# mz-stat.bats: trace statistics against values worked out by hand, the real Qwen1.5 sample, inputs and outputs.
load helper

HEADER="layer	tokens	cv	hottest_expert	hottest_over_uniform	entropy_norm	gini	coact_top1pct_share	coact_top1pct_lift	seq_overlap_experts	xseq_overlap_experts	seq_share_ratio	mi_next_bits	ct_k	ct_dedup	ct_placed"

# A 3-layer model of 4 experts, top-2, and a hand-made trace of it:
# sequence x: {0,1}|{2,3} twice; sequence y: {2,3}|{0,1} then {0,2}|{1,3}.
tiny() {
    mkdir -p tiny
    echo '{"num_hidden_layers": 3, "hidden_size": 8, "num_experts": 4, "num_experts_per_tok": 2,
           "moe_intermediate_size": 8, "num_attention_heads": 1, "vocab_size": 16}' > tiny/config.json
    printf 'x\t0\t0\t0\t1\nx\t0\t1\t2\t3\nx\t1\t0\t0\t1\nx\t1\t1\t2\t3\n' > tiny.tsv
    printf 'y\t0\t0\t2\t3\ny\t0\t1\t0\t1\ny\t1\t0\t0\t2\ny\t1\t1\t1\t3\n' >> tiny.tsv
    mz-import -m tiny/config.json -q -t -o tiny.txt tiny.tsv
}

@test "mz-stat: bad options are usage errors (exit 2)" {
    run mz-stat -c 0 x
    assert_failure 2
    assert_output --partial "--chiplets"
    run mz-stat -c 4 -e 4 x
    assert_failure 2
    assert_output --partial "exclude each other"
    run mz-stat a b
    assert_failure 2
}

@test "mz-stat: a hand-made trace, every column worked out by hand" {
    tiny
    run mz-stat -c 2 tiny.txt
    assert_success
    assert_line --index 0 "#mz-stat	input:tiny.txt	model:tiny	experts:4	topk:2	layers:0-1"
    assert_line --index 1 "#layout:contiguous	chiplets:2	placement:none"
    assert_line --index 2 "$HEADER"
    # layer 0 loads 3,2,2,1: cv sqrt(.5)/2; hottest 0 at 3/8 = 1.5 x uniform; entropy 1.320888/ln 4;
    # gini 6/32; pairs (0,1)=2 of 4, lift 2 / (4*3*2/23); same-sequence overlap (2+1)/2, across 2/4;
    # MI of the 16 (layer 0, layer 1) expert pairs 0.608459 bits; C_T {0,1},{0,1},{2,3},{0,2} on 2 chiplets 5/4
    assert_line --index 3 "0	4	0.3536	0	1.5000	0.9528	0.1875	0.5000	1.9167	1.5000	0.5000	3.0000	0.6085	2	1.2500	NA"
    # layer 1 loads 1,2,2,3: the mirror image; no next layer
    assert_line --index 4 "1	4	0.3536	3	1.5000	0.9528	0.1875	0.5000	1.9167	1.5000	0.5000	3.0000	NA	2	1.2500	NA"
    assert_line --index 5 "all	4	0.3536	-	1.5000	0.9528	0.1875	0.5000	1.9167	1.5000	0.5000	3.0000	0.6085	2	1.2500	NA"
}

@test "mz-stat: load vectors and co-activation pairs" {
    tiny
    run mz-stat --loads loads.tsv --coact coact.tsv -o table.tsv tiny.txt
    assert_success
    assert_output ""
    run cat loads.tsv
    assert_line --index 0 "layer	expert	count	share"
    assert_line --index 1 "0	0	3	0.375000"
    assert_line --index 4 "0	3	1	0.125000"
    assert_line --index 8 "1	3	3	0.375000"
    [ "${#lines[@]}" -eq 9 ]
    run cat coact.tsv
    assert_line --index 0 "layer	i	j	count"
    assert_line --index 1 "0	0	1	2"
    assert_line --index 2 "0	0	2	1"
    assert_line --index 3 "0	0	3	0"
    assert_line --index 6 "0	2	3	1"
    assert_line --index 12 "1	2	3	2"
    [ "${#lines[@]}" -eq 13 ]
    [ -s table.tsv ]
}

@test "mz-stat: C_T under the placement in the header, and experts per chiplet" {
    tiny
    awk '/^@TR/ { print; print "@PT\tchiplets:2\tgroups:1\talgorithm:parity";
                  print "@PL\tlayer:0\tchiplet:0,1,0,1"; print "@PL\tlayer:1\tchiplet:0,1,0,1"; next } 1' tiny.txt > placed.txt
    run mz-stat -c 2 placed.txt
    assert_line --index 1 "#layout:contiguous	chiplets:2	placement:parity"
    # by parity {0,1} and {2,3} span 2 chiplets, {0,2} one: 7/4
    run sh -c "mz-stat -c 2 placed.txt | cut -f 1,15,16"
    assert_line --index 3 "0	1.2500	1.7500"
    # 3 experts per chiplet (0-2 | 3): layer 0 {0,1}, {0,1}, {2,3}, {0,2} span 1, 1, 2, 1 chiplets;
    # layer 1 {2,3}, {2,3}, {0,1}, {1,3} span 2, 2, 1, 2
    run mz-stat -e 3 tiny.txt
    assert_line --index 1 "#layout:contiguous	chiplets:2	experts_per_chiplet:3	placement:none"
    run sh -c "mz-stat -e 3 tiny.txt | cut -f 1,15"
    assert_line --index 3 "0	1.2500"
    assert_line --index 4 "1	1.7500"
    run mz-stat -c 5 tiny.txt
    assert_failure 1
    assert_output "mz-stat: 5 chiplets for 4 experts: some chiplets would be empty"
    # the default 16 chiplets become one per expert for a 4-expert model
    run mz-stat tiny.txt
    assert_line --index 1 "#layout:contiguous	chiplets:4	placement:none"
    assert_line --index 3 --regexp "	2	2.0000	NA$"
}

@test "mz-stat: no MI between layers that are not adjacent" {
    tiny
    printf 'x\t0\t0\t0\t1\nx\t0\t2\t2\t3\nx\t1\t0\t0\t2\nx\t1\t2\t1\t3\n' > gap.tsv
    mz-import -m tiny/config.json -q -o gap.mzt gap.tsv
    run sh -c "mz-stat gap.mzt 2>&1 | cut -f 1,13"
    assert_line --index 3 "0	NA"
    assert_line --index 5 "all	NA"
}

@test "mz-stat: the real Qwen1.5 sample in traces/: C_T 3.64 with 4 experts per chiplet, and its skew" {
    run sh -c "mz-stat -e 4 '$TOP/traces/qwen1.5-layer0.txt' | grep '^0	'"
    assert_success
    IFS=$'\t' read -r -a f <<<"$output"
    [ "${f[1]}" = 2434 ]
    awk -v c="${f[14]}" 'BEGIN { exit !(c > 3.635 && c < 3.645) }'
    [ "${f[13]}" = 4 ]
    # real layer-0 routing is far from uniform, and tokens of one prompt share experts
    awk -v cv="${f[2]}" -v r="${f[11]}" 'BEGIN { exit !(cv > 0.1 && r > 1.2) }'
}

@test "mz-stat agrees with mz-view on the hottest expert of every layer" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 64 -s 3 -o t.mzt
    diff <(mz-view t.mzt | awk -F'\t' '/^#summary/ { s = 1; next } s && $1 != "layer" && $1 != "all" { printf "%s %s %.2f\n", $1, $4, $6 }') \
         <(mz-stat t.mzt | awk -F'\t' '!/^#/ && $1 != "layer" && $1 != "all" { printf "%s %s %.2f\n", $1, $4, $5 }')
}

@test "mz-stat: sequence sharing and layer affinity follow the generator's knobs" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 16 -L 64 -l 0-1 -s 2 --coact 0 --seq-stick 0 --layer-stick 0 -o plain.mzt
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 16 -L 64 -l 0-1 -s 2 --coact 6 --seq-stick 1 --layer-stick 1 -o sticky.mzt
    plain=$(mz-stat plain.mzt | awk -F'\t' '$1 == "0" { print $12, $13, $9 }')
    sticky=$(mz-stat sticky.mzt | awk -F'\t' '$1 == "0" { print $12, $13, $9 }')
    echo "plain $plain sticky $sticky"
    # independent routing: ratio near 1 and MI near its small-sample bias; sticky topics: both well above
    awk -v p="$plain" -v s="$sticky" 'BEGIN { split(p, a, " "); split(s, b, " ");
        exit !(a[1] > 0.9 && a[1] < 1.1 && a[2] < 0.1 && b[1] > 1.3 && b[2] > 2 * a[2] && b[3] > a[3]) }'
}

@test "mz-stat: '-' reads standard input; binary, uncompressed and text traces give the same table" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 32 -l 0-3 -o t.mzt
    mz-view -b -u -o t.u t.mzt
    mz-view -t -o t.txt t.mzt
    mz-stat t.mzt | grep -v '^#mz-stat' > a
    mz-stat - < t.u | grep -v '^#mz-stat' > b
    mz-stat < t.txt | grep -v '^#mz-stat' > c
    diff a b
    diff a c
    [ "$(wc -l < a)" -eq 7 ]
}

@test "mz-stat: a truncated trace is an error (exit 1) and writes nothing" {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 32 -u -o t.u
    head -c 3000 t.u > cut.u
    run mz-stat -o out.tsv cut.u
    assert_failure 1
    assert_output --partial "truncated"
    [ ! -e out.tsv ]
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 32 -t -o t.txt
    head -n 50 t.txt > cut.txt
    run mz-stat cut.txt
    assert_failure 1
    assert_output --partial "cut.txt"
}

@test "mz-stat: a route log is not a trace" {
    echo '{"type": "meta"}' > log.jsonl
    run mz-stat log.jsonl
    assert_failure 1
    assert_output --partial "not an mz stream"
}

@test "mz-stat: writing to /dev/full exits 1" {
    tiny
    run mz-stat -o /dev/full tiny.txt
    assert_failure 1
    assert_output --partial "/dev/full"
    run mz-stat --coact /dev/full -o table.tsv tiny.txt
    assert_failure 1
}

@test "outputs by name: /dev/stdout is the standard output itself, a symlink is written through and kept" {
    mz-trace -m olmoe-1b-7b-0924 -b 2 -L 8 -o t.mzt
    mz-stat -o table.tsv --loads loads.tsv t.mzt
    # both tables on one redirected stdout, in full; the link /dev/stdout untouched
    mz-stat --loads /dev/stdout t.mzt > both.txt
    [ -L /dev/stdout ]
    [ "$(cat both.txt)" = "$(cat table.tsv loads.tsv)" ] || [ "$(cat both.txt)" = "$(cat loads.tsv table.tsv)" ]
    # a symlink to a file: the file it names gets the table, the link stays a link
    echo old > real.tsv
    ln -s real.tsv link.tsv
    mz-stat -o link.tsv t.mzt
    [ -L link.tsv ]
    cmp real.tsv table.tsv
    # a dangling link: the file it names is made
    ln -s made.tsv dangling.tsv
    mz-stat -o dangling.tsv t.mzt
    [ -L dangling.tsv ]
    cmp made.tsv table.tsv
    [ -z "$(ls | grep tmp)" ]
}
