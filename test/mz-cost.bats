#!/usr/bin/env bats
# mz-cost.bats: tests of mz-cost: hand-worked latencies on test/cost-tiny.mzt and test/tiny.wafer, wafer errors, tables, timeline, fit.
load helper

TINY="$TOP/test/cost-tiny.mzt"
WAFER="$TOP/test/tiny.wafer"
# The tiny trace's micro-batch (-M 1) is 2 tokens: its schedules take one slice (mz-sched's default, 8
# slices, cannot cut it), or two where said.

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

@test "mz-cost: bad options are usage errors (exit 2)" {
    mz-sched -M 1 --slices 1 -t -o s.txt "$TINY"
    for args in "s.txt" "-w $WAFER --timeline-steps x s.txt" "-w $WAFER s.txt s.txt" \
        "--fit t.tsv -w $WAFER" "--fit t.tsv s.txt"; do
        run mz-cost $args
        assert_failure 2
        assert_output --partial "Try 'mz-cost --help'"
    done
}

@test "mz-cost: Baseline of the tiny case, worked out by hand: 1661 s" {
    # Rates (mz-model(7) 2, test/tiny.wafer): 1 x 1 arrays at 1 cycle/s, SRAM 1000 B/s; a 1 mm die edge
    # of 8 wires: the chiplet links S0, S1 and the root link R0 (the root's 4 mm perimeter less its stack's
    # 3 mm PHY) 8 B/s; the dispatcher RD 8 B/cycle = 8 B/s; the stacks DA and D0 16 B/s. The model: h 4,
    # gated f 2 (u 4), E 2, top-1, one head of 4, V 10; T = 2 tokens, mean context (1 + 2) / 2 = 1.5.
    # Compute (3.4, a = n_a = 1: passes K ceil(N), cycles K ceil(N) (M + 2) for (M, K, N)); the cycles
    # bind (the SRAM bytes take about 1 s):
    #   attention fwd: projections (2, 4, 64/4) 256, router (2, 4, 2) 32, head (2, 4, 1.5) 32 and
    #     (2, 1.5, 4) 32: 352; bwd: dX (2, 16, 4) 256, dW (4, 2, 16) 192, router 32 + 24, heads 2 x 64: 632
    #   expert fwd (1 pair): (1, 4, 4) 48 + (1, 2, 4) 24 = 72; bwd: 48 + (4, 1, 4) 24 + (1, 4, 2) 24 + (2, 1, 4) 16 = 112
    #   LM head fwd (2, 4, 10) 160; bwd (2, 10, 4) 160 + (4, 2, 10) 120 = 280
    # Phases, each after the one before (4.7). Forward: root weights 160 B on DA 10; chiplet weights 48 B
    # each (D0 3 s, S 6 s; the second waits for D0): 9; embedding 16 B 1; attention 352; dispatch 16 B on
    # R0 and RD (8 B on each S) 2; experts 72; combine (reduced in the switch: the group's 16 B) 2; LM head
    # 160 (its 88 B on DA 5.5); saves 16 B (2 and 1 + 2) beside the root's 104 B 6.5: 6.5. Sum 614.5.
    # Backward: LM head 280 (88 + 88 B on DA 11); activations, the root's 104 B 6.5 (the chiplets' 3);
    # dispatch 2; experts 112; combine (not reduced: 16 B) 2; attention 632; embedding rows 16 + 16 B 2;
    # updates 48 B (9) beside the root's 160 B 10: 10. Sum 1046.5. In all 1661 s.
    mz-sched -V baseline -M 1 --slices 1 -u "$TINY" | mz-cost -w "$WAFER" -o out.tsv
    [ "$(mean latency_s out.tsv)" = 1661.000000 ]
    [ "$(mean ct out.tsv)" = 1.0000 ]
    [ "$(mean ops out.tsv)" = 27 ]   # 26 and the stat op
}

