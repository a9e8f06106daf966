#!/usr/bin/env bats
# mz-sweep.bats: tests of mz-sweep, design-space sweeps through a generated makefile (small OLMoE traces: -b 4 -L 16 -n 1).
load helper
bats_require_minimum_version 1.5.0

USAGE="Usage: mz-sweep -k DIR [-j JOBS] [-L SEQ_LEN] [-b SEQS] [-n STEPS] [-s SEED] [--strict] [--objectives COL,...] [--best COL [--where COL<=VALUE]... [--top N]] [--slurm | --parallel SSHLOGINFILE] FILE"
TINY="-b 4 -L 16 -n 1"

# Column $1 (a header name) of every row of the table in file $2 (after its '#' lines).
col() { awk -F'\t' -v c="$1" '/^#/ {next} !h {for (i = 1; i <= NF; i++) if ($i == c) k = i; h = 1; next} {print $k}' "$2"; }

# A design space of 2 x 2 points on OLMoE's design: two bandwidths, two placements.
small_space() {
    cat > "${1:-s.space}" <<'EOF'
# two bandwidths x two placements
model olmoe-1b-7b-0924
set memory.bandwidth_GBps 128 512   # GB/s per stack
placement contiguous mozart
EOF
}

@test "mz-sweep: bad options exit 2 with the usage on stderr, nothing on stdout and nothing run" {
    small_space
    while IFS='|' read -r args msg; do
        run -2 --separate-stderr mz-sweep $args
        [ -z "$output" ] || { echo "stdout for '$args': $output"; return 1; }
        [[ "$stderr" == *"mz-sweep: $msg"* ]] || { echo "'$args': $stderr"; return 1; }
        [[ "$stderr" == *"$USAGE"* ]]
        [[ "$stderr" == *"Try 'mz-sweep --help' for more information."* ]]
    done <<'EOF'
-k w|no design-space file given
s.space|no work directory given (-k)
-k w s.space extra|unexpected argument 'extra'
-k|option '-k' needs a value
-k w -j 0 s.space|--jobs: '0' is not a positive integer
-k w -j x s.space|--jobs: 'x' is not a positive integer
-k w -n 1.5 s.space|--steps: '1.5' is not a positive integer
-k w -b 2 s.space|--seqs: 2 sequences cannot fill 4 micro-batches
-k w --top=-1 s.space|--top: '-1' is not a positive integer
-k w --where area_mm2<=1 s.space|--where needs --best
-k w --best latency_s --where area_mm2 s.space|--where: 'area_mm2' is not COLUMN OP VALUE
-k w --best latency_s --where <=3 s.space|--where: '<=3' is not COLUMN OP VALUE
-k w --best 1x s.space|--best: '1x' is not a column name
-k w --objectives latency_s,,area_mm2 s.space|--objectives: 'latency_s,,area_mm2' is not a comma-separated list
-k w --slurm --parallel hosts s.space|--parallel and --slurm are two ways to run: give one
EOF
    [ ! -e w ]
}

