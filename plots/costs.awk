# costs.awk: gather mz-cost tables into one figure table.
# stdin: lines "FILE<TAB>KEY..." naming a cost table and its design-point keys;
# -v keys='model<TAB>seq...' names the key columns. Writes TSV: the keys, then
# variant, latency_s (the table's mean row), ct, normalized (latency over the
# Baseline of the same keys) and speedup (its inverse). A table without a mean
# row, or a design point without a Baseline, is an error.
BEGIN { FS = OFS = "\t"; n = 0 }
{
    file = $1; key = $2
    for (i = 3; i <= NF; i++) key = key OFS $i
    variant = ""; lat = ""; ct = ""; hdr = 0
    while ((r = (getline line < file)) > 0) {
        m = split(line, f, "\t")
        if (f[1] == "#mz-cost") {
            for (i = 2; i <= m; i++) if (f[i] ~ /^variant:/) variant = substr(f[i], 9)
            continue
        }
        if (line ~ /^#/) continue
        if (!hdr) { for (i = 1; i <= m; i++) col[f[i]] = i; hdr = 1; continue }
        if (f[1] == "mean") { lat = f[col["latency_s"]]; ct = f[col["ct"]] }
    }
    close(file)
    if (r < 0) { print "costs.awk: cannot read " file > "/dev/stderr"; exit 1 }
    if (lat == "" || variant == "") { print "costs.awk: " file ": no mean row or variant" > "/dev/stderr"; exit 1 }
    n++; K[n] = key; V[n] = variant; L[n] = lat; T[n] = ct
    if (variant == "baseline") base[key] = lat
}
END {
    if (n == 0) exit 1
    print keys, "variant", "latency_s", "ct", "normalized", "speedup"
    for (i = 1; i <= n; i++) {
        if (!(K[i] in base)) { print "costs.awk: no Baseline for " K[i] > "/dev/stderr"; exit 1 }
        name = V[i] == "baseline" ? "Baseline" : "Mozart-" V[i]
        printf "%s\t%s\t%.4f\t%.4f\t%.4f\t%.4f\n", K[i], name, L[i], T[i], L[i] / base[K[i]], base[K[i]] / L[i]
    }
}