@test "mz-cost: streaming the tiny case, worked out by hand: 1645.5 s" {
    # The rates and op times of the Baseline case; one slice, the resources in depth order (6.1).
    # Forward: root weights on DA 0-10, the chiplets' 0-6 and 3-9 (the second waits for D0), embedding
    # 10-11, attention 11-363, dispatch 363-365, experts 365-437, combine 437-439; the saves wait for the
    # combine's S links (438-440; 439-441, after D0), the LM head for the combine: 439-599 (its weights
    # on DA 439-444.5), the root's save for it: 599-605.5. Backward: the LM head 605.5-885.5 (DA after
    # the save), the activations after their saves (chiplets 440-442 and 441-443, root 616.5-623),
    # dispatch 885.5-887.5, experts 887.5-999.5, combine 999.5-1001.5, attention 1001.5-1633.5, the
    # embedding rows 1633.5-1635.5, the root's update 1635.5-1645.5 (the chiplets' 1000.5-1006.5 and
    # 1003.5-1009.5). The critical path, 15 ops, exposed seconds: root weights 10, embedding 1,
    # attention 352, dispatch 2, expert 72, combine 2, LM head 160, root save 6.5, LM head 280,
    # dispatch 2, expert 112, combine 2, attention 632, embedding 2, update 10.
    mz-sched -V A -M 1 --slices 1 -u "$TINY" | mz-cost -w "$WAFER" -b b.tsv -o out.tsv
    [ "$(mean latency_s out.tsv)" = 1645.500000 ]
    [ "$(mean critical_ops out.tsv)" = 15 ]
    run awk -F'\t' '$2 == "all" { print $3, $4, $5 }' b.tsv
    # total_s: every op's duration (the chiplets' twice: 2 x (72 + 112) = 368; weights 10 + 6 + 6,
    # embedding 1 + 2, updates 6 + 6 + 10 = 47; saves 2 + 2 + 6.5, loads 6.5 + 2 + 2 = 21)
    assert_output "att_compute 1424 1424
expert_compute 368 184
dram_stream 47 23
act_traffic 21 6.5
a2a_dispatch 4 4
a2a_combine 4 4"
}

@test "mz-cost: the breakdown adds up: exposed sums to the latency, total >= exposed (tiny and OLMoE)" {
    mz-sched -V A -M 1 --slices 2 -u "$TINY" | mz-cost -w "$WAFER" -b b1.tsv -o o1.tsv
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
    head -n 3 b-C.tsv | tail -n 1 | grep -q '^step	layer	category	total_s	exposed_s	energy_J$'
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
    # the tiny step's last event ends at the latency, 1645.5 s (the streaming case above)
    run python3 -c '
import json
d = json.load(open("tiny.json"))
print(max(e["ts"] + e["dur"] for e in d["traceEvents"] if e["ph"] == "X"))'
    assert_output 1645500000.0
    # backward, the saved activations are read after they were written (the chiplets' at 440 and 441 s
    # after their saves end, the root's at 616.5 s after its save, 599-605.5)
    run python3 -c '
import json
d = json.load(open("tiny.json"))
ev = [e for e in d["traceEvents"] if e["ph"] == "X"]
def ends(n, t): return max(e["ts"] + e["dur"] for e in ev if e["name"] == n and e["tid"] in t)
def starts(n, t): return min(e["ts"] for e in ev if e["name"] == n and e["tid"] in t)
every = {e["tid"] for e in ev}
# per track of a chiplet save (its link S0 or S1, and D0)
print([starts("act_load", {t}) >= ends("save", {t}) for t in sorted({e["tid"] for e in ev if e["name"] == "save"})],
      starts("root_act_load", every) >= ends("att_save", every), starts("root_act_load", every))'
    assert_output "[True, True, True] True 616500000.0"
}

