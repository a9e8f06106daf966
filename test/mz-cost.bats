#!/usr/bin/env bats
# mz-cost.bats: tests of mz-cost: hand-worked latencies on test/cost-tiny.mzt and test/tiny.wafer, wafer errors, tables, timeline, fit.
load helper

TINY="$TOP/test/cost-tiny.mzt"
WAFER="$TOP/test/tiny.wafer"

# Column $1 of the mean row of a main TSV.
mean() { awk -F'\t' -v c="$1" '/^#/ {next} !h {for (i = 1; i <= NF; i++) if ($i == c) k = i; h = 1; next} $1 == "mean" {print $k}' "$2"; }

# A placed OLMoE trace and its four schedules (one step, 8 sequences), in the test's directory.
olmoe_schedules() {
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 ${1:-} -u -o t.mzt
    mz-place -a contiguous -u -o c.mzt t.mzt
    mz-place -a mozart -u -o m.mzt t.mzt
    for v in baseline A B; do mz-sched -M 1 -V $v -u -o $v.mzs c.mzt; done
    mz-sched -M 1 -V C -u -o C.mzs m.mzt
}

@test "mz-cost --help prints the usage on stdout" {
    run mz-cost --help
    assert_success
    assert_line --index 0 --partial "Usage: mz-cost -w WAFER"
    assert_output --partial "--timeline-steps"
    assert_output --partial "--fit TARGETS"
}

@test "mz-cost --version" {
    run mz-cost --version
    assert_success
    assert_output "mz-cost (mozart-tools) 0.1.0"
}

@test "mz-cost: bad options are usage errors (exit 2)" {
    mz-sched -M 1 -t -o s.txt "$TINY"
    for args in "--bogus" "s.txt" "-w $WAFER --timeline-steps x s.txt" "-w $WAFER s.txt s.txt" \
        "--fit t.tsv -w $WAFER" "--fit t.tsv s.txt"; do
        run mz-cost $args
        assert_failure 2
        assert_output --partial "Try 'mz-cost --help'"
    done
}

@test "mz-cost: Baseline of the tiny case, worked out by hand: 120.5 s" {
    # forward phases: root_load 160 B / 16 B/s = 10; att 352 FLOP / 32 = 11; att_save 96 / 16 = 6;
    # dispatch 16 B at the root port 8 B/s = 2; loads 48 B each (memory 16 B/s, link 8 B/s): 6 and
    # 3 + 6 = 9; expert 48 FLOP = 1.5; saves 16 B: 2 and 1 + 2 = 3; combine 2. Sum 44.5.
    # backward: root_load 256 B = 16; loads 9; act_loads 3; dispatch 2; expert 3; grad_wb 9;
    # combine 2 (no reduction backward); att 22; att_wb 10. Sum 76.
    mz-sched -V baseline -M 1 -u "$TINY" | mz-cost -w "$WAFER" -o out.tsv
    [ "$(mean latency_s out.tsv)" = 120.500000 ]
    [ "$(mean ct out.tsv)" = 1.0000 ]
    [ "$(mean ops out.tsv)" = 25 ]
}

@test "mz-cost: streaming the tiny case, worked out by hand: 75.5 s" {
    # One slice. Forward: root load 0-10, weights 0-6 and 3-9 meanwhile, attention 10-21, dispatch
    # 21-23, experts 23-24.5, combine 24.5-26.5, saves 25.5-27.5 and 26.5-28.5 (their up-links wait
    # for the combine's, the second also for the group's DRAM). Backward weights wait for their
    # forward experts and the DRAM: 27.5-33.5 and 30.5-36.5; activations 33.5-35.5 and 36.5-38.5;
    # experts 35.5-38.5 and 38.5-41.5; combine 41.5-43.5; attention 43.5-65.5; the root's gradient
    # write-back 65.5-75.5. Critical path, exposed seconds: root load 10, attention 11, dispatch 2,
    # expert 1.5, combine 1, save 1 + 1, load 3 + 6, activations 2, expert 3, combine 2,
    # attention 22, write-back 10.
    mz-sched -V A -M 1 --slices 1 -u "$TINY" | mz-cost -w "$WAFER" -b b.tsv -o out.tsv
    [ "$(mean latency_s out.tsv)" = 75.500000 ]
    [ "$(mean critical_ops out.tsv)" = 14 ]
    run awk -F'\t' '$2 == "all" { print $3, $5 }' b.tsv
    assert_output "att_compute 33
expert_compute 4.5
dram_stream 29
act_traffic 4
a2a_dispatch 2
a2a_combine 3"
}