@test "mz-sweep: a bad design-space line is an error naming the file, the line and the field; nothing runs" {
    while IFS='|' read -r text msg; do
        printf '%b' "$text" > bad.space
        run -1 --separate-stderr mz-sweep -k w $TINY bad.space
        [ -z "$output" ] || { echo "stdout for '$text': $output"; return 1; }
        [[ "$stderr" == *"mz-sweep: bad.space:$msg"* ]] || { echo "'$text': $stderr"; return 1; }
        [ ! -e w/points ] && [ ! -e w/trace ]
    done <<'EOF'
model olmoe-1b-7b-0924\nseq_len 16 x\n|2: seq_len: 'x' is not a positive integer
model olmoe-1b-7b-0924\nseq_len 0\n|2: seq_len: '0' is not a positive integer
# c\n\nmodel olmoe-1b-7b-0924\nbogus 1\n|4: unknown parameter 'bogus'
model olmoe-1b-7b-0924\nmemory hbm2 dram\n|2: memory: 'dram' is not hbm2 or ssd
model olmoe-1b-7b-0924\nplacement mozart magic\n|2: placement: 'magic' is not one of
model olmoe-1b-7b-0924\nmodel qwen3-30b-a3b\n|2: model: given twice (first on line 1)
model olmoe-1b-7b-0924\nchiplets 16 16\n|2: chiplets: '16' given twice
model olmoe-1b-7b-0924\nchiplets,groups 16,4 32\n|2: chiplets,groups: '32' has 1 value for 2 parameters
model olmoe-1b-7b-0924\nseqs 2\n|2: seqs: 2 sequences cannot fill 4 micro-batches
model olmoe-1b-7b-0924\nset memory.bandwidth_GBps\n|2: set: needs a KEY and at least one value
model olmoe-1b-7b-0924\nset bandwidth 1\n|2: set: 'bandwidth' is not a wafer field (SECTION.KEY)
model olmoe-1b-7b-0924\nset memory.bandwidth_GBps 1;rm\n|2: memory.bandwidth_GBps: '1;rm' has a character other than
model olmoe 1b\nmemory\n|2: memory: no values
model olmoe-1b-7b-0924\nshared_on root nowhere\n|2: shared_on: 'nowhere' is not auto, root or spread
model olmoe-1b-7b-0924\noptimizer adamw\n|2: optimizer: 'adamw' is not sgd or adam
model olmoe-1b-7b-0924\norder layer,mb\n|2: order: 'layer,mb' has 2 values for 1 parameters
model olmoe-1b-7b-0924\norder MB\n|2: order: 'MB' is not auto, layer or mb
seq_len 16\n| no model line
EOF
    run -1 mz-sweep -k w /nonexistent/x.space
    assert_output --partial "mz-sweep: /nonexistent/x.space: cannot read the design-space file"
}

@test "mz-sweep: every point's rows are mz-speedup's for the same options, in grid order, with every parameter" {
    small_space
    run -0 --separate-stderr mz-sweep -k w $TINY -j 2 s.space
    echo "$output" > t.tsv
    [[ "$stderr" == *"mz-sweep: 4 points: 4 done (4 now, 0 before), 0 failed"* ]]
    run -0 sed -n 2p t.tsv
    assert_output "$(printf 'model\tseq_len\tseqs\tsteps\tseed\tmemory\tchiplets\tgroups\tplacement\twafer\tmemory.bandwidth_GBps\tvariant\tlatency_s\tnormalized\tspeedup\tct\tarea_mm2\tenergy_J\tpower_W\tpareto')"
    [ "$(grep -vc '^#' t.tsv)" -eq 17 ]
    # the first line varies slowest: bandwidth, then placement, then the variants
    [ "$(col memory.bandwidth_GBps t.tsv | uniq | paste -sd' ')" = "128 512" ]
    [ "$(col placement t.tsv | uniq | paste -sd' ')" = "contiguous mozart contiguous mozart" ]
    for bw in 128 512; do for a in contiguous mozart; do
        mz-speedup -m olmoe-1b-7b-0924 $TINY -a $a -S memory.bandwidth_GBps=$bw 2> /dev/null | sed 1,2d | cut -f2-6 > want
        awk -F'\t' -v bw=$bw -v a=$a '$11 == bw && $9 == a' t.tsv | cut -f12-16 > got
        diff want got
    done; done
    # the area and energy columns are mz-cost's mean row
    mz-speedup -m olmoe-1b-7b-0924 $TINY -a mozart -S memory.bandwidth_GBps=512 -k keep > /dev/null 2>&1
    area=$(awk -F'\t' '/^#/ {next} !h {for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next} $1 == "mean" {print $c["area_mm2"], $c["energy_J"]}' keep/C.cost)
    [ "$(awk -F'\t' '$11 == 512 && $9 == "mozart" && $12 == "Mozart-C" {print $17, $18}' t.tsv)" = "$area" ]
}