@test "mz-cost: the resource table: bytes, busy time and utilisation per link, stack and chiplet" {
    mz-sched -V baseline -M 1 --slices 1 -u "$TINY" | mz-cost -w "$WAFER" -r r.tsv > /dev/null
    grep -q '^resource	type	rate_per_s	wires	flop	bytes	uses	busy_s	utilisation$' r.tsv
    # the root link (8 wires, 8 B/s) and the dispatcher (8 B/s): dispatch and combine forward and
    # backward, 16 B each, 2 s each
    run awk -F'\t' '$1 == "R0" || $1 == "RD" { print $1, $2, $3, $4, $6, $7, $8 }' r.tsv
    assert_output "RD link 8 0 64 4 8
R0 link 8 8 64 4 8"
    # a chiplet: 48 + 96 FLOP, SRAM operand bytes 176 forward + 340 backward = 516 (3.4), 72 + 112 s
    # of cycles: busy 184 s of the 1661 s step
    run awk -F'\t' '$1 == "C0" { print $2, $5, $6, $8, $9 }' r.tsv
    assert_output "compute 144 516 184 0.110777"
    # the root's stacks: 160 + 16 + 88 + 104 (forward), 176 + 104 + 32 + 160 (backward) = 840 B at 16 B/s
    run awk -F'\t' '$1 == "DA" { print $2, $3, $6, $8 }' r.tsv
    assert_output "dram 16 840 52.5"
    [ "$(awk -F'\t' '$2 == "dram"' r.tsv | wc -l)" -eq 3 ]   # DA, D0 and the spill tier X
}

@test "mz-cost: -s overrides a field; the dispatcher sets the all-to-all time when it binds" {
    mz-sched -V baseline -M 1 --slices 1 -u -o s.mzs "$TINY"
    # the Baseline's four all-to-all ops move 16 B each at the root: 2 s on R0 and on RD (1661 s above);
    # at 4 B/cycle the dispatcher binds, 4 s each: 1661 + 4 x 2 = 1669 s; at 16 B/cycle R0 binds: 1661 s
    [ "$(mz-cost -w "$WAFER" -S root.dispatch_Bpc=4 s.mzs | awk '$1 == "mean" { print $2 }')" = 1669.000000 ]
    [ "$(mz-cost -w "$WAFER" -S root.dispatch_Bpc=16 s.mzs | awk '$1 == "mean" { print $2 }')" = 1661.000000 ]
    run mz-cost -w "$WAFER" -S topology.kind=ring s.mzs
    assert_failure 1
    assert_output --partial "topology.kind: 'ring' is not one of tree, mesh"
    # a field of the old timing model is no field
    run mz-cost -w "$WAFER" -S links.root_port_wires=16 s.mzs
    assert_failure 1
    assert_output --partial "unknown field 'links.root_port_wires'"
}

@test "mz-cost: a wafer with a missing, negative or non-numeric field is refused, naming it" {
    mz-sched -M 1 --slices 1 -u -o s.mzs "$TINY"
    grep -v '^tiles' "$WAFER" > missing.wafer
    run mz-cost -w ./missing.wafer s.mzs
    assert_failure 1
    assert_output --partial "missing field 'compute.tiles'"
    assert_output --partial "missing.wafer"
    sed 's/^bandwidth_GBps = 16e-9/bandwidth_GBps = -256/' "$WAFER" > negative.wafer
    run mz-cost -w ./negative.wafer s.mzs
    assert_failure 1
    assert_output --partial "negative.wafer: line 25: memory.bandwidth_GBps: -256 is negative"
    sed 's/^pes_per_array = 1 /pes_per_array = many /' "$WAFER" > text.wafer
    run mz-cost -w ./text.wafer s.mzs
    assert_failure 1
    assert_output --partial "text.wafer: line 13: compute.pes_per_array: 'many' is not an integer"
    run mz-cost -w "$WAFER" -S memory.bandwidth_GBps=fast s.mzs
    assert_failure 1
    assert_output --partial "memory.bandwidth_GBps: 'fast' is not a number"
    run mz-cost -w no-such-wafer s.mzs
    assert_failure 1
    assert_output --partial "unknown wafer"
}

