#!/usr/bin/env bats
# energy.bats: the area and energy model (mz-model(7) section 9, issue 13): hand-worked areas and joules on
# test/tiny.wafer + test/power.wafer, the Qwen3 tile bottom-up, energy that adds up and scales with the work,
# Mozart-C against Baseline, bad constants, the timeline's power track.
load helper
bats_require_minimum_version 1.5.0

TINY="$TOP/test/cost-tiny.mzt"
WAFER="$TOP/test/tiny.wafer"
POWER="$TOP/test/power.wafer"

# Column $1 of row $2 (first field) of a TSV with a header line.
col() { awk -F'\t' -v c="$1" -v r="$2" '/^#/ {next} !h {for (i = 1; i <= NF; i++) if ($i == c) k = i; h = 1; next} $1 == r {print $k}' "$3"; }
# Exit 0 when a and b agree to a relative 1e-6 (absolute 1e-12 near 0).
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); exit !(d <= 1e-6 * m + 1e-12) }'; }

# OLMoE schedules (one step, 8 sequences) and the tiny one, made once.
setup_file() {
    mkdir -p "$BATS_FILE_TMPDIR/s"
    cd "$BATS_FILE_TMPDIR/s" || return 1
    mz-trace -m olmoe-1b-7b-0924 -n 1 -b 8 -u -o t.mzt
    mz-place -a contiguous -u -o c.mzt t.mzt
    mz-place -a mozart -u -o m.mzt t.mzt
    for v in baseline A B; do mz-sched -M 1 -V $v -w wafer-olmoe-1b-7b-0924 -u -o $v.mzs c.mzt; done
    mz-sched -M 1 -V C -w wafer-olmoe-1b-7b-0924 -u -o C.mzs m.mzt
    mz-sched -V A -M 1 --slices 1 -u -o tiny.mzs "$TINY"
}
S() { echo "$BATS_FILE_TMPDIR/s/$1"; }

@test "energy: --area, the Qwen3 tile bottom-up beside the 7.568 mm2 the paper's totals imply" {
    run -0 mz-cost --area -w wafer-qwen3-30b-a3b -o a.tsv
    # 16 arrays x 576 PEs x 1161 um2 = 10.699776; 24 x 15 adders x 526 um2 = 0.18936;
    # 32 GB/s / 0.125 GB/s = 256 bonds x 50 um x 50 um = 0.64; 2.265 MB x 1.6 = 3.624
    [ "$(col total_mm2 tile.arrays a.tsv)" = 10.6998 ]
    [ "$(col total_mm2 tile.adder_tree a.tsv)" = 0.18936 ]
    [ "$(col count tile.bonds a.tsv)" = 256 ]
    [ "$(col total_mm2 tile.bonds a.tsv)" = 0.64 ]
    [ "$(col total_mm2 tile.sram a.tsv)" = 3.624 ]
    # the compute die (10.699776 + 0.18936 + 0.64 = 11.529136) is larger than the SRAM die (4.264)
    [ "$(col total_mm2 tile a.tsv)" = 11.5291 ]
    [ "$(col total_mm2 tile.wafer a.tsv)" = 7.568 ]
    [ "$(col total_mm2 tile.difference a.tsv)" = 3.96114 ]
    grep -q $'^tile.difference\t.*: +52.3%$' a.tsv
    head -n 1 a.tsv | grep -q $'^#mz-cost\tarea$'
}