@test "mz-sweep: work is shared (one trace per model and sequence, one placement per algorithm, Baseline/A/B costed once)" {
    printf 'model olmoe-1b-7b-0924\nmemory hbm2 ssd\nplacement contiguous mozart round-robin\n' > s.space
    run -0 mz-sweep -k w $TINY s.space
    [ "$(ls w/points | wc -l)" -eq 6 ]
    [ "$(ls w/trace | wc -l)" -eq 1 ]
    # contiguous, mozart, round-robin: each a placed trace and its report
    [ "$(ls w/place/*.mzt | wc -l)" -eq 3 ]
    [ "$(ls w/place/*.tsv | wc -l)" -eq 3 ]
    # per memory: Baseline, A, B once, and C per placement
    [ "$(ls w/cost | wc -l)" -eq $((2 * (3 + 3))) ]
    # no temporary file is left behind
    [ -z "$(find w -name '*.tmp.*')" ]
}

@test "mz-sweep: shared_on, optimizer and order are swept as mz-speedup's options: columns of their own, one trace and placement for all" {
    printf 'model olmoe-1b-7b-0924\nshared_on root spread\noptimizer sgd adam\norder layer mb\n' > s.space
    run -0 --separate-stderr mz-sweep -k w $TINY -j 2 s.space
    echo "$output" > t.tsv
    [[ "$stderr" == *"8 points: 8 done (8 now, 0 before), 0 failed"* ]]
    run -0 sed -n 2p t.tsv
    assert_output "$(printf 'model\tseq_len\tseqs\tsteps\tseed\tmemory\tchiplets\tgroups\tplacement\twafer\tshared_on\toptimizer\torder\tvariant\tlatency_s\tnormalized\tspeedup\tct\tarea_mm2\tenergy_J\tpower_W\tpareto')"
    [ "$(grep -vc '^#' t.tsv)" -eq 33 ]
    for s in root spread; do for o in sgd adam; do for r in layer mb; do
        mz-speedup -m olmoe-1b-7b-0924 $TINY --shared-on $s --optimizer $o --order $r 2> /dev/null | sed 1,2d | cut -f2-6 > want
        awk -F'\t' -v s=$s -v o=$o -v r=$r '$11 == s && $12 == o && $13 == r' t.tsv | cut -f14-18 > got
        [ "$(wc -l < got)" -eq 4 ]
        diff want got
    done; done; done
    # the options change the step (else this test proves nothing)
    [ "$(col latency_s t.tsv | sort -u | wc -l)" -ge 16 ]
    [ "$(ls w/trace | wc -l)" -eq 1 ]
    [ "$(ls w/place/*.mzt | wc -l)" -eq 2 ]
    # a space without these lines has none of their columns
    small_space
    run -0 mz-sweep -k w $TINY s.space
    refute_output --partial shared_on
    refute_output --partial optimizer
}

@test "mz-sweep: explicit lists (chiplets,groups) are zipped, not multiplied, and set the wafer's topology" {
    printf 'model olmoe-1b-7b-0924\nchiplets,groups 16,4 32,8 16,8\n' > s.space
    run -0 --separate-stderr mz-sweep -k w $TINY s.space
    echo "$output" > t.tsv
    [ "$(paste <(col chiplets t.tsv) <(col groups t.tsv) | uniq | paste -sd,)" = "$(printf '16\t4,32\t8,16\t8')" ]
    mz-speedup -m olmoe-1b-7b-0924 $TINY -c 32 -g 8 2> /dev/null | sed 1,2d | cut -f2-6 > want
    awk -F'\t' '$7 == 32' t.tsv | cut -f11-15 > got
    diff want got
}