@test "mz-cost: the breakdown adds up: exposed sums to the latency, total >= exposed (tiny and OLMoE)" {
    mz-sched -V A -M 1 -u "$TINY" | mz-cost -w "$WAFER" -b b1.tsv -o o1.tsv
    olmoe_schedules
    for v in baseline C; do
        mz-cost -w wafer-olmoe-1b-7b-0924 -b b-$v.tsv -o o-$v.tsv $v.mzs
    done
    for p in 1 -baseline -C; do
        lat=$(awk -F'\t' '!/^#/ && $1 == "0" { print $2 }' o$p.tsv)
        run awk -F'\t' -v lat="$lat" '$2 == "all" { s += $5; if ($4 < $5 - 1e-9) bad++ }
            END { d = s - lat; if (d < 0) d = -d; print (d < 1e-5 && !bad) ? "ok" : "bad " s " " lat " " bad }' b$p.tsv
        assert_output ok
    done
    head -n 3 b-C.tsv | tail -n 1 | grep -q '^step	layer	category	total_s	exposed_s$'
    # every layer of the model appears, six categories each
    [ "$(awk -F'\t' '!/^#/ && $1 == "0" && $2 != "all"' b-C.tsv | wc -l)" -eq $((16 * 6)) ]
}

@test "mz-cost: the ladder on OLMoE: Baseline > A > B > C, and C_T falls" {
    olmoe_schedules
    for v in baseline A B C; do mz-cost -w wafer-olmoe-1b-7b-0924 -o $v.tsv $v.mzs; done
    run awk -v b="$(mean latency_s baseline.tsv)" -v a="$(mean latency_s A.tsv)" -v B="$(mean latency_s B.tsv)" \
        -v c="$(mean latency_s C.tsv)" 'BEGIN { print (b > a && a > B && B > c) ? "ordered" : "not " b " " a " " B " " c }'
    assert_output ordered
    [ "$(mean ct A.tsv)" = 8.0000 ]
    awk -v x="$(mean ct B.tsv)" -v y="$(mean ct C.tsv)" 'BEGIN { exit !(x < 8 && y < x) }'
}

@test "mz-cost: SSD raises every latency; longer sequences raise latency" {
    olmoe_schedules
    for v in baseline A B C; do
        h=$(mz-cost -w wafer-olmoe-1b-7b-0924 $v.mzs | awk '$1 == "mean" { print $2 }')
        s=$(mz-cost -w wafer-olmoe-1b-7b-0924 -w ssd $v.mzs | awk '$1 == "mean" { print $2 }')
        awk -v h="$h" -v s="$s" 'BEGIN { exit !(s > h) }'
    done
    h=$(mz-cost -w wafer-olmoe-1b-7b-0924 C.mzs | awk '$1 == "mean" { print $2 }')
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -L 512 -u | mz-place -a mozart -u | mz-sched -M 1 -V C -u -o long.mzs
    l=$(mz-cost -w wafer-olmoe-1b-7b-0924 long.mzs | awk '$1 == "mean" { print $2 }')
    awk -v h="$h" -v l="$l" 'BEGIN { exit !(l > h) }'
}