@test "mz-cost: a placement with more chiplets or groups than the wafer is refused" {
    mz-sched -M 1 --slices 1 -u -o s.mzs "$TINY"
    run mz-cost -w "$WAFER" -S topology.expert_chiplets=1 s.mzs
    assert_failure 1
    assert_output --partial "placement uses 2 expert chiplets, the wafer has 1 (topology.expert_chiplets)"
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 4 -L 16 -u | mz-place -a contiguous -c 32 -g 8 -u | mz-sched -M 1 -u -o s32.mzs
    run mz-cost -w wafer-olmoe-1b-7b-0924 s32.mzs
    assert_failure 1
    assert_output --partial "(topology.expert_chiplets)"
    run mz-cost -w wafer-olmoe-1b-7b-0924 -S topology.expert_chiplets=32 s32.mzs
    assert_failure 1
    assert_output --partial "uses 8 groups, the wafer has 4 (topology.switches)"
    # counts are parameters: 32 chiplets in 8 groups, on a tree and on a mesh
    mz-cost -w wafer-olmoe-1b-7b-0924 -S topology.expert_chiplets=32 -S topology.switches=8 s32.mzs
    mz-cost -w wafer-olmoe-1b-7b-0924 -w mesh -S topology.expert_chiplets=32 -S topology.switches=8 s32.mzs
}

@test "mz-cost: the schedule's bytes per element must match the wafer's precision" {
    mz-sched -M 1 --slices 1 --bytes 4 -u -o s.mzs "$TINY"
    run mz-cost -w "$WAFER" s.mzs
    assert_failure 1
    assert_output --partial "compute.precision_bytes"
}

@test "mz-cost: the mesh: no in-switch reduction, the same chiplets" {
    olmoe_schedules
    t=$(mz-cost -w wafer-olmoe-1b-7b-0924 -r tree.tsv C.mzs | awk '$1 == "mean" { print $2 }')
    m=$(mz-cost -w wafer-olmoe-1b-7b-0924 -w mesh -r mesh.tsv C.mzs | awk '$1 == "mean" { print $2 }')
    [ "$t" != "$m" ]
    # a link is one pool of wires for both directions (mz-model(7) 2.3, 2.4)
    [ "$(awk -F'\t' '$1 ~ /^L/' mesh.tsv | wc -l)" -eq 24 ]   # neighbour links of a 4 x 4 mesh: 2 x 4 x 3
    [ "$(awk -F'\t' '$1 ~ /^S/' tree.tsv | wc -l)" -eq 16 ]   # one link per chiplet to its switch
    [ "$(awk -F'\t' '$1 ~ /^R[0-9]/' tree.tsv | wc -l)" -eq 4 ]   # the root's link to each switch
    [ "$(awk -F'\t' '$1 ~ /^R[0-9]/' mesh.tsv | wc -l)" -eq 0 ]   # no switches on the mesh
    # the dispatcher carries more bytes on the mesh (no forward reduction in a switch)
    awk -F'\t' -v t="$(awk -F'\t' '$1 == "RD" { print $6 }' tree.tsv)" '$1 == "RD" { exit !($6 > t) }' mesh.tsv
}

@test "mz-cost --fit: one field, one target, found by hand: the dispatcher at 4 B/cycle" {
    mz-sched -V baseline -M 1 --slices 1 -u -o base.mzs "$TINY"
    # the tiny Baseline is 1661 + 4 max(0, 16 / d - 2) s for a dispatcher of d B/cycle (its four
    # all-to-all ops of 16 B at the root; R0 takes 2 s): 1669 s at d = 4
    printf '# the tiny Baseline at 1669 s: a dispatcher half as fast as the root link\nname\tschedule\twafer\treference\ttarget\ttolerance\n' > t.tsv
    printf 'base\tbase.mzs\t%s\t-\t1669\t1\n' "$WAFER" >> t.tsv
    mz-cost -q --fit t.tsv --free root.dispatch_Bpc=1:16 -o fit.tsv
    run awk -F'\t' '$1 == "#fitted" { printf "%s %.1f\n", $2, $3 }' fit.tsv
    assert_output "root.dispatch_Bpc 4.0"
    run awk -F'\t' '$1 == "base" { printf "%.1f\n", $3 }' fit.tsv
    assert_output 1669.0
}