@test "energy: --area on the tiny wafer, every die by hand" {
    run -0 mz-cost --area -w "$WAFER" -w "$POWER" -o a.tsv
    # tile: a 2 mm2 PE + 1000 bonds (1e-6 / 1e-9 GB/s) of 100 um2 = 2.1 (the SRAM die: 1 + 0.1)
    [ "$(col total_mm2 tile a.tsv)" = 2.1 ]
    # expert chiplet: 1 tile + its 1 mm edge of 8 wires at 0.125 mm2 = 3.1
    [ "$(col each_mm2 chiplet a.tsv)" = 3.1 ]
    # attention chiplet: 2.1 + its 1 mm of link shoreline (1 mm2) + one stack PHY (2) = 5.1
    [ "$(col each_mm2 attention_chiplet a.tsv)" = 5.1 ]
    # switch: 8 up + 2 x 8 down wires (3 mm2), its stack's PHY (2), 8 B/s / (2 B x 1 Hz) = 4 adders
    # of 0.25 mm2 (1), a 1 MB buffer (1) = 7
    [ "$(col each_mm2 switch a.tsv)" = 7 ]
    # 2 x 3.1 + 5.1 + 7 + 2 stacks x 4 = 26.3, no spacing
    [ "$(col total_mm2 total a.tsv)" = 26.3 ]
    # leakage: logic 3 x 2.1 + 2 x 1 + 3 + (5 + 1) = 17.3 mm2 at 1 W; SRAM 3 x 1.1 + 1 = 4.3 mm2 at 2 W
    [ "$(col total_mm2 leaking.logic a.tsv)" = 17.3 ]
    [ "$(col total_mm2 leaking.sram a.tsv)" = 4.3 ]
    [ "$(col total_mm2 static_W a.tsv)" = 25.9 ]
    # 1 mm of spacing: each die of A mm2 takes (sqrt(A) + 1)^2 - A more: 2 x (2 sqrt(3.1) + 1)
    # + (2 sqrt(5.1) + 1) + (2 sqrt(7) + 1) + 2 x 5 = 30.8508
    run -0 mz-cost --area -w "$WAFER" -w "$POWER" -S tech.die_gap_mm=1 -o g.tsv
    awk -F'\t' '$1 == "spacing" {d = $4 - 30.85086; exit !(d < 1e-4 && d > -1e-4)}' g.tsv
    awk -F'\t' '$1 == "total" {d = $4 - (26.3 + 30.85086); exit !(d < 1e-4 && d > -1e-4)}' g.tsv
}

@test "energy: a tiny step's joules by hand, per resource and per phase" {
    run -0 mz-cost -w "$WAFER" -w "$POWER" -b b.tsv -r r.tsv -o o.tsv "$(S tiny.mzs)"
    # compute: 1 pJ a FLOP, 2 pJ an SRAM byte (1 + 8 x 0.125 through the bonds)
    [ "$(col flop CA r.tsv)" = 1488 ] && [ "$(col bytes CA r.tsv)" = 4942 ]
    [ "$(col energy_J CA r.tsv)" = 1.1372e-08 ]   # 1488 + 2 x 4942 = 11372 pJ
    [ "$(col energy_J C0 r.tsv)" = 1.176e-09 ]    # 144 + 2 x 516
    # the dispatcher reads the root's SRAM: 64 B x 2 pJ; a link 1 pJ a byte (8 bits x 2 mm x 0.0625)
    [ "$(col energy_J RD r.tsv)" = 1.28e-10 ]
    [ "$(col energy_J R0 r.tsv)" = 6.4e-11 ] && [ "$(col energy_J S0 r.tsv)" = 1.6e-10 ]
    # HBM: 4 pJ a byte (8 x 0.5)
    [ "$(col energy_J D0 r.tsv)" = 1.024e-09 ] && [ "$(col energy_J DA r.tsv)" = 3.36e-09 ]
    # the phases: 18620 pJ of dynamic energy in all
    run awk -F'\t' '$1 == "0" && $2 == "all" && $3 != "static" {s += $6} END {printf "%.6g\n", s}' b.tsv
    assert_output 1.862e-08
    # static: 25.9 W over the latency
    lat=$(col latency_s 0 o.tsv)
    near "$(col static_J 0 o.tsv)" "$(awk -v l="$lat" 'BEGIN {printf "%.9g", 25.9 * l}')"
    near "$(col energy_J 0 o.tsv)" "$(awk -v l="$lat" 'BEGIN {printf "%.9g", 25.9 * l + 1.862e-8}')"
    near "$(col power_W 0 o.tsv)" 25.9
    [ "$(col area_mm2 0 o.tsv)" = 26.3 ]
}