@test "mz-sweep: a rerun runs nothing and prints the same table; a new value runs only the new points" {
    small_space
    mz-sweep -k w $TINY s.space > t1.tsv 2> /dev/null
    touch marker
    run -0 --separate-stderr mz-sweep -k w $TINY s.space
    [ "$output" = "$(cat t1.tsv)" ]
    [[ "$stderr" == *"4 points: 4 done (0 now, 4 before), 0 failed"* ]]
    [ -z "$(find w/points w/cost w/place w/trace -type f -newer marker)" ]
    sed -i 's/128 512/128 512 1024/' s.space
    run -0 --separate-stderr mz-sweep -k w $TINY s.space
    [[ "$stderr" == *"6 points: 6 done (2 now, 4 before), 0 failed"* ]]
    # the new points share the old trace and placements
    [ "$(ls w/trace | wc -l)" -eq 1 ]
    [ "$(echo "$output" | grep -c '	1024	')" -eq 8 ]
}

@test "mz-sweep: killed midway, a rerun finishes only the missing points and gives the same table" {
    printf 'model olmoe-1b-7b-0924\nseq_len 16 32 48\nset memory.bandwidth_GBps 128 256 512 1024\n' > k.space
    mz-sweep -k full -b 4 -n 1 -j 2 k.space > want.tsv 2> /dev/null
    setsid mz-sweep -k w -b 4 -n 1 -j 1 k.space > /dev/null 2>&1 &
    pid=$!
    for i in $(seq 200); do
        [ "$(ls w/points 2> /dev/null | grep -c '\.tsv$')" -ge 2 ] && break
        sleep 0.05
    done
    kill -TERM -- -"$pid"
    wait "$pid" || true
    sleep 0.3  # jobs already started finish or die
    # a job killed midway leaves its temporary file, not its result
    before=$(ls w/points | grep -c '\.tsv$')
    echo "done before the rerun: $before of 12"
    [ "$before" -ge 2 ] && [ "$before" -lt 12 ]
    run -0 --separate-stderr mz-sweep -k w -b 4 -n 1 -j 2 k.space
    [[ "$stderr" == *"12 points: 12 done ($((12 - before)) now, $before before), 0 failed"* ]]
    [ "$output" = "$(cat want.tsv)" ]
}