@test "mz-cost --fit: relative targets and a bad targets file" {
    mz-sched -V baseline -M 1 --slices 1 -u -o base.mzs "$TINY"
    # the reference: the Baseline on links of 1 wire/mm (1 B/s): root weights 10, chiplet weights
    # 48 + 3 (the second after D0), embedding 1, attention 352, all-to-all 16 each on R0 (the dispatcher,
    # 16 / d, never slower for d >= 1), experts 72, LM head 160, saves 16 + 1, LM head 280, activations
    # 16 + 1, experts 112, attention 632, embedding 2, updates 48 + 3: 1821 s for every d of the range.
    # The row over it: (1661 + 4 (16 / d - 2)) / 1821, 1669 / 1821 = 0.916529 at d = 4
    printf '[links]\nwires_per_mm = 1  # test: 1 B/s links\n' > slow.wafer
    printf 'name\tschedule\twafer\treference\ttarget\ttolerance\nslow\tbase.mzs\t%s,%s\t-\t-\t-\nbase\tbase.mzs\t%s\tslow\t0.916529\t0.001\n' \
        "$WAFER" "$PWD/slow.wafer" "$WAFER" > t.tsv
    mz-cost -q --fit t.tsv --free root.dispatch_Bpc=2:16 -o fit.tsv
    run awk -F'\t' '$1 == "#fitted" { printf "%s %.1f\n", $2, $3 }' fit.tsv
    assert_output "root.dispatch_Bpc 4.0"
    run awk -F'\t' '$1 == "slow" { printf "%.1f\n", $3 }' fit.tsv
    assert_output 1821.0
    awk -F'\t' '$1 == "base" { exit !($7 < 1 && $7 > -1) }' fit.tsv
    # two free fields
    mz-cost -q --fit t.tsv --free root.dispatch_Bpc=2:16,memory.bandwidth_GBps -o fit2.tsv
    awk -F'\t' '$1 == "base" { exit !($7 < 1 && $7 > -1) }' fit2.tsv
    printf 'name\tschedule\twafer\treference\ttarget\ttolerance\nA\tbase.mzs\t%s\tbase\t0.6\t0.04\n' "$WAFER" > bad.tsv
    run mz-cost -q --fit bad.tsv
    assert_failure 1
    assert_output --partial "reference 'base' is not an earlier row"
}

@test "mz-cost: '-' reads stdin; plain, gzip and text schedules give the same table" {
    mz-sched -V A -M 1 --slices 2 -u -o s.mzs "$TINY"
    mz-sched -V A -M 1 --slices 2 -o s.mzs.gz "$TINY"
    mz-sched -V A -M 1 --slices 2 -t -o s.txt "$TINY"
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
    mz-sched -V A -M 1 --slices 1 -t -o s.txt "$TINY"
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
    mz-sched -M 1 --slices 1 -u -o s.mzs "$TINY"
    run mz-cost -w "$WAFER" -o /dev/full s.mzs
    assert_failure 1
    assert_output --partial "No space left on device"
}

@test "mz-cost: every value of the shipped wafer files says where it comes from" {
    run awk '/^[a-z_]+ *=/ && !/#/ { print FILENAME ": " $0 }' "$TOP"/models/*.wafer
    assert_output ""
    for w in wafer-qwen3-30b-a3b wafer-olmoe-1b-7b-0924 wafer-deepseek-moe-16b-base; do
        mz-sched -M 1 --slices 1 -u -o s.mzs "$TINY"
        # the design files are complete (only the tiny placement's 2 chiplets are checked against them)
        run mz-cost -w $w -S compute.precision_bytes=2 s.mzs
        assert_success
    done
}
