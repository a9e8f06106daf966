# validate.awk: the paper's Table 4 and headline numbers beside the model's (plots/main.tsv).
# Prints one row per number: the paper's value, the model's, the error, the tolerance
# of the issue that set it, whether the number was used to fit a constant, and ok or
# FAIL; exits 1 if any number is outside its tolerance.
#   normalized latency  +-0.04 absolute   fitted by models/fit-wafer (wafer constants)
#   headline speedup    +-7%              fitted by models/fit-wafer
#   Qwen3 Baseline      +-10% (4.87 s)    fitted by models/fit-wafer (the absolute scale)
#   C_T, Mozart-A       exact (top-k)     by definition: no de-duplication
#   C_T, Mozart-B       +-3%              fitted by models/fit-priors (co-activation strength)
#   C_T, Mozart-C       reported only     a prediction of Mozart's clustering (no tolerance set)
BEGIN { FS = OFS = "\t"; bad = 0; n = 0 }
/^#/ { next }
!h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1
     printf "%-22s %-9s %-10s %8s %8s %8s %10s  %-24s %s\n", "model", "variant", "quantity", "paper", "model", "error", "tolerance", "used for fitting", "status"
     next }
{
    m = $c["model"]; v = $c["variant"]
    if (v == "Baseline") check(m, v, "latency_s", $c["paper_latency_s"], $c["latency_s"], "rel", 0.10, "yes: wafer scale")
    else check(m, v, "normalized", $c["paper_normalized"], $c["normalized"], "abs", 0.04, "yes: wafer constants")
    if (v == "Mozart-C") check(m, v, "speedup", $c["paper_speedup"], $c["speedup"], "rel", 0.07, "yes: wafer constants")
    if (v == "Mozart-A") check(m, v, "ct", $c["paper_ct"], $c["ct"], "abs", 0.005, "no: top-k by definition")
    if (v == "Mozart-B") check(m, v, "ct", $c["paper_ct"], $c["ct"], "rel", 0.03, "yes: routing priors")
    if (v == "Mozart-C") check(m, v, "ct", $c["paper_ct"], $c["ct"], "none", 0, "no: prediction")
}
function check(m, v, q, paper, model, kind, tol, fitted,    err, tx, ok) {
    if (paper == "NA" || paper == "") return
    n++
    if (kind == "rel") { err = sprintf("%+.2f%%", (model / paper - 1) * 100); tx = sprintf("%g%%", tol * 100); ok = (model / paper - 1) ^ 2 <= tol ^ 2 }
    else if (kind == "abs") { err = sprintf("%+.3f", model - paper); tx = sprintf("%g", tol); ok = (model - paper) ^ 2 <= tol ^ 2 }
    else { err = sprintf("%+.1f%%", (model / paper - 1) * 100); tx = "-"; ok = 1 }
    if (!ok) bad++
    printf "%-22s %-9s %-10s %8s %8.4g %8s %10s  %-24s %s\n", m, v, q, paper, model, err, tx, fitted, (ok ? "ok" : "FAIL")
}
END {
    if (!n) { print "validate: no rows in the table" > "/dev/stderr"; exit 1 }
    printf "%d numbers, %d outside tolerance\n", n, bad
    exit bad > 0
}