@test "energy: the phases sum to the step's energy and the resources to its dynamic part (tiny, OLMoE Baseline and C)" {
    mz-cost -w "$WAFER" -w "$POWER" -b b0.tsv -r r0.tsv -o o0.tsv "$(S tiny.mzs)"
    for v in baseline C; do
        mz-cost -w wafer-olmoe-1b-7b-0924 -b b$v.tsv -r r$v.tsv -o o$v.tsv "$(S $v.mzs)" 2> /dev/null
    done
    for p in 0 baseline C; do
        sum=$(awk -F'\t' '$1 == "0" && $2 == "all" {s += $6} END {printf "%.9g", s}' b$p.tsv)
        near "$sum" "$(col energy_J 0 o$p.tsv)"
        # the resources' dynamic joules are the phases' (the static row aside)
        dyn=$(awk -F'\t' '!/^#/ && $1 != "resource" {s += $10} END {printf "%.9g", s}' r$p.tsv)
        near "$dyn" "$(awk -F'\t' '$1 == "0" && $2 == "all" && $3 != "static" {s += $6} END {printf "%.9g", s}' b$p.tsv)"
        near "$(col static_J 0 o$p.tsv)" "$(awk -F'\t' '$1 == "0" && $3 == "static" {print $6}' b$p.tsv)"
        # the layers' rows of a category sum to its all row
        run awk -F'\t' '$1 == "0" && $2 != "all" {l[$3] += $6} $1 == "0" && $2 == "all" {a[$3] = $6}
            END {for (k in l) {d = l[k] - a[k]; if (d < 0) d = -d; if (d > 1e-6 * a[k] + 1e-15) print "bad", k, l[k], a[k]}}' b$p.tsv
        assert_output ""
    done
    # the breakdown's header: energy_J last; one static row per step
    grep -q $'^step\tlayer\tcategory\ttotal_s\texposed_s\tenergy_J$' bC.tsv
    [ "$(grep -c $'\tall\tstatic\t' bC.tsv)" -eq 1 ]
    # and the dynamic energy of the OLMoE step is not negligible against nothing: every phase > 0
    run awk -F'\t' '$1 == "0" && $2 == "all" && $3 != "static" && $3 != "idle" && !($6 > 0) {print "zero", $3}' bC.tsv
    assert_output ""
}

@test "energy: doubling the steps doubles the dynamic energy; each step the same" {
    mz-view -t "$(S tiny.mzs)" -o one.txt
    # the same step twice: step 1 a copy of step 0
    n=$(grep -vc '^@' one.txt)
    { grep '^@' one.txt | grep -v '^@EOF'; grep -v '^@' one.txt; grep -v '^@' one.txt | awk -F'\t' -v OFS='\t' '{$1 = 1; print}'
      printf '@EOF\t%d\n' $((2 * n)); } > two.txt
    mz-cost -w "$WAFER" -w "$POWER" -r r1.tsv -o o1.tsv one.txt
    mz-cost -w "$WAFER" -w "$POWER" -r r2.tsv -o o2.tsv two.txt
    [ "$(grep -vc '^#' o2.tsv)" -eq 4 ]   # header, 2 steps, mean
    [ "$(col energy_J 0 o2.tsv)" = "$(col energy_J 1 o2.tsv)" ]
    [ "$(col energy_J mean o2.tsv)" = "$(col energy_J 0 o1.tsv)" ]
    d1=$(awk -F'\t' '!/^#/ && $1 != "resource" {s += $10} END {printf "%.9g", s}' r1.tsv)
    d2=$(awk -F'\t' '!/^#/ && $1 != "resource" {s += $10} END {printf "%.9g", s}' r2.tsv)
    near "$d2" "$(awk -v d="$d1" 'BEGIN {printf "%.9g", 2 * d}')"
    # per resource too
    run awk -F'\t' '!/^#/ && $1 != "resource" {d = $20 - 2 * $10; if (d < 0) d = -d; if (d > 1e-6 * $20 + 1e-20) print "bad", $1}' <(paste r1.tsv r2.tsv)
    assert_output ""
}