@test "mz-cost: the timeline is valid Chrome trace JSON, events never overlap on a track" {
    mz-sched -V A -M 1 --slices 1 -u "$TINY" | mz-cost -w "$WAFER" -T tiny.json > /dev/null
    olmoe_schedules "-n 2"
    # two steps: events of step 1, offset by step 0's latency, still only touch
    mz-cost -w wafer-olmoe-1b-7b-0924 -T C.json --timeline-steps 0-1 C.mzs > /dev/null
    for f in tiny.json C.json; do
        run python3 -c '
import decimal, json, sys
d = json.load(open(sys.argv[1]), parse_float=decimal.Decimal)
ev = [e for e in d["traceEvents"] if e["ph"] == "X"]
names = {e["tid"] for e in d["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
tracks = {}
for e in ev:
    assert e["dur"] > 0 and e["ts"] >= 0 and e["tid"] in names
    tracks.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
bad = sum(1 for t in tracks.values() for a, b in zip(sorted(t), sorted(t)[1:]) if b[0] < a[1])
print(len(ev) > 0, bad)' "$f"
        assert_output "True 0"
    done
    # the tiny step's last event ends at the latency
    run python3 -c '
import json
d = json.load(open("tiny.json"))
print(max(e["ts"] + e["dur"] for e in d["traceEvents"] if e["ph"] == "X"))'
    assert_output 75500000.0
}

@test "mz-cost: the resource table: bytes, busy time and utilisation per link, stack and chiplet" {
    mz-sched -V baseline -M 1 -u "$TINY" | mz-cost -w "$WAFER" -r r.tsv > /dev/null
    grep -q '^resource	type	rate_per_s	flop	bytes	uses	busy_s	utilisation$' r.tsv
    # the root port: dispatch and combine forward and backward, 16 B each at 8 B/s
    run awk -F'\t' '$1 == "RP" { print $2, $3, $5, $7 }' r.tsv
    assert_output "link 8 64 8"
    run awk -F'\t' '$1 == "C0" { print $2, $4, $7 }' r.tsv
    assert_output "compute 144 4.5"
    [ "$(awk -F'\t' '$2 == "dram"' r.tsv | wc -l)" -eq 2 ]   # DA and D0
}

@test "mz-cost: -s overrides a field; the root port sets the all-to-all time" {
    mz-sched -V baseline -M 1 -u -o s.mzs "$TINY"
    # dispatch and combine, 4 x 2 s at 8 B/s, take 4 x 1 s at 16 B/s
    [ "$(mz-cost -w "$WAFER" -s links.root_port_wires=16 s.mzs | awk '$1 == "mean" { print $2 }')" = 116.500000 ]
    run mz-cost -w "$WAFER" -s links.root_port=7 s.mzs
    assert_failure 1
    assert_output --partial "links.root_port: '7' is not one of shared, per_switch"
}

@test "mz-cost: a wafer with a missing, negative or non-numeric field is refused, naming it" {
    mz-sched -M 1 -u -o s.mzs "$TINY"
    grep -v '^tiles' "$WAFER" > missing.wafer
    run mz-cost -w ./missing.wafer s.mzs
    assert_failure 1
    assert_output --partial "missing field 'compute.tiles'"
    assert_output --partial "missing.wafer"
    sed 's/^bandwidth_GBps = 16e-9/bandwidth_GBps = -256/' "$WAFER" > negative.wafer
    run mz-cost -w ./negative.wafer s.mzs
    assert_failure 1
    assert_output --partial "negative.wafer: line 24: memory.bandwidth_GBps: -256 is negative"
    sed 's/^pes_per_array = 1 /pes_per_array = many /' "$WAFER" > text.wafer
    run mz-cost -w ./text.wafer s.mzs
    assert_failure 1
    assert_output --partial "text.wafer: line 13: compute.pes_per_array: 'many' is not an integer"
    run mz-cost -w "$WAFER" -s memory.bandwidth_GBps=fast s.mzs
    assert_failure 1
    assert_output --partial "memory.bandwidth_GBps: 'fast' is not a number"
    run mz-cost -w no-such-wafer s.mzs
    assert_failure 1
    assert_output --partial "unknown wafer"
}

@test "mz-cost: a placement with more chiplets or groups than the wafer is refused" {
    mz-sched -M 1 -u -o s.mzs "$TINY"
    run mz-cost -w "$WAFER" -s topology.expert_chiplets=1 s.mzs
    assert_failure 1
    assert_output --partial "placement uses 2 expert chiplets, the wafer has 1 (topology.expert_chiplets)"
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 16 -u | mz-place -a contiguous -c 32 -g 8 -u | mz-sched -M 1 -u -o s32.mzs
    run mz-cost -w wafer-olmoe-1b-7b-0924 s32.mzs
    assert_failure 1
    assert_output --partial "(topology.expert_chiplets)"
    run mz-cost -w wafer-olmoe-1b-7b-0924 -s topology.expert_chiplets=32 s32.mzs
    assert_failure 1
    assert_output --partial "uses 8 groups, the wafer has 4 (topology.switches)"
    # counts are parameters: 32 chiplets in 8 groups, on a tree and on a mesh
    mz-cost -w wafer-olmoe-1b-7b-0924 -s topology.expert_chiplets=32 -s topology.switches=8 s32.mzs
    mz-cost -w wafer-olmoe-1b-7b-0924 -w mesh -s topology.expert_chiplets=32 -s topology.switches=8 s32.mzs
}

@test "mz-cost: the schedule's bytes per element must match the wafer's precision" {
    mz-sched -M 1 --bytes 4 -u -o s.mzs "$TINY"
    run mz-cost -w "$WAFER" s.mzs
    assert_failure 1
    assert_output --partial "compute.precision_bytes"
}

@test "mz-cost: the mesh: no in-switch reduction, the same chiplets" {
    olmoe_schedules
    t=$(mz-cost -w wafer-olmoe-1b-7b-0924 -r tree.tsv C.mzs | awk '$1 == "mean" { print $2 }')
    m=$(mz-cost -w wafer-olmoe-1b-7b-0924 -w mesh -r mesh.tsv C.mzs | awk '$1 == "mean" { print $2 }')
    [ "$t" != "$m" ]
    [ "$(awk -F'\t' '$1 ~ /^L/' mesh.tsv | wc -l)" -eq 48 ]   # directed links of a 4 x 4 mesh
    [ "$(awk -F'\t' '$1 ~ /^S/' tree.tsv | wc -l)" -eq 32 ]   # a down and an up link per chiplet
    # the root port carries more bytes on the mesh (no forward reduction in a switch)
    awk -F'\t' -v t="$(awk -F'\t' '$1 == "RP" { print $5 }' tree.tsv)" '$1 == "RP" { exit !($5 > t) }' mesh.tsv
}

@test "mz-cost --fit: one field, one target, found by hand: root port 16 wires" {
    mz-sched -V baseline -M 1 -u -o base.mzs "$TINY"
    printf '# the tiny Baseline at 116.5 s needs a root port twice as wide\nname\tschedule\twafer\treference\ttarget\ttolerance\n' > t.tsv
    printf 'base\tbase.mzs\t%s\t-\t116.5\t1\n' "$WAFER" >> t.tsv
    mz-cost -q --fit t.tsv --free links.root_port_wires -o fit.tsv
    run awk -F'\t' '$1 == "#fitted" { printf "%s %.1f\n", $2, $3 }' fit.tsv
    assert_output "links.root_port_wires 16.0"
    run awk -F'\t' '$1 == "base" { printf "%.1f\n", $3 }' fit.tsv
    assert_output 116.5
}

@test "mz-cost --fit: relative targets and a bad targets file" {
    mz-sched -V baseline -M 1 -u -o base.mzs "$TINY"
    mz-sched -V A -M 1 --slices 1 -u -o a.mzs "$TINY"
    printf 'name\tschedule\twafer\treference\ttarget\ttolerance\nbase\tbase.mzs\t%s\t-\t-\t-\nA\ta.mzs\t%s\tbase\t0.6\t0.04\n' \
        "$WAFER" "$WAFER" > t.tsv
    mz-cost -q --fit t.tsv --free links.root_port_wires,compute.utilisation -o fit.tsv
    awk -F'\t' '$1 == "A" { exit !($7 < 1 && $7 > -1) }' fit.tsv
    printf 'name\tschedule\twafer\treference\ttarget\ttolerance\nA\ta.mzs\t%s\tbase\t0.6\t0.04\n' "$WAFER" > bad.tsv
    run mz-cost -q --fit bad.tsv
    assert_failure 1
    assert_output --partial "reference 'base' is not an earlier row"
}

@test "mz-cost: '-' reads stdin; plain, gzip and text schedules give the same table" {
    mz-sched -V A -M 1 -u -o s.mzs "$TINY"
    mz-sched -V A -M 1 -o s.mzs.gz "$TINY"
    mz-sched -V A -M 1 -t -o s.txt "$TINY"
    a=$(mz-cost -w "$WAFER" s.mzs | grep -v '^#')
    [ "$a" = "$(mz-cost -w "$WAFER" s.mzs.gz | grep -v '^#')" ]
    [ "$a" = "$(mz-cost -w "$WAFER" s.txt | grep -v '^#')" ]
    [ "$a" = "$(mz-cost -w "$WAFER" - < s.mzs | grep -v '^#')" ]
}

@test "mz-cost: a truncated or corrupt schedule is an error (exit 1) and writes nothing" {
    olmoe_schedules
    head -c 100000 A.mzs > cut.mzs
    run mz-cost -w wafer-olmoe-1b-7b-0924 -o out.tsv -b b.tsv cut.mzs
    assert_failure 1
    assert_output --partial "truncated"
    [ ! -e out.tsv ] && [ ! -e b.tsv ]
    mz-sched -V A -M 1 -t -o s.txt "$TINY"
    sed 's/^0\t5\t\(.*\)\t[0-9,]*$/0\t5\t\1\t9/' s.txt > bad.txt
    run mz-cost -w "$WAFER" bad.txt
    assert_failure 1
    assert_output --partial "line"
    # an op after the step's stat op
    awk -F'\t' 'BEGIN { OFS = "\t" } /^@EOF/ { print 0, n, "att", "att_compute", 0, 0, "fwd", "-", 0, "-", "-"; print "@EOF", n + 1; next }
        !/^@/ { n++ } { print }' s.txt > late.txt
    run mz-cost -w "$WAFER" late.txt
    assert_failure 1
    assert_output --partial "comes after the step's stat op"
    run mz-cost -w "$WAFER" "$TINY"
    assert_failure 1
    assert_output --partial "is a trace stream, expected a schedule stream"
}

@test "mz-cost: writing to /dev/full exits 1" {
    mz-sched -M 1 -u -o s.mzs "$TINY"
    run mz-cost -w "$WAFER" -o /dev/full s.mzs
    assert_failure 1
    assert_output --partial "No space left on device"
}

@test "mz-cost: every value of the shipped wafer files says where it comes from" {
    run awk '/^[a-z_]+ *=/ && !/#/ { print FILENAME ": " $0 }' "$TOP"/models/*.wafer
    assert_output ""
    for w in wafer-qwen3-30b-a3b wafer-olmoe-1b-7b-0924 wafer-deepseek-moe-16b-base; do
        mz-sched -M 1 -u -o s.mzs "$TINY"
        # the design files are complete (only the tiny placement's 2 chiplets are checked against them)
        run mz-cost -w $w -s compute.precision_bytes=2 s.mzs
        assert_success
    done
}

@test "mz-cost: the man page examples run" {
    while IFS= read -r cmd; do
        run sh -c "$cmd"
        [ "$status" -eq 0 ] || { echo "failed: $cmd: $output"; return 1; }
    done < <(man_examples mz-cost)
    [ -s step0.json ] && [ -s breakdown.tsv ]
}
