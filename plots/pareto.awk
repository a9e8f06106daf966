# pareto.awk: design points of the sweeps (chiplets and groups, topology, DRAM bandwidth) as
# latency against area and against power, and which points are on the Pareto front of each.
# stdin: lines "FILE<TAB>DESIGN" naming a mz-cost table (with the energy model's columns) and its
# design point. Writes TSV: design, variant, latency_s, area_mm2, power_W, and front_area and
# front_power: 1 if no other design point of the same variant is at least as good in both
# latency and area (power) and better in one. A table without a mean row or without the energy
# model's columns is an error.
BEGIN { FS = OFS = "\t"; n = 0 }
{
    file = $1; design = $2; variant = ""; hdr = 0; lat = ""
    while ((r = (getline line < file)) > 0) {
        m = split(line, f, "\t")
        if (f[1] == "#mz-cost") { for (i = 2; i <= m; i++) if (f[i] ~ /^variant:/) variant = substr(f[i], 9); continue }
        if (line ~ /^#/) continue
        if (!hdr) { delete col; for (i = 1; i <= m; i++) col[f[i]] = i; hdr = 1; continue }
        if (f[1] == "mean") { lat = f[col["latency_s"]]; area = f[col["area_mm2"]]; pw = f[col["power_W"]] }
    }
    close(file)
    if (r < 0 || lat == "" || variant == "" || !("area_mm2" in col) || !("power_W" in col)) {
        print "pareto.awk: " file ": no mean row, variant or energy columns" > "/dev/stderr"; exit 1
    }
    n++; D[n] = design; V[n] = variant == "baseline" ? "Baseline" : "Mozart-" variant; L[n] = lat; A[n] = area; P[n] = pw
}
function front(i, X,    j) {
    for (j = 1; j <= n; j++)
        if (j != i && V[j] == V[i] && L[j] <= L[i] && X[j] <= X[i] && (L[j] < L[i] || X[j] < X[i])) return 0
    return 1
}
END {
    if (n == 0) exit 1
    print "design", "variant", "latency_s", "area_mm2", "power_W", "front_area", "front_power"
    for (i = 1; i <= n; i++) printf "%s\t%s\t%.4f\t%.0f\t%.1f\t%d\t%d\n", D[i], V[i], L[i], A[i], P[i], front(i, A), front(i, P)
}