@test "energy: link energy is proportional to link bytes; de-duplication (Mozart-B) lowers it by the bytes' ratio" {
    for v in A B; do mz-cost -w wafer-olmoe-1b-7b-0924 -r r$v.tsv -o o$v.tsv "$(S $v.mzs)" 2> /dev/null; done
    # every NoP link: 8 bits x 5 mm x 0.15 pJ = 6 pJ a byte
    for v in A B; do
        run awk -F'\t' '$2 == "link" && $1 != "RD" && $6 > 0 {r = $10 / ($6 * 6e-12); if (r < 0.999999 || r > 1.000001) print "bad", $1, r}' r$v.tsv
        assert_output ""
    done
    links() { awk -F'\t' -v c="$1" '$2 == "link" && $1 != "RD" {s += $c} END {printf "%.9g", s}' "$2"; }
    bA=$(links 6 rA.tsv) bB=$(links 6 rB.tsv) eA=$(links 10 rA.tsv) eB=$(links 10 rB.tsv)
    awk -v a="$bA" -v b="$bB" 'BEGIN {exit !(b < a)}'   # C_T 8 -> about 6.8: fewer bytes
    near "$(awk -v a="$eA" -v b="$eB" 'BEGIN {printf "%.9g", b / a}')" "$(awk -v a="$bA" -v b="$bB" 'BEGIN {printf "%.9g", b / a}')"
    # twice the energy a bit per mm: twice the link joules, the latency unchanged
    mz-cost -w wafer-olmoe-1b-7b-0924 -S energy.link_pJ_per_bit_mm=0.3 -r r2.tsv -o o2.tsv "$(S A.mzs)" 2> /dev/null
    near "$(links 10 r2.tsv)" "$(awk -v a="$eA" 'BEGIN {printf "%.9g", 2 * a}')"
    [ "$(col latency_s 0 o2.tsv)" = "$(col latency_s 0 oA.tsv)" ]
}

@test "energy: Mozart-C uses less energy per step than Baseline on the three models" {
    for m in qwen3-30b-a3b olmoe-1b-7b-0924 deepseek-moe-16b-base; do
        run -0 --separate-stderr mz-speedup -E -m $m -n 1
        b=$(printf '%s\n' "$output" | awk -F'\t' '$2 == "Baseline" {print $7}')
        c=$(printf '%s\n' "$output" | awk -F'\t' '$2 == "Mozart-C" {print $7}')
        tb=$(printf '%s\n' "$output" | awk -F'\t' '$2 == "Baseline" {print $9}')
        tc=$(printf '%s\n' "$output" | awk -F'\t' '$2 == "Mozart-C" {print $9}')
        echo "$m: Baseline $b J, Mozart-C $c J"
        awk -v b="$b" -v c="$c" 'BEGIN {exit !(b > 0 && c > 0 && c < b)}'
        # and more tokens per joule
        awk -v b="$tb" -v c="$tc" 'BEGIN {exit !(b > 0 && c > b)}'
    done
    printf '%s\n' "$output" | sed -n 2p | grep -q $'\tct\tenergy_J\tpower_W\ttokens_per_J$'
    # without -E the table is as before
    run -0 --separate-stderr mz-speedup -m olmoe-1b-7b-0924 -n 1
    printf '%s\n' "$output" | sed -n 2p | grep -q $'\tspeedup\tct$'
}

@test "energy: a negative, zero, non-numeric or missing constant is refused naming the field" {
    run -1 mz-cost -w "$WAFER" -w "$POWER" -S energy.mac_pJ=-1 "$(S tiny.mzs)"
    assert_output --partial "energy.mac_pJ: -1 is negative"
    run -1 mz-cost -w "$WAFER" -w "$POWER" -S tech.pe_um2=0 "$(S tiny.mzs)"
    assert_output --partial "tech.pe_um2: must be greater than 0"
    run -1 mz-cost -w "$WAFER" -w "$POWER" -S energy.hbm_pJ_per_bit=lots "$(S tiny.mzs)"
    assert_output --partial "energy.hbm_pJ_per_bit"
    # an energy of 0 is allowed (free), a density of 0 is not
    run -0 mz-cost -w "$WAFER" -w "$POWER" -S energy.sram_leak_W_per_mm2=0 -o /dev/null "$(S tiny.mzs)"
    # one constant left out: named, in mz-cost, --area and mz-sched alike
    grep -v '^sram_leak_W_per_mm2' "$POWER" > part.wafer
    for cmd in "mz-cost -w $WAFER -w ./part.wafer $(S tiny.mzs)" "mz-cost --area -w $WAFER -w ./part.wafer"; do
        run -1 $cmd
        assert_output --partial "missing field 'energy.sram_leak_W_per_mm2'"
    done
    # the shipped constants less one: the design refuses too
    grep -v '^mac_pJ' "$TOP/models/tech-28nm.wafer" > tech-28nm.wafer
    cp "$TOP/models/wafer-olmoe-1b-7b-0924.wafer" ./design.wafer
    run -1 mz-cost --area -w ./design.wafer
    assert_output --partial "missing field 'energy.mac_pJ'"
    # a field of the model on a wafer that has none of the others
    run -1 mz-cost -w "$WAFER" -S energy.mac_pJ=1 "$(S tiny.mzs)"
    assert_output --partial "missing field 'tech.pe_um2'"
}