@test "mz-sweep: results missing and temporary files left (as a kill leaves them) are remade, nothing else" {
    small_space
    mz-sweep -k w $TINY s.space > want.tsv 2> /dev/null
    rm w/points/*-mozart-*128*.tsv w/cost/*mozart*128-C.tsv
    echo half > w/points/x.tsv.tmp.123
    touch marker
    run -0 --separate-stderr mz-sweep -k w $TINY s.space
    [[ "$stderr" == *"4 points: 4 done (1 now, 3 before), 0 failed"* ]]
    [ "$output" = "$(cat want.tsv)" ]
    [ "$(find w/points w/cost w/place w/trace -type f -newer marker | wc -l)" -eq 2 ]
}

@test "mz-sweep: a failed point is listed with its error, the others are tabulated, exit 1; a rerun fails again" {
    printf 'model olmoe-1b-7b-0924\nset memory.bandwidth_GBps 128 abc 512\n' > s.space
    run -1 --separate-stderr mz-sweep -k w $TINY s.space
    echo "$output" > t.tsv
    [[ "$stderr" == *"mz-sweep: point 2 olmoe-1b-7b-0924-"*"memory.bandwidth_GBps-abc failed: cost/"*"memory.bandwidth_GBps: 'abc' is not a number"* ]]
    [[ "$stderr" == *"3 points: 2 done (2 now, 0 before), 1 failed"* ]]
    head -n 1 t.tsv | grep -q "	points:3	failed:1	"
    [ "$(col memory.bandwidth_GBps t.tsv | uniq | paste -sd' ')" = "128 512" ]
    run -1 --separate-stderr mz-sweep -k w $TINY s.space
    [[ "$stderr" == *"point 2 "*"'abc' is not a number"* ]]
    [[ "$stderr" == *"3 points: 2 done (0 now, 2 before), 1 failed"* ]]
    # an unknown model fails each of its points at the trace
    printf 'model olmoe-1b-7b-0924 no-such-model\n' > m.space
    run -1 --separate-stderr mz-sweep -k w $TINY m.space
    [[ "$stderr" == *"point 2 no-such-model-"*"failed: trace/no-such-model-"*"no-such-model"* ]]
    # --strict: the paper's Qwen3 design does not hold the model
    printf 'model qwen3-30b-a3b\n' > q.space
    run -1 --separate-stderr mz-sweep -k w --strict $TINY q.space
    [[ "$stderr" == *"point 1 qwen3-30b-a3b-"*"-strict failed: cost/"*"does not fit"* ]]
}

@test "mz-sweep: pareto is 1 exactly on the rows no other row dominates (latency_s, area_mm2; and named objectives)" {
    printf 'model olmoe-1b-7b-0924\nchiplets,groups 16,4 32,8 16,8\nset memory.bandwidth_GBps 128 512\n' > s.space
    mz-sweep -k w $TINY s.space > t.tsv 2> /dev/null
    # dominated(r): some row s is <= on both and < on one; checked by brute force
    check() { # objective columns (numbers, '-' maximizes), table
        awk -F'\t' -v obj="$1" '/^#/ {next} !h {for (i = 1; i <= NF; i++) c[$i] = i; h = 1; no = split(obj, O, ","); next}
            {n++; p[n] = $c["pareto"]; for (o = 1; o <= no; o++) {k = O[o]; s = 1; if (k ~ /^-/) {s = -1; k = substr(k, 2)}; x[n, o] = s * $c[k]}}
            END {for (r = 1; r <= n; r++) {d = 0
                    for (s = 1; s <= n; s++) {le = 1; lt = 0; for (o = 1; o <= no; o++) {if (x[s, o] > x[r, o]) le = 0; if (x[s, o] < x[r, o]) lt = 1}; if (s != r && le && lt) d = 1}
                    if (p[r] != 1 - d) {print "row " r ": pareto " p[r] ", dominated " d; bad = 1}}
                 if (n < 24) bad = 1; exit bad}' "$2"
    }
    check latency_s,area_mm2 t.tsv
    [ "$(col pareto t.tsv | grep -c '^1$')" -ge 2 ]
    mz-sweep -k w $TINY --objectives energy_J,-speedup,power_W s.space > t2.tsv 2> /dev/null
    head -n 1 t2.tsv | grep -q "pareto:energy_J,-speedup,power_W$"
    check energy_J,-speedup,power_W t2.tsv
    # the same rows otherwise
    diff <(sed 1d t.tsv | cut -f1-19) <(sed 1d t2.tsv | cut -f1-19)
    run -2 mz-sweep -k w $TINY --objectives latency_s,bogus s.space
    assert_output --partial "mz-sweep: --objectives: no column 'bogus' in the table"
}

@test "mz-sweep: a wafer without the energy model gives no area columns, and pareto on latency alone" {
    grep -v 'include tech-28nm' "$TOP/models/wafer-olmoe-1b-7b-0924.wafer" > plain.wafer
    printf 'model olmoe-1b-7b-0924\nwafer ./plain.wafer default\n' > s.space
    run -0 --separate-stderr mz-sweep -k w $TINY s.space
    echo "$output" > t.tsv
    head -n 1 t.tsv | grep -q "pareto:latency_s,area_mm2$"
    # the plain wafer's rows have NA for the energy model's columns and the flag
    [ "$(awk -F'\t' '$10 == "./plain.wafer" && $16 == "NA" && $17 == "NA" && $19 == "NA"' t.tsv | wc -l)" -eq 4 ]
    [ "$(awk -F'\t' '$10 == "default" && $16 > 0 && $19 != "NA"' t.tsv | wc -l)" -eq 4 ]
    printf 'model olmoe-1b-7b-0924\nwafer ./plain.wafer\n' > p.space
    run -0 --separate-stderr mz-sweep -k w $TINY p.space
    refute_output --partial area_mm2
    assert_line --index 0 --regexp 'pareto:latency_s$'
    [ "$(echo "$output" | col pareto /dev/stdin | grep -c '^1$')" -eq 1 ]
}

@test "mz-sweep --best --where: the best rows under the constraints, as filtering the table says" {
    printf 'model olmoe-1b-7b-0924\nchiplets,groups 16,4 32,8\nset memory.bandwidth_GBps 128 512\n' > s.space
    mz-sweep -k w $TINY s.space > t.tsv 2> /dev/null
    run -0 --separate-stderr mz-sweep -k w $TINY --best latency_s --where 'area_mm2<=16000' --where variant!=Baseline --top 3 s.space
    echo "$output" > best.tsv
    [ "$(head -n 1 best.tsv)" = "$(sed -n 2p t.tsv)" ]
    awk -F'\t' 'NR > 2 && $17 <= 16000 && $12 != "Baseline"' t.tsv | sort -t "$(printf '\t')" -k13,13g -s | head -n 3 > want
    diff want <(sed 1d best.tsv)
    [ "$(wc -l < best.tsv)" -eq 4 ]
    # largest first, and a constraint nothing meets: the header only
    run -0 --separate-stderr mz-sweep -k w $TINY --best -speedup --top 1 s.space
    [ "$(echo "$output" | col speedup /dev/stdin)" = "$(col speedup t.tsv | sort -g | tail -n 1)" ]
    run -0 --separate-stderr mz-sweep -k w $TINY --best latency_s --where 'area_mm2<1' s.space
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    run -2 mz-sweep -k w $TINY --best latency_s --where 'nope<=3' s.space
    assert_output --partial "mz-sweep: --where: no column 'nope' in the table"
    run -2 mz-sweep -k w $TINY --best nope s.space
    assert_output --partial "mz-sweep: --best: no column 'nope' in the table"
}

@test "mz-sweep --slurm: an array index a point; each index makes exactly its point, then a gather runs nothing" {
    small_space
    run -0 --separate-stderr mz-sweep -k w $TINY --slurm s.space
    echo "$output" > job.sh
    [ "$output" = "$(cat w/slurm.sh)" ]
    grep -qx '#SBATCH --array=1-4' job.sh
    [ -z "$(ls w/points)" ]
    # index i is row i of points.list and row i of the grid (points.tsv)
    for i in 1 2 3 4; do
        SLURM_ARRAY_TASK_ID=$i sh job.sh
        [ "$(ls w/points | wc -l)" -eq "$i" ]
        name=$(awk -F'\t' -v i=$i '$1 == i {print $2}' w/points.list)
        [ -f "w/points/$name.tsv" ]
        want=$(sed -n "$((i + 1))p" w/points.tsv)
        [ "$(sed -n 2p "w/points/$name.tsv" | cut -f1-11)" = "$want" ]
    done
    run -1 env SLURM_ARRAY_TASK_ID=5 sh job.sh
    assert_output --partial "mz-sweep: no design point 5 (1-4)"
    run sh job.sh
    [ "$status" -ne 0 ]
    assert_output --partial "not run as a Slurm array task"
    # the gather: the same table as a local run, nothing made
    run -0 --separate-stderr mz-sweep -k w $TINY s.space
    [[ "$stderr" == *"4 points: 4 done (0 now, 4 before), 0 failed"* ]]
    [ "$output" = "$(mz-sweep -k local $TINY s.space 2> /dev/null)" ]
    # the gather command in the script's comment is that command
    grep -q "^#   sbatch --dependency=afterany:JOBID --wrap \"$TOP/bin/mz-sweep -k $BATS_TEST_TMPDIR/w -j [0-9]* -L 16 -b 4 -n 1 -s 1 $BATS_TEST_TMPDIR/s.space > " job.sh
}

@test "mz-sweep --parallel: GNU parallel on local slots gives the table make -j gives, byte for byte" {
    command -v parallel > /dev/null || skip "GNU parallel is not installed"
    printf 'model olmoe-1b-7b-0924\nseq_len 16 32\nplacement contiguous mozart\n' > s.space
    mz-sweep -k make $TINY -j 2 s.space > want.tsv 2> /dev/null
    echo '2/:' > hosts
    run -0 --separate-stderr mz-sweep -k par $TINY --parallel hosts s.space
    [[ "$stderr" == *"4 points: 4 done (4 now, 0 before), 0 failed"* ]]
    [ "$output" = "$(cat want.tsv)" ]
    # one trace per sequence length, made once
    [ "$(ls par/trace | wc -l)" -eq 2 ]
    run -0 --separate-stderr mz-sweep -k par $TINY --parallel hosts s.space
    [[ "$stderr" == *"(0 now, 4 before)"* ]]
    # a failed point is reported as under make
    printf 'model olmoe-1b-7b-0924\nset memory.bandwidth_GBps 128 abc\n' > b.space
    run -1 --separate-stderr mz-sweep -k par $TINY --parallel hosts b.space
    [[ "$stderr" == *"point 2 "*"'abc' is not a number"* ]]
}

@test "mz-sweep --parallel: a missing host file or a missing GNU parallel is an error" {
    small_space
    run -1 mz-sweep -k w $TINY --parallel nohosts s.space
    assert_output --partial "mz-sweep: nohosts: cannot read the --sshloginfile"
    echo ':' > hosts
    run -1 env PATH="$TOP/bin:/usr/bin/nonexistent" /bin/sh "$TOP/bin/mz-sweep" -k w $TINY --parallel hosts s.space
    assert_output --partial "mz-sweep: --parallel: GNU parallel is not installed"
}

@test "mz-sweep: a write error on stdout is an error; a closed pipe is not" {
    small_space
    run -1 --separate-stderr sh -c "mz-sweep -k w $TINY s.space > /dev/full"
    [[ "$stderr" == *"mz-sweep: standard output: write error"* ]]
    run -0 sh -c "mz-sweep -k w $TINY s.space 2> /dev/null | head -n 1"
    assert_output --partial "#mz-sweep"
}

@test "mz-sweep --plot: a figure of two columns with their Pareto front, the front being the table's pareto flag on them" {
    command -v gnuplot > /dev/null || skip "gnuplot is not installed"
    printf 'model olmoe-1b-7b-0924\nchiplets,groups 16,4 32,8 16,8\nset memory.bandwidth_GBps 128 512\n' > s.space
    mz-sweep -k w $TINY s.space > t.tsv 2> /dev/null
    run -0 --separate-stderr mz-sweep --plot area_mm2 latency_s -o fig.png t.tsv
    [ -z "$output" ] && [ -z "$stderr" ]
    [ "$(head -c 4 fig.png | od -An -c | tr -d ' ')" = '211PNG' ]
    # the front's labels in the SVG are the rows the table flags (objectives latency_s,area_mm2)
    run -0 mz-sweep --plot area_mm2 latency_s -o fig.svg --label chiplets,groups,memory.bandwidth_GBps,variant t.tsv
    grep -q '<svg' fig.svg
    awk -F'\t' '/^#/ {next} !h {h = 1; next} $NF == 1 {print $7, $8, $11, $12}' t.tsv | sort > want
    [ "$(wc -l < want)" -ge 2 ]
    grep -o '<tspan[^>]*>[^<]*</tspan>' fig.svg | sed 's/<[^>]*>//g' | grep -E '^[0-9]+ [0-9]+ [0-9]+ (Baseline|Mozart-[ABC])$' | sort > got
    diff want got
    # maximizing one: the front of speedup (largest) against area is another
    run -0 mz-sweep --plot area_mm2 -speedup -o fig2.svg --label chiplets,groups,memory.bandwidth_GBps,variant t.tsv
    mz-sweep -k w $TINY --objectives area_mm2,-speedup s.space 2> /dev/null |
        awk -F'\t' '/^#/ {next} !h {h = 1; next} $NF == 1 {print $7, $8, $11, $12}' | sort > want2
    grep -o '<tspan[^>]*>[^<]*</tspan>' fig2.svg | sed 's/<[^>]*>//g' | grep -E '^[0-9]+ [0-9]+ [0-9]+ (Baseline|Mozart-[ABC])$' | sort > got2
    diff want2 got2
}

@test "mz-sweep --plot: an unknown column, an empty table, a missing gnuplot, a bad figure name are errors; no figure is left" {
    printf '#mz-sweep\tspace:s\nlatency_s\tarea_mm2\tvariant\tpareto\n' > empty.tsv
    printf 'latency_s\tarea_mm2\tvariant\n1\t2\tBaseline\n0.5\t3\tMozart-A\n' > t.tsv
    run -2 --separate-stderr mz-sweep --plot area_mm2 bogus -o f.png t.tsv
    [[ "$stderr" == *"mz-sweep: --plot: no column 'bogus' in t.tsv"* ]]
    run -2 --separate-stderr mz-sweep --plot area_mm2 latency_s -o f.png --label nope t.tsv
    [[ "$stderr" == *"mz-sweep: --label: no column 'nope' in t.tsv"* ]]
    run -1 --separate-stderr mz-sweep --plot area_mm2 latency_s -o f.png empty.tsv
    [[ "$stderr" == *"mz-sweep: empty.tsv: no rows to plot"* ]]
    : > none.tsv
    run -1 --separate-stderr mz-sweep --plot area_mm2 latency_s -o f.png none.tsv
    [[ "$stderr" == *"mz-sweep: none.tsv: no rows to plot"* ]]
    printf 'latency_s\tarea_mm2\nNA\tNA\n' > na.tsv
    run -1 --separate-stderr mz-sweep --plot area_mm2 latency_s -o f.png na.tsv
    [[ "$stderr" == *"mz-sweep: na.tsv: no row has numbers in both area_mm2 and latency_s"* ]]
    run -1 --separate-stderr mz-sweep --plot area_mm2 latency_s -o f.png missing.tsv
    [[ "$stderr" == *"mz-sweep: missing.tsv: cannot read the table"* ]]
    while IFS='|' read -r args msg; do
        run -2 --separate-stderr mz-sweep $args
        [[ "$stderr" == *"mz-sweep: $msg"* ]] || { echo "'$args': $stderr"; return 1; }
    done <<'EOF2'
--plot area_mm2 latency_s t.tsv|--plot: no figure given (-o FIGURE.png or .svg)
--plot area_mm2 latency_s -o f.pdf t.tsv|--output: 'f.pdf' is neither .png nor .svg
--plot area_mm2|option '--plot' needs two column names
--plot area_mm2 latency_s -o f.png|--plot: no table given
--plot 1x latency_s -o f.png t.tsv|--plot: '1x' is not a column name
--plot area_mm2 latency_s -k w -o f.png t.tsv|--plot draws a table: no -k
-k w -o f.png s.space|-o and --label go with --plot
EOF2
    # gnuplot missing: a PATH with everything but gnuplot
    mkdir fake
    # (one ln for all: /bin is /usr/bin on a merged /usr; a second ln adds what /bin alone has)
    ln -s /usr/bin/* fake/
    [ /bin -ef /usr/bin ] || ln -s /bin/* fake/ 2> /dev/null || true
    rm -f fake/gnuplot*
    [ ! -e fake/gnuplot ] && [ -e fake/sh ]
    run -1 --separate-stderr env PATH="$PWD/fake" /bin/sh "$TOP/bin/mz-sweep" --plot area_mm2 latency_s -o f.png t.tsv
    [[ "$stderr" == *"mz-sweep: --plot: gnuplot is not installed (Debian package gnuplot-nox)"* ]]
    [ ! -e f.png ] && [ -z "$(ls | grep 'f\.png')" ]
}
