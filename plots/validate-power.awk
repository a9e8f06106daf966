# validate-power.awk: the paper's area and power (models/paper-area-power.tsv) beside the area and energy
# model's (mz-model(7) section 9), and each variant's joules per step by phase. Predictions: no constant of
# models/tech-28nm.wafer is fitted to these numbers; a number outside the tolerance of issue 13 (area 15%,
# power 20%) is reported as outside, and does not fail make validate.
# Usage: awk -f plots/validate-power.awk models/paper-area-power.tsv AREA-TABLES... COST-TABLES... BREAKDOWNS...
#   AREA-TABLES: mz-cost --area -w wafer-MODEL, named .../MODEL.area; COST-TABLES: mz-cost's main TSV (.tsv),
#   BREAKDOWNS: its -b (.breakdown), of sequence 256 on HBM2.
BEGIN { FS = OFS = "\t" }
FNR == 1 { model = ""; variant = ""; delete c; hdr = 0 }
/^#mz-cost/ { for (i = 2; i <= NF; i++) { if ($i ~ /^model:/) model = substr($i, 7); if ($i ~ /^variant:/) variant = substr($i, 9) } }
/^#/ { next }
!hdr { for (i = 1; i <= NF; i++) c[$i] = i; hdr = 1; next }
FILENAME ~ /paper/ { np++; M[np] = $1; PA[$1] = $c["area_mm2"]; PP[$1] = $c["power_kW"]; PT[$1] = $c["tile_mm2"]; next }
FILENAME ~ /\.area$/ { m = FILENAME; sub(/.*\//, "", m); sub(/\.area$/, "", m); A[m, $1] = $c["total_mm2"]; next }
FILENAME ~ /\.breakdown$/ {
    if ($1 ~ /^[0-9]+$/ && $2 == "all") {
        k = model SUBSEP variant; if (!($3 in ci)) { ci[$3] = ++nc; cat[nc] = $3 }
        E[k, $3] += $c["energy_J"]; if (!((k, $1) in st)) { st[k, $1] = 1; ns[k]++ }
    }
    next
}
$1 == "mean" { k = model SUBSEP variant; LAT[k] = $c["latency_s"]; EN[k] = $c["energy_J"]; SJ[k] = $c["static_J"]; PW[k] = $c["power_W"]; PK[k] = $c["peak_power_W"] }
function err(a, b) { return sprintf("%+.1f%%", (a / b - 1) * 100) }
function row(m, q, paper, model, tol,    e) {
    e = model / paper - 1
    printf "%-22s %-26s %9s %9.4g %8s %9s  %s\n", m, q, paper, model, err(model, paper), tol ? sprintf("%g%%", tol * 100) : "-",
        !tol ? "prediction" : (e * e <= tol * tol ? "prediction, within" : "prediction, OUTSIDE")
}
END {
    if (!np) { print "validate-power: no paper rows" > "/dev/stderr"; exit 1 }
    printf "\narea and power, bottom-up (mz-model(7) section 9; models/tech-28nm.wafer, nothing fitted to these numbers)\n"
    printf "%-22s %-26s %9s %9s %8s %9s  %s\n", "model", "quantity", "paper", "model", "error", "tolerance", "status"
    for (i = 1; i <= np; i++) {
        m = M[i]
        if (!((m, "total") in A) || !((m SUBSEP "C") in PW)) { printf "validate-power: no area table or Mozart-C cost for %s\n", m > "/dev/stderr"; bad = 1; continue }
        row(m, "tile_mm2 (implied)", PT[m], A[m, "tile"], 0)
        row(m, "area_mm2", PA[m], A[m, "total"], 0.15)
        row(m, "power_kW, Mozart-C mean", PP[m], PW[m, "C"] / 1000, 0.20)
        row(m, "power_kW, Baseline mean", PP[m], PW[m, "baseline"] / 1000, 0.20)
        row(m, "power_kW, Mozart-C peak", PP[m], PK[m, "C"] / 1000, 0.20)
        row(m, "power_kW, static alone", PP[m], A[m, "static_W"] / 1000, 0)
        row(m, "power_kW, full-rate bound", PP[m], A[m, "full_W"] / 1000, 0)
    }
    printf "\njoules per step by phase (sequence 256, HBM2; dynamic per breakdown category, then static):\n"
    printf "%-22s %-9s %8s", "model", "variant", "latency"
    for (j = 1; j <= nc; j++) printf " %14s", cat[j]
    printf " %9s %8s\n", "energy_J", "power_W"
    for (i = 1; i <= np; i++)
        for (v = 1; v <= 4; v++) {
            m = M[i]; vn = v == 1 ? "baseline" : v == 2 ? "A" : v == 3 ? "B" : "C"; k = m SUBSEP vn
            if (!(k in EN)) continue
            printf "%-22s %-9s %8.3f", m, vn == "baseline" ? "Baseline" : "Mozart-" vn, LAT[k]
            for (j = 1; j <= nc; j++) printf " %14.2f", E[k, cat[j]] / ns[k]
            printf " %9.1f %8.1f\n", EN[k], PW[k]
        }
    printf "\nMozart-C against Baseline, joules per step:\n"
    for (i = 1; i <= np; i++) {
        m = M[i]; b = m SUBSEP "baseline"; k = m SUBSEP "C"
        if (!(b in EN) || !(k in EN)) continue
        dyn_b = EN[b] - SJ[b]; dyn_c = EN[k] - SJ[k]
        printf "%-22s %s: %.1f -> %.1f J (%s); static %.1f -> %.1f J, dynamic %.1f -> %.1f J", m,
            EN[k] < EN[b] ? "less" : "MORE", EN[b], EN[k], err(EN[k], EN[b]), SJ[b], SJ[k], dyn_b, dyn_c
        for (j = 1; j <= nc; j++) if (cat[j] != "static") printf "; %s %+.1f", cat[j], (E[k, cat[j]] / ns[k]) - (E[b, cat[j]] / ns[b])
        printf "\n"
    }
    exit bad
}