@test "energy: a wafer without [tech] and [energy]: no energy columns, no static row, no power track, --area refused" {
    run -0 mz-cost -w "$WAFER" -b b.tsv -r r.tsv -T t.json -o o.tsv "$(S tiny.mzs)"
    grep -q $'^step\tlatency_s\tct\tct_group\ttokens\tops\tcritical_ops\tfits$' o.tsv
    grep -q $'^step\tlayer\tcategory\ttotal_s\texposed_s$' b.tsv
    grep -q $'\tutilisation$' r.tsv
    if grep -q $'\tstatic\t' b.tsv; then echo "expected it to fail: grep -q \$'\tstatic\t' b.tsv"; false; fi
    # with the model, the columns come after the others
    run -0 mz-cost -w "$WAFER" -w "$POWER" -o o2.tsv "$(S tiny.mzs)"
    grep -q $'^step\tlatency_s\tct\tct_group\ttokens\tops\tcritical_ops\tfits\tarea_mm2\tenergy_J\tstatic_J\tpower_W\tpeak_power_W$' o2.tsv
    [ "$(col latency_s mean o2.tsv)" = "$(col latency_s mean o.tsv)" ]
    if grep -q '"ph":"C"' t.json; then echo "expected it to fail: grep -q '\"ph\":\"C\"' t.json"; false; fi
    run -1 mz-cost --area -w "$WAFER"
    assert_output --partial "no area and energy model"
    run -2 mz-cost --area -w "$WAFER" "$(S tiny.mzs)"
}

@test "energy: the SSD layer takes the SSD's constants (tiny: 8 pJ a byte; Qwen3's design: no stack footprint)" {
    run -0 mz-cost -w "$WAFER" -w "$POWER" -S memory.device=ssd -r r.tsv -o /dev/null "$(S tiny.mzs)"
    [ "$(col energy_J D0 r.tsv)" = 2.048e-09 ]   # 256 B x 8 pJ
    run -0 mz-cost --area -w wafer-qwen3-30b-a3b -w ssd -o a.tsv
    [ "$(col total_mm2 memory a.tsv)" = 0 ]
    [ "$(col each_mm2 memory.phy a.tsv)" = 4 ]
    run -1 mz-cost --area -w wafer-qwen3-30b-a3b -S memory.device=tape
    assert_output --partial "memory.device: 'tape' is not one of hbm2, ssd"
}

@test "energy: the timeline's power track integrates to the step's energy; peak >= mean power" {
    run -0 mz-cost -w wafer-olmoe-1b-7b-0924 -T t.json -o o.tsv "$(S C.mzs)"
    lat=$(col latency_s 0 o.tsv)
    run python3 -c '
import json, sys
lat = float(sys.argv[1])
c = [e for e in json.load(open("t.json"))["traceEvents"] if e["ph"] == "C"]
ts = [e["ts"] / 1e6 for e in c] + [lat]
print("%.6g %d %.6g" % (sum(sum(e["args"].values()) * (ts[i + 1] - ts[i]) for i, e in enumerate(c)), len(c),
      max(sum(e["args"].values()) for e in c)))' "$lat"
    assert_success
    read -r e n peak <<< "$output"
    echo "integral $e J over $n windows, peak $peak W; energy_J $(col energy_J 0 o.tsv)"
    awk -v a="$e" -v b="$(col energy_J 0 o.tsv)" 'BEGIN {d = a / b - 1; exit !(d < 1e-4 && d > -1e-4)}'
    # 1 ms windows
    [ "$n" -eq "$(awk -v l="$lat" 'BEGIN {printf "%d", l / 1e-3 + 0.999999}')" ] || [ "$n" -eq "$(awk -v l="$lat" 'BEGIN {printf "%d", l / 1e-3}')" ]
    awk -v p="$(col peak_power_W 0 o.tsv)" -v m="$(col power_W 0 o.tsv)" -v q="$peak" 'BEGIN {d = p / q - 1; exit !(p >= m && d < 1e-4 && d > -1e-4)}'
}
